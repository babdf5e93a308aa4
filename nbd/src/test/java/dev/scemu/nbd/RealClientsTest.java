package dev.scemu.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interoperability with real NBD clients (qemu-io, qemu-img from qemu-utils; nbdinfo from
 * libnbd-bin). Each test is skipped, with a message, when its client is not installed.
 */
@Timeout(120)
class RealClientsTest extends NbdTestSupport {

    private static final long PROCESS_TIMEOUT_SECONDS = 60;
    private static final int MIB = 1 << 20;

    @TempDir
    Path tempDir;

    record Result(int exitCode, String output) {
    }

    @Test
    void qemuIoWritesAndVerifiesAPatternThatLandsOnTheDevice() throws Exception {
        assumeInstalled("qemu-io", "qemu-utils");
        BlockDevice disk = device("disk", 16 * MIB);
        NbdServer server = start(loopback().export("disk", disk));

        Result result = run("qemu-io", "-f", "raw", uri(server, "disk"),
                "-c", "write -P 0xab 0 1M", "-c", "read -P 0xab 0 1M", "-c", "flush");

        assertThat(result.exitCode()).as(result.output()).isZero();
        assertThat(result.output()).doesNotContain("failed").doesNotContain("Pattern verification");
        byte[] expected = new byte[MIB];
        Arrays.fill(expected, (byte) 0xab);
        assertThat(deviceBytes(disk, 0, MIB)).isEqualTo(expected);
        assertThat(server.stats().writtenBytes()).isEqualTo(MIB);
    }

    @Test
    void qemuIoUnalignedWritesAreReadModifyWrittenOnA4kDevice() throws Exception {
        assumeInstalled("qemu-io", "qemu-utils");
        BlockDevice disk = device("disk", 4 * MIB);
        NbdServer server = start(loopback().export("disk", disk));

        Result result = run("qemu-io", "-f", "raw", uri(server, "disk"),
                "-c", "write -P 0x11 0 8k",
                "-c", "write -P 0x22 512 512",
                "-c", "write -P 0x33 3584 1024",
                "-c", "read -P 0x11 0 512",
                "-c", "read -P 0x22 512 512",
                "-c", "read -P 0x11 1024 2560",
                "-c", "read -P 0x33 3584 1024",
                "-c", "read -P 0x11 4608 3584");

        assertThat(result.exitCode()).as(result.output()).isZero();
        assertThat(result.output()).doesNotContain("failed").doesNotContain("Pattern verification");
        byte[] expected = new byte[8192];
        Arrays.fill(expected, (byte) 0x11);
        Arrays.fill(expected, 512, 1024, (byte) 0x22);
        Arrays.fill(expected, 3584, 4608, (byte) 0x33);
        assertThat(deviceBytes(disk, 0, expected.length)).isEqualTo(expected);
    }

    @Test
    void qemuIoConcurrentSectorWritesIntoSharedBlocksAllLand() throws Exception {
        assumeInstalled("qemu-io", "qemu-utils");
        BlockDevice disk = device("disk", 4 * MIB);
        NbdServer server = start(loopback().export("disk", disk));
        List<String> command = new ArrayList<>(List.of("qemu-io", "-f", "raw", uri(server, "disk")));
        int sectors = 32; // 4 blocks of 4 KiB, every sector written by its own in-flight request
        for (int i = 0; i < sectors; i++) {
            command.add("-c");
            command.add("aio_write -P " + (i + 1) + " " + (i * 512) + " 512");
        }
        command.add("-c");
        command.add("aio_flush");

        Result result = run(command.toArray(String[]::new));

        assertThat(result.exitCode()).as(result.output()).isZero();
        byte[] expected = new byte[sectors * 512];
        for (int i = 0; i < sectors; i++) {
            Arrays.fill(expected, i * 512, (i + 1) * 512, (byte) (i + 1));
        }
        assertThat(deviceBytes(disk, 0, expected.length)).isEqualTo(expected);
    }

    @Test
    void qemuIoCannotWriteAReadOnlyExport() throws Exception {
        assumeInstalled("qemu-io", "qemu-utils");
        BlockDevice disk = device("disk", 4 * MIB);
        NbdServer server = start(loopback().export("snap", disk, "read-only view", true));

        Result result = run("qemu-io", "-f", "raw", "-r", uri(server, "snap"), "-c", "read -P 0 0 64k");
        assertThat(result.exitCode()).as(result.output()).isZero();
        Result write = run("qemu-io", "-f", "raw", uri(server, "snap"), "-c", "write -P 0x55 0 4k");
        assertThat(write.exitCode()).as(write.output()).isNotZero();
        assertThat(write.output()).containsAnyOf("Permission denied", "read-only", "Read-only");
        assertThat(deviceBytes(disk, 0, 4096)).isEqualTo(new byte[4096]);
    }

    @Test
    void qemuImgConvertCopiesAnExportToAFileAndBackToAnotherExport() throws Exception {
        assumeInstalled("qemu-img", "qemu-utils");
        int sizeBytes = 8 * MIB;
        BlockDevice source = device("source", sizeBytes);
        BlockDevice target = device("target", sizeBytes);
        byte[] content = new byte[sizeBytes];
        byte[] randomPart = random(42, 3 * MIB);
        System.arraycopy(randomPart, 0, content, MIB, randomPart.length); // zeros around random data
        Arrays.fill(content, 6 * MIB + 1234, 6 * MIB + 9999, (byte) 0x5a);
        writeDevice(source, 0, content);
        writeDevice(target, 0, random(43, sizeBytes)); // must be overwritten, zeros included
        NbdServer server = start(loopback().export("source", source).export("target", target));
        Path file = tempDir.resolve("copy.img");

        Result out = run("qemu-img", "convert", "-f", "raw", "-O", "raw", uri(server, "source"), file.toString());
        assertThat(out.exitCode()).as(out.output()).isZero();
        assertThat(Files.readAllBytes(file)).isEqualTo(content);

        Result back = run("qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", file.toString(),
                uri(server, "target"));
        assertThat(back.exitCode()).as(back.output()).isZero();
        assertThat(deviceBytes(target, 0, sizeBytes)).isEqualTo(content);
    }

    @Test
    void nbdcopyCopiesBetweenExportsOverSeveralConnections() throws Exception {
        assumeInstalled("nbdcopy", "libnbd-bin");
        int sizeBytes = 16 * MIB;
        BlockDevice source = device("source", sizeBytes);
        BlockDevice target = device("target", sizeBytes);
        byte[] content = new byte[sizeBytes];
        System.arraycopy(random(44, 5 * MIB), 0, content, 2 * MIB, 5 * MIB);
        System.arraycopy(random(45, 3 * MIB), 0, content, 12 * MIB, 3 * MIB);
        writeDevice(source, 0, content);
        writeDevice(target, 0, random(46, sizeBytes));
        NbdServer server = start(loopback().export("source", source).export("target", target));

        // CAN_MULTI_CONN lets nbdcopy open several connections per side, with many requests in flight
        Result copy = run("nbdcopy", "--connections=4", "--requests=16", "--flush", uri(server, "source"),
                uri(server, "target"));

        assertThat(copy.exitCode()).as(copy.output()).isZero();
        assertThat(deviceBytes(target, 0, sizeBytes)).isEqualTo(content);
        assertThat(server.stats().connectionsAccepted()).isGreaterThan(2);
    }

    @Test
    void nbdinfoListsEveryExportWithItsDescription() throws Exception {
        assumeInstalled("nbdinfo", "libnbd-bin");
        NbdServer server = start(loopback()
                .export("volume", device("volume", 4 * MIB), "RAID-5 volume", false)
                .export("snap-1", device("snap", 2 * MIB), "snapshot 1 (read-only)", true));

        Result result = run("nbdinfo", "--list", "nbd://127.0.0.1:" + server.port());

        assertThat(result.exitCode()).as(result.output()).isZero();
        assertThat(result.output()).contains("volume", "snap-1", "RAID-5 volume", "snapshot 1 (read-only)");
    }

    @Test
    void nbdinfoReportsTheExportSizeOverTcpAndUnixSocket() throws Exception {
        assumeInstalled("nbdinfo", "libnbd-bin");
        Path socket = tempDir.resolve("nbd.sock");
        NbdServer server = start(loopback().bindUnix(socket).export("disk", device("disk", 12 * MIB)));

        Result tcp = run("nbdinfo", "--size", uri(server, "disk"));
        Result unix = run("nbdinfo", "--size", "nbd+unix:///disk?socket=" + socket);
        Result details = run("nbdinfo", uri(server, "disk"));

        assertThat(tcp.exitCode()).as(tcp.output()).isZero();
        assertThat(tcp.output().trim()).isEqualTo(String.valueOf(12 * MIB));
        assertThat(unix.exitCode()).as(unix.output()).isZero();
        assertThat(unix.output().trim()).isEqualTo(String.valueOf(12 * MIB));
        assertThat(details.output()).contains("can_flush: true", "can_fua: true", "can_multi_conn: true",
                "block_size_preferred: 4096");
    }

    @Test
    void exportsAddedAndRemovedWhileServingAreSeenByNbdinfoAndQemuIo() throws Exception {
        assumeInstalled("qemu-io", "qemu-utils");
        assumeInstalled("nbdinfo", "libnbd-bin");
        NbdServer server = start(loopback().export("volume", device("volume", 4 * MIB), "the volume", false));
        BlockDevice snap = device("snap", 4 * MIB);
        byte[] pattern = new byte[MIB];
        Arrays.fill(pattern, (byte) 0x5a);
        writeDevice(snap, 0, pattern);

        server.addExport("snap-1", snap, "snapshot 1", true);
        Result list = run("nbdinfo", "--list", "nbd://127.0.0.1:" + server.port());
        assertThat(list.exitCode()).as(list.output()).isZero();
        assertThat(list.output()).contains("snap-1", "snapshot 1");

        // an interactive qemu-io holds the export open across the removal
        Path log = tempDir.resolve("qemu-io.log");
        Process qemuIo = new ProcessBuilder("qemu-io", "-f", "raw", "-r", uri(server, "snap-1"))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try (var commands = new java.io.PrintStream(qemuIo.getOutputStream(), true, StandardCharsets.UTF_8)) {
            commands.println("read -P 0x5a 0 64k");
            awaitLog(log, "read 65536/65536");
            assertThat(server.hasOpenConnections("snap-1")).isTrue();

            assertThat(server.removeExport("snap-1")).isTrue();
            snap.close();

            commands.println("read -P 0x5a 0 64k");
            commands.println("quit");
        }
        assertThat(qemuIo.waitFor(PROCESS_TIMEOUT_SECONDS, TimeUnit.SECONDS)).isTrue();
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(output.substring(output.indexOf("read 65536/65536") + 1)).as(output)
                .contains("read failed: Cannot send after transport endpoint shutdown") // strerror(ESHUTDOWN)
                .doesNotContain("Pattern verification");

        Result gone = run("nbdinfo", "--size", uri(server, "snap-1"));
        assertThat(gone.exitCode()).as(gone.output()).isNotZero();
        Result after = run("nbdinfo", "--list", "nbd://127.0.0.1:" + server.port());
        assertThat(after.output()).contains("volume").doesNotContain("snap-1");
        awaitState(() -> server.stats().connectionsActive() == 0, "qemu-io's connection closed", 10_000);
    }

    @Test
    void qemuIoReadsAndWritesWhileAClientHoldsSixtyFourIdleSockets() throws Exception {
        assumeInstalled("qemu-io", "qemu-utils");
        assumeInstalled("nbdinfo", "libnbd-bin");
        BlockDevice disk = device("disk", 4 * MIB);
        NbdServer server = start(loopback().export("disk", disk));
        List<java.net.Socket> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 64; i++) { // opened, never a byte of handshake sent
                idle.add(new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), server.port()));
            }
            awaitState(() -> server.stats().connectionsInHandshake() == 64, "64 idle sockets in the handshake", 10_000);

            Result io = run("qemu-io", "-f", "raw", uri(server, "disk"),
                    "-c", "write -P 0x6b 0 256k", "-c", "read -P 0x6b 0 256k", "-c", "flush");
            Result info = run("nbdinfo", "--size", uri(server, "disk"));

            assertThat(io.exitCode()).as(io.output()).isZero();
            assertThat(io.output()).doesNotContain("failed").doesNotContain("Pattern verification");
            byte[] expected = new byte[256 << 10];
            Arrays.fill(expected, (byte) 0x6b);
            assertThat(deviceBytes(disk, 0, expected.length)).isEqualTo(expected);
            assertThat(info.exitCode()).as(info.output()).isZero();
            assertThat(info.output().trim()).isEqualTo(String.valueOf(4 * MIB));
            // qemu-io's connection pushed the oldest idle socket out; once it had moved on to transmission
            // a handshake slot was free again for nbdinfo
            assertThat(server.stats().connectionsEvicted()).isEqualTo(1);
            awaitState(() -> server.stats().connectionsInHandshake() == 63, "63 idle sockets left", 10_000);
        } finally {
            for (java.net.Socket socket : idle) {
                socket.close();
            }
        }
    }

    // ---------------------------------------------------------------- helpers

    /** Waits (bounded) until a process's log contains {@code text}. */
    private static void awaitLog(Path log, String text) throws Exception {
        awaitState(() -> {
            try {
                return Files.readString(log, StandardCharsets.UTF_8).contains(text);
            } catch (IOException e) {
                return false;
            }
        }, "'" + text + "' in " + log, PROCESS_TIMEOUT_SECONDS * 1000);
    }

    private BlockDevice device(String name, int sizeBytes) {
        return track(Media.memory(name, BlockGeometry.ofBytes(BLOCK_BYTES, sizeBytes)));
    }

    private static String uri(NbdServer server, String export) {
        return "nbd://127.0.0.1:" + server.port() + "/" + export;
    }

    private static void assumeInstalled(String program, String debianPackage) {
        boolean found = false;
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                found = true;
                break;
            }
        }
        assumeTrue(found, program + " is not installed (apt-get install " + debianPackage + "); skipping");
    }

    private Result run(String... command) throws IOException, InterruptedException {
        Path log = Files.createTempFile(tempDir, "process", ".log");
        Process process = new ProcessBuilder(new ArrayList<>(List.of(command)))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        if (!process.waitFor(PROCESS_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError(String.join(" ", command) + " did not finish in " + PROCESS_TIMEOUT_SECONDS
                    + " s:\n" + Files.readString(log, StandardCharsets.UTF_8));
        }
        return new Result(process.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    }
}
