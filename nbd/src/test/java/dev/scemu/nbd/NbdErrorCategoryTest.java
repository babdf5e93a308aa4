package dev.scemu.nbd;

import static dev.scemu.nbd.Processes.assumeInstalled;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import dev.scemu.snapshot.SnapshotConfig;
import dev.scemu.snapshot.SnapshotVolume;
import dev.scemu.snapshot.StoreFullPolicy;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Errors of any layer under an export reach a real client by category: a snapshot store that is
 * full ({@code SnapshotException STORE_FULL}, category NO_SPACE) is ENOSPC for qemu-io, not EIO.
 */
class NbdErrorCategoryTest extends NbdTestSupport {

    @TempDir
    Path tmp;

    @Test
    void qemuIoWritingIntoAFullSnapshotStoreGetsNoSpaceLeftOnDevice() throws Exception {
        assumeInstalled("qemu-io", "qemu-utils");
        BlockDevice data = track(Media.memory("data", new BlockGeometry(BLOCK_BYTES, 1024)));      // 4 MiB
        BlockDevice store = track(Media.memory("store", new BlockGeometry(BLOCK_BYTES, 400)));
        SnapshotVolume volume = track(SnapshotVolume.format(data, store,
                SnapshotConfig.defaults().withStoreFullPolicy(StoreFullPolicy.REFUSE_WRITE)));
        NbdServer server = start(loopback().export("volume", volume));

        Processes.Result fill = run("qemu-io", "-f", "raw", uri(server, "volume"), "-c", "write -P 0x11 0 4M", "-c", "flush");
        assertThat(fill.exitCode()).as(fill.output()).isZero();
        long before = volume.createSnapshot("before").id();

        Processes.Result overwrite = run("qemu-io", "-f", "raw", uri(server, "volume"), "-c", "write -P 0x22 0 4M");
        assertThat(overwrite.output()).as("qemu-io's report of the NBD error").contains("No space left on device")
                .doesNotContain("Input/output error");
        assertThat(overwrite.exitCode()).isNotZero();
        // the snapshot still reads what it froze
        byte[] expected = new byte[BLOCK_BYTES];
        java.util.Arrays.fill(expected, (byte) 0x11);
        assertThat(deviceBytes(volume.snapshot(before), 1023 * (long) BLOCK_BYTES, BLOCK_BYTES)).isEqualTo(expected);
    }

    private Processes.Result run(String... command) throws Exception {
        return Processes.run(tmp, command);
    }

    private static String uri(NbdServer server, String export) {
        return "nbd://127.0.0.1:" + server.port() + "/" + export;
    }
}
