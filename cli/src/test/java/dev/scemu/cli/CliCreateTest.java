package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static dev.scemu.cli.CliTestSupport.scemu;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
}
