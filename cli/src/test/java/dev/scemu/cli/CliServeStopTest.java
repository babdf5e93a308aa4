package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.scemu;
import static dev.scemu.cli.CliTestSupport.startScemu;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.testkit.concurrency.NbdClient;
import java.io.RandomAccessFile;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code scemu serve} stopped (SIGTERM) after its array failed under it: the stop's last flush
 * fails, and the command says so in one line. It was an uncaught exception in the shutdown hook:
 * "Exception in thread "scemu-serve-shutdown" ... VOLUME_FAILED" and its stack trace.
 */
class CliServeStopTest {

    @Test
    void aServeWhoseArrayFailedStopsWithOneLineNotAStackTrace(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("unit");
        // the file backend reads with pread: a member image cut short fails the reads that reach past its end
        scemu("create", dir, "--backend", "file", "--level", "5", "--disks", "4", "--disk-size", "16M").ok();
        Path log = tmp.resolve("serve.log");
        Process serve = startScemu(log, "serving", "serve", dir, "--port", "0");
        Matcher m = Pattern.compile("nbd://127\\.0\\.0\\.1:(\\d+)/volume").matcher(Files.readString(log));
        assertThat(m.find()).isTrue();
        for (String disk : new String[] {"disk0.img", "disk1.img"}) {
            try (RandomAccessFile file = new RandomAccessFile(dir.resolve(disk).toFile(), "rw")) {
                file.setLength(0); // two members of a RAID-5 lost: the array fails at the next I/O that needs them
            }
        }
        try (NbdClient client = NbdClient.connect(new InetSocketAddress("127.0.0.1", Integer.parseInt(m.group(1))),
                "volume", 4096)) {
            ByteBuffer block = ByteBuffer.allocateDirect(16 * 4096);
            assertThatThrownBy(() -> client.write(0, 16, block, false)).as("a write to the failed array").isNotNull();
        }

        serve.destroy(); // SIGTERM: the shutdown hook stops the servers and closes the unit
        assertThat(serve.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String output = Files.readString(log);
        assertThat(output).doesNotContain("Exception in thread").doesNotContain("\tat dev.scemu")
                .contains("scemu: while stopping: ").contains("ARRAY_FAILED");
    }
}
