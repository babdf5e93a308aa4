package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static dev.scemu.cli.CliTestSupport.scemu;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code scemu create} is all or nothing, and each unit gets its own identity. */
class CliCreateTest {

    @TempDir
    Path tmp;

    private static List<String> entries(Path dir) throws IOException {
        try (Stream<Path> list = Files.list(dir)) {
            return list.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aFailedCreateLeavesNoFilesAndTheRetrySucceeds() throws IOException {
        Path dir = tmp.resolve("unit");
        CliTestSupport.Result failed = scemu("create", dir, "--disk-size", "1M");
        assertThat(failed.status()).as("stdout: %s", failed.out()).isNotZero();
        assertThat(failed.errorLines().strip().lines().toList()).hasSize(1);
        assertThat(dir).doesNotExist();
        assertThat(entries(tmp)).isEmpty();

        assertThat(createSmallUnit(dir).out()).contains("created unit in " + dir);
        assertThat(scemu("status", dir).ok().out()).contains("boot       clean");
    }

    @Test
    void anEmptyDirectoryIsUsedAndStaysEmptyAfterAFailure() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("empty"));
        assertThat(scemu("create", dir, "--disk-size", "1M").status()).isNotZero();
        assertThat(dir).isEmptyDirectory();
        createSmallUnit(dir);
        assertThat(entries(dir)).contains("disk0.img", "unit.properties").noneMatch(name -> name.startsWith("."));
    }

    @Test
    void aDirectoryWithOtherFilesIsRefusedUntouched() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("busy"));
        Files.writeString(dir.resolve("notes.txt"), "mine");
        scemu("create", dir, "--disk-size", "16M").failsWithOneLine(dir + " is not empty");
        assertThat(entries(dir)).containsExactly("notes.txt");
    }

    /**
     * A real {@code scemu create} in a child JVM killed with SIGKILL while it writes its disks: DIR
     * does not exist afterwards (the unit only appears by the final rename), and the next create of
     * DIR succeeds and removes the killed one's staging directory.
     */
    @Test
    void aCreateKilledMidwayLeavesNoUnitAndTheNextCreateCleansUp() throws Exception {
        Path dir = tmp.resolve("unit");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(arg -> arg.startsWith("--add-") || arg.startsWith("--enable-native-access")
                        || arg.startsWith("--sun-misc") || arg.startsWith("-Dchronicle") || arg.startsWith("-Ddisable"))
                .toList());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "create", dir.toString(), "--disks", "4", "--disk-size", "256M", "--backend", "file"));
        Process child = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("child.log").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            Path staging = null;
            while (staging == null && System.nanoTime() < deadline && !child.waitFor(5, TimeUnit.MILLISECONDS)) {
                staging = stagingWithDisks(tmp); // polled every 5 ms while the child runs
            }
            assertThat(staging).as("the child's staging directory with disk images; log:%n%s",
                    Files.readString(tmp.resolve("child.log"))).isNotNull();
        } finally {
            child.destroyForcibly();
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(dir).as("killed before the final rename: no unit").doesNotExist();
        assertThat(entries(tmp)).anyMatch(name -> name.startsWith(".unit.scemu-create-"));

        createSmallUnit(dir);
        assertThat(entries(tmp)).noneMatch(name -> name.startsWith(".unit.scemu-create-"));
        assertThat(scemu("status", dir).ok().out()).contains("boot       clean");
    }

    /** The staging directory beside {@code unit} once it holds a disk image, or null. */
    private static Path stagingWithDisks(Path parent) throws IOException {
        try (Stream<Path> list = Files.list(parent)) {
            return list.filter(p -> p.getFileName().toString().startsWith(".unit.scemu-create-"))
                    .filter(p -> Files.exists(p.resolve("disk3.img"))).findFirst().orElse(null);
        }
    }

    @Test
    void twoUnitsGetDifferentIdentitiesAndTwoSimulationsOfOneSeedTheSame() {
        String[] identities = new String[4];
        for (int i = 0; i < 4; i++) {
            Path dir = tmp.resolve("unit" + i);
            if (i < 2) {
                createSmallUnit(dir);
            } else {
                scemu("create", dir, "--disk-size", "16M", "--seed", "11").ok();
            }
            identities[i] = scemu("status", dir).ok().out().lines().filter(l -> l.startsWith("identity"))
                    .findFirst().orElseThrow();
        }
        assertThat(identities[0]).doesNotContain("simulation");
        assertThat(identities[1]).isNotEqualTo(identities[0]);
        assertThat(identities[2]).contains("simulation: derived from seed 11").isEqualTo(identities[3]);
    }

    /**
     * Sparse disk images that could outgrow their file system get a warning at create: a full file
     * system fails the member a write cannot grow (seen: 4 x 64 MiB on a 120 MiB tmpfs, the third
     * 32 MiB write failed disk 1 with ENOSPC and degraded the array).
     */
    @Test
    void createWarnsWhenTheSparseDisksCouldOutgrowTheirFileSystem() {
        String warning = CreateCommand.spaceWarning(256L << 20, 118L << 20, tmp);
        assertThat(warning).startsWith("space      the disk images are sparse: 256 MiB provisioned, 118 MiB free on the file"
                + " system of " + tmp).contains("fails").contains("degrades");
        assertThat(CreateCommand.spaceWarning(256L << 20, 256L << 20, tmp)).as("they fit").isNull();
        assertThat(CliTestSupport.createSmallUnit(tmp.resolve("small")).out()).as("4 x 16 MiB fit here")
                .doesNotContain("space      ");
    }

}
