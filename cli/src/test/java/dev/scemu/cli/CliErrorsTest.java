package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static dev.scemu.cli.CliTestSupport.scemu;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliErrorsTest {

    @TempDir
    Path tmp;

    @Test
    void unknownDirectoryIsOneLineAndNonZero() {
        scemu("status", tmp.resolve("nope")).failsWithOneLine("no such directory");
        scemu("status", tmp).failsWithOneLine("no scemu unit in");
        scemu("snapshot", "list", tmp.resolve("nope")).failsWithOneLine("no such directory");
    }

    @Test
    void badSizesAndBackendsAreRefusedBeforeAnythingIsWritten() {
        Path dir = tmp.resolve("unit");
        scemu("create", dir, "--disk-size", "12X").failsWithOneLine("12X");
        scemu("create", dir, "--disk-size", "-5M").failsWithOneLine("-5M");
        scemu("create", dir, "--chunk", "3K", "--disk-size", "16M").failsWithOneLine("power of two");
        scemu("create", dir, "--backend", "memory", "--disk-size", "16M").failsWithOneLine("memory backend");
        scemu("create", dir, "--level", "6", "--disk-size", "16M").failsWithOneLine("RAID level 6");
        assertThat(dir).doesNotExist();
    }

    @Test
    void outOfRangeDiskIndexAndUnknownSnapshotAreOneLine() {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        scemu("create", dir, "--disk-size", "16M").failsWithOneLine("already exists");
        scemu("disk", "fail", dir, 4).failsWithOneLine("outside 0..3");
        scemu("disk", "replace", dir, -1).failsWithOneLine("outside 0..3");
        scemu("disk", "fail", dir, "two").failsWithOneLine("two");
        scemu("snapshot", "rollback", dir, "missing").failsWithOneLine("no snapshot");
        scemu("snapshot", dir).failsWithOneLine("scemu: ");
        scemu("backup", "verify", "--target", tmp.resolve("none"), "x").failsWithOneLine("no such backup directory");
        scemu("firmware", "inspect", tmp.resolve("none.img")).failsWithOneLine("no such");
    }

    @Test
    void helpIsAvailableEverywhere() {
        assertThat(scemu("--help").ok().out()).contains("create", "status", "snapshot", "disk", "firmware", "backup",
                "serve", "demo");
        assertThat(scemu("create", "--help").ok().out()).contains("--disk-size", "--backend");
        assertThat(scemu("snapshot", "rollback", "--help").ok().out()).contains("NAME").contains("--id");
        assertThat(scemu("disk", "replace", "--help").ok().out()).contains("rebuild");
        assertThat(scemu("firmware", "build", "--help").ok().out()).contains("--key");
        assertThat(scemu("backup", "create", "--help").ok().out()).contains("--password-file")
                .doesNotContain("--password ");
        assertThat(scemu("serve", "--help").ok().out()).contains("--port", "--socket");
    }
}
