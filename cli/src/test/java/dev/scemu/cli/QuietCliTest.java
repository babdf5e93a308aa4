package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line says each thing once: library log lines are off unless {@code --verbose}
 * ({@code serve} logs to DIR/scemu.log), progress is a bar only on a terminal and a plain line
 * every few seconds elsewhere.
 */
class QuietCliTest {

    @TempDir
    Path tmp;

    @Test
    void libraryLoggingIsOffByDefaultServeLogsIntoTheUnitVerboseToStderr() throws Exception {
        Path unit = Files.createDirectories(tmp.resolve("nas"));
        assertThat(CliLogging.settings("status", unit.toString())).containsEntry(CliLogging.LEVEL, "off");
        assertThat(CliLogging.settings("serve", unit.toString(), "--port", "0"))
                .containsEntry(CliLogging.LEVEL, "warn")
                .containsEntry(CliLogging.FILE, unit.resolve("scemu.log").toAbsolutePath().toString());
        assertThat(CliLogging.settings("status", unit.toString(), "--verbose"))
                .containsEntry(CliLogging.LEVEL, "info").containsEntry(CliLogging.FILE, "System.err");
    }

    @Test
    void aFailingCommandPrintsOneLineWithoutTheLibrarysWarnUnlessVerbose() throws Exception {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        try (RandomAccessFile image = new RandomAccessFile(dir.resolve("disk2.img").toFile(), "rw")) {
            image.seek(4096 + 100); // inside the md superblock: the member is left out (the raid module WARNs)
            int b = image.read();
            image.seek(4096 + 100);
            image.write(b ^ 0x10);
        }
        CliTestSupport.ProcessResult quiet = CliTestSupport.scemuProcess("snapshot", "delete", dir.toString(), "--id", "99");
        assertThat(quiet.exitCode()).isEqualTo(ExitStatus.of(dev.scemu.core.ErrorCategory.NOT_FOUND));
        assertThat(quiet.output()).doesNotContain("WARN").doesNotContain("\tat ");
        assertThat(quiet.output().strip().lines().reduce((a, b) -> b).orElse("")).isEqualTo("scemu: UNKNOWN_SNAPSHOT: no snapshot with id 99");

        CliTestSupport.ProcessResult verbose = CliTestSupport.scemuProcess("snapshot", "delete", dir.toString(), "--id", "99", "--verbose");
        assertThat(verbose.output()).contains("WARN").contains("scemu: UNKNOWN_SNAPSHOT: no snapshot with id 99");
        assertThat(dir.resolve("scemu.log")).doesNotExist();
    }

    @Test
    void withoutATerminalProgressIsAPlainLineEveryIntervalAndALastLine() {
        StringWriter text = new StringWriter();
        AtomicLong now = new AtomicLong();
        long second = 1_000_000_000L;
        try (Progress progress = new Progress(new PrintWriter(text, true), "scrub", 100L << 20, false, 5 * second, now::get)) {
            for (int i = 1; i <= 100; i++) {
                now.addAndGet(second / 10); // 10 s in all: two interval lines
                progress.update((long) i << 20, 100L << 20);
            }
        }
        List<String> lines = text.toString().lines().toList();
        assertThat(text.toString()).doesNotContain("\r");
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0)).startsWith("scrub: 50 of 100 MiB (50%), 10.0 MiB/s");
        assertThat(lines.get(2)).startsWith("scrub: 100 of 100 MiB (100%)").endsWith("done in 10.0 s");
    }

    @Test
    void aShortOperationWithoutATerminalPrintsNothing() {
        StringWriter text = new StringWriter();
        try (Progress progress = new Progress(new PrintWriter(text, true), "backup", 10L << 20)) {
            progress.update(10L << 20, 10L << 20);
        }
        assertThat(text.toString()).isEmpty();
    }
}
