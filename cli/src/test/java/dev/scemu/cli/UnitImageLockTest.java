package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.scemu;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A unit's member images are locked while the unit is open ({@code MemberImageLocks}), as QEMU
 * locks the images it opens: {@code qemu-io} cannot open a member of a served unit, and while
 * {@code qemu-nbd} has a member open the unit refuses to open with {@code UNIT_BUSY} (17) naming
 * it, writes nothing, and does not start degraded without it (a member another process holds is
 * not a missing member). Before, both opened the image and wrote it.
 */
class UnitImageLockTest {

    @TempDir
    Path tmp;

    @Test
    void qemuToolsAndTheUnitNeverHaveTheSameMemberImageOpenAtOnce() throws Exception {
        dev.scemu.core.RequiredTool.require("qemu-io", "qemu-utils");
        dev.scemu.core.RequiredTool.require("qemu-nbd", "qemu-utils");
        Path dir = tmp.resolve("unit");
        CliTestSupport.createSmallUnit(dir);

        Process serve = CliTestSupport.startScemu(tmp.resolve("serve.log"), "serving", "serve", dir, "--port", "0");
        try {
            CliTestSupport.ProcessResult info = CliTestSupport.run(List.of("qemu-io", "-f", "raw", "-c", "read 0 4k",
                    dir.resolve("disk0.img").toString()));
            assertThat(info.exitCode()).as(info.output()).isNotZero();
            assertThat(info.output()).contains("lock");
        } finally {
            serve.destroy(); // SIGTERM: serve stops cleanly
            assertThat(serve.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }

        Map<String, String> before = CliTestSupport.imageHashes(dir);
        Path socket = tmp.resolve("qemu.sock");
        Process qemu = new ProcessBuilder("qemu-nbd", "-f", "raw", "-k", socket.toString(),
                dir.resolve("disk2.img").toString()).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("qemu-nbd.log").toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!Files.exists(socket)) { // qemu-nbd has the image open (and locked) once it listens
                assertThat(qemu.isAlive()).as(Files.readString(tmp.resolve("qemu-nbd.log"))).isTrue();
                assertThat(System.nanoTime()).as("qemu-nbd listening within 30 s").isLessThan(deadline);
                qemu.waitFor(20, TimeUnit.MILLISECONDS);
            }
            CliTestSupport.Result refused = scemu("status", dir).failsWithOneLine("UNIT_BUSY");
            assertThat(refused.status()).isEqualTo(17);
            assertThat(refused.errorLines()).contains("disk2.img is in use");
            scemu("snapshot", "create", dir, "s1").failsWithOneLine("UNIT_BUSY");
            assertThat(CliTestSupport.imageHashes(dir)).as("the refused opens wrote nothing").isEqualTo(before);
        } finally {
            CliTestSupport.kill9(qemu);
        }
        assertThat(scemu("status", dir).ok().out()).as("free once qemu-nbd is gone").contains("optimal");
    }
}
