package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static dev.scemu.cli.CliTestSupport.imageHashes;
import static dev.scemu.cli.CliTestSupport.kill9;
import static dev.scemu.cli.CliTestSupport.scemu;
import static dev.scemu.cli.CliTestSupport.startScemu;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two real processes on one unit: the second is refused with one line naming the owner; kill -9 frees it. */
class CliOwnershipTest {

    @Test
    void aSecondProcessIsRefusedAndTheUnitIsFreeAfterTheOwnerIsKilled(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        Process owner = startScemu(tmp.resolve("serve.log"), "serving", "serve", dir, "--port", "0");
        try {
            Map<String, String> before = imageHashes(dir);
            String expected = "UNIT_BUSY: " + dir.toAbsolutePath() + " is in use by pid " + owner.pid() + " (scemu serve)";
            scemu("serve", dir, "--port", "0").failsWithOneLine(expected);
            scemu("firmware", "corrupt", dir).failsWithOneLine(expected);
            assertThat(scemu("firmware", "corrupt", dir).errorLines().strip()).isEqualTo("scemu: " + expected);
            assertThat(imageHashes(dir)).as("member images and nvram while the refused commands ran").isEqualTo(before);
        } finally {
            kill9(owner);
        }
        scemu("firmware", "corrupt", dir).ok(); // the dead owner's lock does not block
        assertThat(scemu("status", dir).ok().out()).contains("RECOVERED");
    }
}
