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
 * A file argument the command cannot use is named with the reason in words. The JDK's
 * {@code NoSuchFileException} carries only the path, so these read "cannot read password file pw: pw"
 * and "cannot create backup directory f: f" before.
 */
class CliFileErrorsTest {

    @Test
    void aMissingOrMisplacedFileIsNamedWithItsReason(@TempDir Path tmp) throws Exception {
        Path missing = tmp.resolve("no-such-file");
        scemu("backup", "verify", "--target", tmp, "--password-file", missing, "b1")
                .failsWithOneLine("cannot read password file " + missing + ": no such file or directory");

        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        Map<String, String> before = imageHashes(dir);
        scemu("firmware", "update", dir, missing)
                .failsWithOneLine("cannot read image file " + missing + ": no such file or directory");
        Path notADirectory = Files.writeString(tmp.resolve("backups"), "a file");
        scemu("backup", "create", dir, "--target", notADirectory)
                .failsWithOneLine("cannot create backup directory " + notADirectory
                        + ": a file that is not a directory is in the way");
        assertThat(imageHashes(dir)).isEqualTo(before);
        assertThat(Files.readString(notADirectory)).isEqualTo("a file");
    }
}
