package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static dev.scemu.cli.CliTestSupport.run;
import static dev.scemu.cli.CliTestSupport.scemu;
import static dev.scemu.cli.CliTestSupport.startScemu;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.unit.StorageControlUnit;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every live command against a {@code scemu serve} running in a child JVM: the CLI in this JVM
 * finds the unit owned and talks to the server over the unit's control socket.
 */
class CliLiveControlTest {

    private static int port(Path log) throws Exception {
        Matcher m = Pattern.compile("nbd://127\\.0\\.0\\.1:(\\d+)/volume").matcher(Files.readString(log));
        assertThat(m.find()).as(Files.readString(log)).isTrue();
        return Integer.parseInt(m.group(1));
    }

    private static CliTestSupport.ProcessResult qemuIo(String uri, String... commands) {
        List<String> command = new java.util.ArrayList<>(List.of("qemu-io", "-f", "raw"));
        if (uri.contains("/snap-")) {
            command.add("-r");
        }
        command.add(uri);
        for (String c : commands) {
            command.add("-c");
            command.add(c);
        }
        return run(command);
    }

    private static void assertQemuIoOk(CliTestSupport.ProcessResult result) {
        assertThat(result.exitCode()).as(result.output()).isZero();
        assertThat(result.output()).doesNotContain("Pattern verification failed").doesNotContain("error");
    }

    @Test
    void everyLiveCommandRunsAgainstTheServingProcess(@TempDir Path tmp) throws Exception {
        dev.scemu.core.RequiredTool.require("qemu-io", "qemu-utils");
        dev.scemu.core.RequiredTool.require("nbdcopy", "libnbd-bin");
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        Path key = tmp.resolve("vendor.pem");
        scemu("firmware", "export-key", dir, "-o", key).ok(); // offline: export-key is not a live command
        Path body = tmp.resolve("body.bin");
        byte[] bodyBytes = new byte[64 << 10];
        new Random(5).nextBytes(bodyBytes);
        Files.write(body, bodyBytes);
        Path image = tmp.resolve("fw-1.1.0.img");
        scemu("firmware", "build", "--body", body, "--key", key, "--image-version", "1.1.0", "-o", image).ok();

        Path log = tmp.resolve("serve.log");
        Process server = startScemu(log, "serving", "serve", dir, "--port", "0");
        try {
            String base = "nbd://127.0.0.1:" + port(log) + "/";
            assertThat(Files.readString(log)).contains("control " + dir.toRealPath().resolve("control.sock"));
            String status = scemu("status", dir).ok().out();
            assertThat(status).contains("live: meters count the I/O since 'scemu serve' booted").contains("optimal");

            // a live snapshot holds the data of its instant while the volume keeps changing
            assertQemuIoOk(qemuIo(base + "volume", "write -P 0xaa 0 1M"));
            assertThat(scemu("snapshot", "create", dir, "s1").ok().out())
                    .contains("snapshot 1 's1'").contains("exported as snap-1");
            assertQemuIoOk(qemuIo(base + "volume", "write -P 0xbb 0 1M"));
            assertQemuIoOk(qemuIo(base + "snap-1", "read -P 0xaa 0 1M"));
            assertQemuIoOk(qemuIo(base + "volume", "read -P 0xbb 0 1M"));
            Path copy = tmp.resolve("snap-1.raw");
            CliTestSupport.ProcessResult copied = run(List.of("nbdcopy", base + "snap-1", copy.toString()));
            assertThat(copied.exitCode()).as(copied.output()).isZero();
            byte[] first = new byte[1 << 20];
            System.arraycopy(Files.readAllBytes(copy), 0, first, 0, first.length);
            assertThat(first).containsOnly((byte) 0xaa);
            assertThat(scemu("snapshot", "list", dir).ok().out()).contains("s1");
            assertThat(scemu("status", dir).ok().out()).contains("snapshots  1");

            // backup from a snapshot taken live, kept and exported
            Path backups = tmp.resolve("backups");
            assertThat(scemu("backup", "create", dir, "-t", backups, "--image-id", "b1", "--keep-snapshot").ok().out())
                    .contains("backup b1").contains("snapshot 2 kept");
            assertThat(scemu("backup", "verify", "-t", backups, "b1").ok().out()).contains("intact");
            assertQemuIoOk(qemuIo(base + "snap-2", "read -P 0xbb 0 1M"));

            // scrub and firmware inspect live
            assertThat(scemu("scrub", dir).ok().out()).contains("0 mismatched");
            assertThat(scemu("status", dir).ok().out()).containsPattern("scrub      last .*no mismatch");
            assertThat(scemu("firmware", "inspect", dir).ok().out()).contains("VALID");

            // rollback is refused while a client has the volume open
            Process holder = new ProcessBuilder("qemu-io", "-f", "raw", base + "volume").redirectErrorStream(true).start();
            try {
                OutputStream toHolder = holder.getOutputStream();
                BufferedReader fromHolder = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
                toHolder.write("read 0 4k\n".getBytes(StandardCharsets.US_ASCII));
                toHolder.flush();
                for (String line; (line = fromHolder.readLine()) != null && !line.contains("read 4096/4096"); ) {
                    // wait until the client is in transmission
                }
                assertThat(scemu("snapshot", "rollback", dir, "s1").failsWithOneLine(
                        "refused while serving: 1 client(s) have the volume export open").status())
                        .as("BUSY: retry once the clients are gone")
                        .isEqualTo(ExitStatus.of(dev.scemu.core.ErrorCategory.BUSY));
                toHolder.write("quit\n".getBytes(StandardCharsets.US_ASCII));
                toHolder.flush();
                assertThat(holder.waitFor(30, TimeUnit.SECONDS)).isTrue();
            } finally {
                holder.destroyForcibly();
            }
            CliTestSupport.Result rolled = scemu("snapshot", "rollback", dir, "s1");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (rolled.status() != 0 && rolled.err().contains("refused while serving") && System.nanoTime() < deadline) {
                Thread.onSpinWait(); // the server notices the client's close asynchronously; a refusal changes nothing
                rolled = scemu("snapshot", "rollback", dir, "s1");
            }
            assertThat(rolled.ok().out()).contains("rolled back to snapshot 1 's1'");
            assertQemuIoOk(qemuIo(base + "volume", "read -P 0xaa 0 1M"));

            // a deleted snapshot's export is gone
            assertThat(scemu("snapshot", "delete", dir, "s1").ok().out()).contains("deleted");
            CliTestSupport.ProcessResult gone = qemuIo(base + "snap-1", "read 0 4k");
            assertThat(gone.exitCode()).as(gone.output()).isNotZero();
            assertQemuIoOk(qemuIo(base + "snap-2", "read -P 0xbb 0 1M"));

            // disks and firmware live
            assertThat(scemu("disk", "fail", dir, "2").ok().out()).contains("degraded");
            assertThat(scemu("status", dir).ok().out()).contains("DEGRADED");
            assertQemuIoOk(qemuIo(base + "volume", "read -P 0xaa 0 1M"));
            assertThat(scemu("disk", "replace", dir, "2").ok().out()).contains("replaced and rebuilt")
                    .contains("when 'scemu serve' stops");
            assertThat(scemu("firmware", "update", dir, image).ok().out()).contains("UPDATED");
            assertThat(scemu("status", dir).ok().out()).contains("firmware   1.1.0").contains("optimal");
            assertQemuIoOk(qemuIo(base + "volume", "read -P 0xaa 0 1M"));

            // commands that are not live meet the lock
            scemu("firmware", "corrupt", dir).failsWithOneLine("UNIT_BUSY");
        } finally {
            server.destroy(); // SIGTERM: serve closes the unit cleanly
            if (!server.waitFor(60, TimeUnit.SECONDS)) {
                CliTestSupport.kill9(server);
            }
        }
        assertThat(Files.exists(dir.resolve("control.sock"))).as("socket removed at stop").isFalse();
        String offline = scemu("status", dir).ok().out();
        assertThat(offline).contains("firmware   1.1.0").contains("optimal").contains("snapshots  1")
                .doesNotContain("live:");

        // the live backup holds the volume of its instant (0xbb), not the rolled-back one (0xaa) of now
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(CliTestSupport.read(unit.host(), 0, 256)).isEqualTo(CliTestSupport.filled(0xaa, 256));
        }
        scemu("backup", "restore", dir, "b1", "-t", tmp.resolve("backups")).ok();
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(CliTestSupport.read(unit.host(), 0, 256)).isEqualTo(CliTestSupport.filled(0xbb, 256));
        }
    }

    /**
     * {@code kill -9} of {@code serve} after a live {@code disk replace} rebuilt disk 2 onto
     * {@code disk2-r1.img} (renamed to {@code disk2.img} only by serve's clean stop) and after a host
     * write made the array active: the next commands assemble the member from the replacement image,
     * whose superblock holds the role, and the first read-write close adopts it. Before, the open
     * looked only for {@code disk2.img}, the failed image, found the array dirty and degraded and
     * refused to start it (DIRTY_DEGRADED), although every member was intact.
     */
    @Test
    void aReplacementRebuiltLiveHoldsItsMemberAfterAKill9OfServe(@TempDir Path tmp) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(CliTestSupport.installed("qemu-io"), "qemu-io not installed");
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        CliTestSupport.writeVolume(dir, 0, CliTestSupport.pattern(5, 256));
        Path log = tmp.resolve("serve.log");
        Process server = startScemu(log, "serving", "serve", dir, "--port", "0");
        try {
            String base = "nbd://127.0.0.1:" + port(log) + "/";
            assertThat(scemu("disk", "fail", dir, "2").ok().out()).contains("degraded");
            assertThat(scemu("disk", "replace", dir, "2").ok().out()).contains("replaced and rebuilt");
            assertQemuIoOk(qemuIo(base + "volume", "write -P 0xcc 1M 64k")); // the array is active at the kill
        } finally {
            CliTestSupport.kill9(server);
        }
        assertThat(dir.resolve("disk2-r1.img")).as("serve died before it adopted the rebuilt image").exists();

        assertThat(scemu("status", dir).ok().out()).contains("optimal").contains("disk 2   ACTIVE");
        assertThat(dir.resolve("disk2-r1.img")).as("a read-only look renames nothing").exists();
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(unit.array().isDegraded()).isFalse();
            assertThat(CliTestSupport.read(unit.host(), 0, 256)).isEqualTo(CliTestSupport.pattern(5, 256));
            assertThat(CliTestSupport.read(unit.host(), 256, 16)).isEqualTo(CliTestSupport.filled(0xcc, 16));
        }
        assertThat(dir.resolve("disk2-r1.img")).as("adopted by the close").doesNotExist();
        assertThat(scemu("scrub", dir).ok().out()).contains("0 mismatched");
        assertThat(scemu("status", dir).ok().out()).contains("optimal");
    }


    /**
     * SIGTERM of {@code serve} while a live {@code disk replace} waits for a throttled rebuild: serve
     * stops without waiting for the rebuild (before, it waited a minute for the live command, which
     * waited for the whole rebuild), the command says the rebuild resumes at the next open, and the
     * next read-write open resumes it from its checkpoint to an optimal array.
     */
    @Test
    void serveStopsWithoutWaitingForALiveRebuild(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        CliTestSupport.writeVolume(dir, 0, CliTestSupport.pattern(7, 256));
        Path log = tmp.resolve("serve.log");
        // md's speed limits at 300 KiB/s: the 16 MiB member would take about a minute to rebuild
        Process server = startScemu(log, "serving", "serve", dir, "--port", "0", "--rebuild-speed", "300:300");
        java.util.concurrent.ExecutorService client = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            assertThat(scemu("disk", "fail", dir, "2").ok().out()).contains("degraded");
            java.util.concurrent.Future<CliTestSupport.Result> replace = client.submit(() -> scemu("disk", "replace", dir, "2"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.exists(dir.resolve("disk2-r1.img")) && System.nanoTime() < deadline) {
                server.waitFor(20, TimeUnit.MILLISECONDS); // polls a file the serving process creates, with a deadline
            }
            assertThat(dir.resolve("disk2-r1.img")).as("the live replacement started").exists();
            server.destroy(); // SIGTERM
            assertThat(server.waitFor(30, TimeUnit.SECONDS)).as("serve stopped without waiting for the rebuild").isTrue();
            CliTestSupport.Result result = replace.get(30, TimeUnit.SECONDS);
            assertThat(result.status()).isNotZero();
            assertThat(result.err()).contains("'scemu serve' is stopping").contains("resumes when the unit is next opened");
        } finally {
            client.shutdownNow();
            if (server.isAlive()) {
                CliTestSupport.kill9(server);
            }
        }
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            unit.setRebuildSpeed(dev.scemu.unit.RebuildSpeed.UNLIMITED);
            unit.array().backgroundWork().get(60, TimeUnit.SECONDS);
            assertThat(unit.array().isDegraded()).as("the rebuild resumed and finished").isFalse();
            assertThat(CliTestSupport.read(unit.host(), 0, 256)).isEqualTo(CliTestSupport.pattern(7, 256));
        }
        assertThat(scemu("scrub", dir).ok().out()).contains("0 mismatched");
    }

}
