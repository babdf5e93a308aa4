package dev.scemu.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoCommandTest {

    private record Result(int status, String out, String err) {
    }

    private static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Result(status, out.toString(), err.toString());
    }

    @Test
    void demoRunsEveryStepAndChecksEveryBlock(@TempDir Path dir) {
        Result result = run("demo", dir.toString(), "--disk-size-mib", "16", "--seed", "7");
        assertThat(result.status()).as("exit status; stderr: %s%nstdout: %s", result.err(), result.out()).isZero();
        assertThat(result.out())
                .contains("1. wrote").contains("diff-on-write skipped")
                .contains("RECOVERED")
                .contains("UPDATED")
                .contains("failed disk 2")
                .contains("restored to another volume: identical")
                .contains("write amplification");
        assertThat(dir.resolve("unit/disk0.img")).exists();
        assertThat(Files.exists(dir.resolve("backups"))).isTrue();
    }

    @Test
    void demoInMemoryLeavesNothingBehind() {
        Result result = run("demo", "--memory", "--disk-size-mib", "16", "--seed", "3");
        assertThat(result.status()).as("stderr: %s", result.err()).isZero();
        assertThat(result.out()).contains("off-heap memory");
        // no record's toString (SnapshotInfo[id=1, name=...]) reaches the user
        assertThat(result.out() + result.err()).doesNotContainPattern("[A-Z][A-Za-z]+\\[[a-z][A-Za-z]*=");
    }

    /** A unit's own directory (here one a client could be served from) or any directory with files: refused, untouched. */
    @Test
    void demoRefusesAUnitDirectoryAndAnyNonEmptyOneWithoutWritingInIt(@TempDir Path tmp) throws Exception {
        Path unit = tmp.resolve("unit");
        assertThat(run("create", unit.toString(), "--disk-size", "16M").status()).isZero();
        java.util.List<String> before = listing(unit);
        Result refused = run("demo", unit.toString(), "--disk-size-mib", "16");
        assertThat(refused.status()).as("usage error; stderr: %s", refused.err()).isEqualTo(2);
        assertThat(refused.err()).contains("is a unit's directory").contains("new or empty directory");
        assertThat(listing(unit)).isEqualTo(before);

        Path other = Files.createDirectories(tmp.resolve("other"));
        Files.writeString(other.resolve("notes.txt"), "mine");
        Result notEmpty = run("demo", other.toString(), "--disk-size-mib", "16");
        assertThat(notEmpty.status()).isEqualTo(2);
        assertThat(notEmpty.err()).contains("is not empty");
        assertThat(listing(other)).containsExactly("notes.txt 4");
    }

    /** Every path under {@code dir} with its size, sorted. */
    private static java.util.List<String> listing(Path dir) throws java.io.IOException {
        try (java.util.stream.Stream<Path> paths = Files.walk(dir)) {
            return paths.filter(Files::isRegularFile).map(p -> dir.relativize(p) + " " + p.toFile().length()).sorted()
                    .toList();
        }
    }

    @Test
    void unknownOptionIsOneClearLineAndNonZeroStatus() {
        Result result = run("demo", "--no-such-option");
        assertThat(result.status()).isNotZero();
        assertThat(result.err()).contains("--no-such-option");
    }
}
