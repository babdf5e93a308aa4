package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static dev.scemu.cli.CliTestSupport.scemu;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Snapshot names are unique and never numeric; commands take a NAME or --id N, never a guess between them. */
class CliSnapshotNameTest {

    @Test
    void namesAndIdsAreNeverConfused(@TempDir Path tmp) {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        assertThat(scemu("snapshot", "create", dir, "daily").ok().out()).startsWith("snapshot 1 'daily'");
        scemu("snapshot", "create", dir, "daily").failsWithOneLine("a snapshot named 'daily' already exists");
        scemu("snapshot", "create", dir, "1").failsWithOneLine("snapshot name '1' is purely numeric");
        assertThat(scemu("snapshot", "create", dir, "weekly").ok().out()).startsWith("snapshot 2 'weekly'");

        assertThat(scemu("snapshot", "delete", dir, "1")
                .failsWithOneLine("scemu: UNKNOWN_SNAPSHOT: no snapshot named '1' (for the snapshot with id 1 use --id 1)")
                .status()).isEqualTo(ExitStatus.of(dev.scemu.core.ErrorCategory.NOT_FOUND));
        scemu("snapshot", "delete", dir, "daily", "--id", "1").failsWithOneLine("exactly one of them");
        scemu("snapshot", "delete", dir).failsWithOneLine("exactly one of them");
        scemu("snapshot", "delete", dir, "--id", "7").failsWithOneLine("scemu: UNKNOWN_SNAPSHOT: no snapshot with id 7");
        assertThat(scemu("snapshot", "list", dir).ok().out()).contains("daily", "weekly");

        assertThat(scemu("snapshot", "delete", dir, "--id", "1").ok().out()).contains("snapshot 1 'daily' deleted");
        assertThat(scemu("snapshot", "rollback", dir, "weekly").ok().out()).contains("snapshot 2 'weekly'");
        assertThat(scemu("snapshot", "delete", dir, "weekly").ok().out()).contains("snapshot 2 'weekly' deleted");
        assertThat(scemu("snapshot", "list", dir).ok().out()).doesNotContain("daily").doesNotContain("weekly");
    }
}
