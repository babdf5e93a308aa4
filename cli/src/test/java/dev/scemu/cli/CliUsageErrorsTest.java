package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static dev.scemu.cli.CliTestSupport.imageHashes;
import static dev.scemu.cli.CliTestSupport.scemu;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A value outside the range a command's help states (a port, a timeout, a count, a size, a speed,
 * a level, an index) is a usage error, as picocli's own parse errors are: status 2, one line naming
 * the command's help, and nothing changed. It exited 1, the status of any other failure, which a
 * script could not tell from a failure of the command itself.
 */
class CliUsageErrorsTest {

    @TempDir
    Path tmp;

    @Test
    void outOfRangeOptionValuesOfServeAreUsageErrorsInTheProcessExitStatus() {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        Map<String, String> before = imageHashes(dir);
        CliTestSupport.ProcessResult port = CliTestSupport.scemuProcess("serve", "--port=99999", dir);
        assertThat(port.exitCode()).as(port.output()).isEqualTo(ExitStatus.USAGE).isEqualTo(2);
        assertThat(port.output().strip()).isEqualTo("scemu: --port 99999 is not in 0..65535 (see 'scemu serve --help')");
        CliTestSupport.ProcessResult timeout = CliTestSupport.scemuProcess("serve", "--handshake-timeout=0", dir);
        assertThat(timeout.exitCode()).as(timeout.output()).isEqualTo(2);
        assertThat(timeout.output().strip())
                .isEqualTo("scemu: --handshake-timeout 0.0 is not in 0.001..86400 seconds (see 'scemu serve --help')");
        assertThat(imageHashes(dir)).isEqualTo(before);
    }

    @Test
    void everyNumericOptionOutOfItsRangeIsAUsageError() {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        Map<String, String> before = imageHashes(dir);

        usage(dir, before, "--port -1 is not in 0..65535", "serve", "--port", "-1", dir);
        usage(dir, before, "--handshake-timeout 86401.0 is not in 0.001..86400 seconds", "serve",
                "--handshake-timeout", "86401", dir);
        usage(dir, before, "--handshake-timeout NaN", "serve", "--handshake-timeout", "NaN", dir);
        usage(dir, before, "--rebuild-speed: rebuild speed min 5120 max 1024 B/s", "serve", "--rebuild-speed", "5:1", dir);
        usage(dir, before, "--rebuild-speed: rebuild speed '-1:5' is not MIN:MAX in KiB/s", "serve", "--rebuild-speed",
                "-1:5", dir);
        usage(dir, before, "--rebuild-speed: rebuild speed 'fast' is not MIN:MAX", "serve", "--rebuild-speed", "fast", dir);
        usage(dir, before, "--tls=maybe is not one of off, on, require", "serve", "--tls=maybe", dir);
        usage(dir, before, "--port 65536 is not in 0..65535", "md", "serve", "--port", "65536",
                dir.resolve("disk0.img"));
        usage(dir, before, "--zstd-level 23 is not in 0..22", "backup", "create", dir, "--target", tmp.resolve("b"),
                "--zstd-level", "23");
        assertThat(tmp.resolve("b")).as("refused before the backup directory is made").doesNotExist();
        usage(dir, before, "disk index 4 is outside 0..3", "disk", "fail", dir, 4);
        usage(dir, before, "disk index -1 is outside 0..3", "disk", "replace", dir, -1);
        usage(dir, before, "--offset 1073741824 --length 64: the range is outside the flash image", "firmware", "corrupt",
                dir, "--offset", "1G");
        usage(dir, before, "snapshot name '12' is purely numeric", "snapshot", "create", dir, "12");
        usage(dir, before, "exactly one of them", "snapshot", "delete", dir);
        usage(dir, before, "--disk-size-mib 0 is not in 1..1048576", "demo", "--memory", "--disk-size-mib", "0");

        Path other = tmp.resolve("other");
        usage(other, Map.of(), "--disks 0 is not in 1..64", "create", other, "--disks", "0", "--disk-size", "16M");
        usage(other, Map.of(), "--disks 65 is not in 1..64", "create", other, "--disks", "65", "--disk-size", "16M");
        usage(other, Map.of(), "RAID level 6 is not supported", "create", other, "--level", "6", "--disk-size", "16M");
        usage(other, Map.of(), "chunk size 3072 bytes must be a power of two", "create", other, "--chunk", "3K");
        usage(other, Map.of(), "disk size 16777217 bytes is not a multiple of 4096", "create", other,
                "--disk-size", "16777217");
        usage(other, Map.of(), "size '0' must be positive", "create", other, "--disk-size", "0"); // picocli's converter
        assertThat(other).doesNotExist();

        Path key = tmp.resolve("key");
        scemu("firmware", "keygen", "-o", key).ok();
        Path body = tmp.resolve("body");
        writeBody(body);
        Path image = tmp.resolve("image");
        usage(other, Map.of(), "--load-address: 0x100000000 is not in 0..0xffffffff", "firmware", "build", "--body", body,
                "--key", key, "--image-version", "1.2.0", "-o", image, "--load-address", "0x100000000");
        usage(other, Map.of(), "--data-format mapping-table=65536: 65536 is not in 0..65535", "firmware", "build",
                "--body", body, "--key", key, "--image-version", "1.2.0", "-o", image, "--data-format",
                "mapping-table=65536");
        assertThat(image).doesNotExist();
    }

    /** Refused with status 2 and one line naming {@code expected} and the command's help; the unit's files unchanged. */
    private static CliTestSupport.Result usage(Path dir, Map<String, String> before, String expected, Object... args) {
        CliTestSupport.Result result = scemu(args).failsWithOneLine(expected);
        assertThat(result.status()).as("status of %s: %s", java.util.Arrays.toString(args), result.err())
                .isEqualTo(ExitStatus.USAGE);
        assertThat(result.errorLines()).contains(" --help')");
        if (!before.isEmpty()) {
            assertThat(imageHashes(dir)).as("after %s", java.util.Arrays.toString(args)).isEqualTo(before);
        }
        return result;
    }

    private static void writeBody(Path body) {
        try {
            Files.write(body, new byte[8192]);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
