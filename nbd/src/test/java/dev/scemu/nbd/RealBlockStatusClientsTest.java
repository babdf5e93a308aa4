package dev.scemu.nbd;

import static dev.scemu.nbd.Processes.assumeInstalled;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code base:allocation} as real clients see it: {@code nbdinfo --map} on a fresh sparse export,
 * after writes and after a trim (the file medium punches holes), {@code qemu-img map} agreeing,
 * and {@code nbdcopy} reading only the data of a mostly empty export (the holes are skipped: the
 * server counts the bytes read). Skipped when libnbd-bin / qemu-utils are missing.
 */
@Timeout(120)
class RealBlockStatusClientsTest extends NbdTestSupport {

    private static final int MIB = 1 << 20;

    @TempDir
    Path tempDir;

    /** One line of {@code nbdinfo --map}: offset, length, type (1 hole, 2 zero, 3 hole|zero, 0 data). */
    record MapLine(long offset, long length, int type) {
    }

    private List<MapLine> nbdinfoMap(String uri) throws Exception {
        Processes.Result result = Processes.run(tempDir, "nbdinfo", "--map", uri);
        assertThat(result.exitCode()).as(result.output()).isZero();
        List<MapLine> lines = new ArrayList<>();
        for (String line : result.output().strip().split("\n")) {
            String[] fields = line.strip().split("\\s+");
            lines.add(new MapLine(Long.parseLong(fields[0]), Long.parseLong(fields[1]), Integer.parseInt(fields[2])));
        }
        return lines;
    }

    private Processes.Result qemuIo(String uri, String... commands) throws Exception {
        List<String> command = new ArrayList<>(List.of("qemu-io", "-f", "raw", uri));
        for (String c : commands) {
            command.add("-c");
            command.add(c);
        }
        Processes.Result result = Processes.run(tempDir, command.toArray(String[]::new));
        assertThat(result.exitCode()).as(result.output()).isZero();
        assertThat(result.output()).doesNotContain("failed");
        return result;
    }

    private BlockDevice sparseFile(String name, long bytes) {
        return track(Media.directFile(tempDir.resolve(name + ".img"), BlockGeometry.ofBytes(4096, bytes)));
    }

    private static String uri(NbdServer server, String export) {
        return "nbd://127.0.0.1:" + server.port() + "/" + export;
    }

    @Test
    void nbdinfoMapsAFreshExportWritesAndATrim() throws Exception {
        assumeInstalled("nbdinfo", "libnbd-bin");
        assumeInstalled("qemu-io", "qemu-utils");
        BlockDevice disk = sparseFile("disk", 16 * MIB);
        NbdServer server = start(loopback().export("disk", disk));
        String uri = uri(server, "disk");

        assertThat(nbdinfoMap(uri)).as("fresh").containsExactly(new MapLine(0, 16L * MIB, 3));

        qemuIo(uri, "write -P 0x11 1M 64k", "write -P 0x22 8M 4k");
        assertThat(nbdinfoMap(uri)).as("after writes").containsExactly(new MapLine(0, MIB, 3),
                new MapLine(MIB, 64 << 10, 0), new MapLine(MIB + (64 << 10), 7L * MIB - (64 << 10), 3),
                new MapLine(8L * MIB, 4096, 0), new MapLine(8L * MIB + 4096, 8L * MIB - 4096, 3));

        qemuIo(uri, "discard 1M 64k");
        assertThat(nbdinfoMap(uri)).as("after a trim (punched hole)").containsExactly(new MapLine(0, 8L * MIB, 3),
                new MapLine(8L * MIB, 4096, 0), new MapLine(8L * MIB + 4096, 8L * MIB - 4096, 3));

        if (Files.isExecutable(Path.of("/usr/bin/qemu-img"))) {
            Processes.Result map = Processes.run(tempDir, "qemu-img", "map", "--output=json", "-f", "raw", uri);
            assertThat(map.exitCode()).as(map.output()).isZero();
            assertThat(map.output().replace(" ", "")).contains("\"start\":8388608,\"length\":4096,\"depth\":0,"
                    + "\"present\":true,\"zero\":false,\"data\":true");
            assertThat(map.output().replace(" ", "")).contains("\"start\":0,\"length\":8388608,\"depth\":0,"
                    + "\"present\":true,\"zero\":true,\"data\":false");
        }
    }

    @Test
    void nbdcopyReadsOnlyTheDataOfAMostlyEmptyExport() throws Exception {
        assumeInstalled("nbdcopy", "libnbd-bin");
        BlockDevice disk = sparseFile("src", 64 * MIB);
        byte[] data = random(5, 256 << 10);
        writeDevice(disk, 1000, data);
        NbdServer server = start(loopback().export("src", disk));
        Path copy = tempDir.resolve("copy.raw");
        Processes.Result result = Processes.run(tempDir, "nbdcopy", uri(server, "src"), copy.toString());
        assertThat(result.exitCode()).as(result.output()).isZero();

        byte[] copied = Files.readAllBytes(copy);
        assertThat(copied).hasSize(64 * MIB);
        byte[] expected = new byte[64 * MIB];
        System.arraycopy(data, 0, expected, 1000 * 4096, data.length);
        assertThat(copied).isEqualTo(expected);
        assertThat(server.stats().requests(NbdCommand.BLOCK_STATUS)).isPositive();
        assertThat(server.stats().readBytes()).as("holes are not read").isLessThanOrEqualTo(4L * MIB);
    }
}
