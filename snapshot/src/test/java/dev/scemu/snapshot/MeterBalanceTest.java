package dev.scemu.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/**
 * The volume's issued-write meter accounts for every byte its data and store devices receive, at
 * every moment: the execution log's writes while it is formatted or opened are counted when they
 * happen, not at the log's first sync.
 */
class MeterBalanceTest {

    private static final int BLOCK_SIZE = 4096;

    private static long devicesReceived(BlockDevice data, BlockDevice store) {
        return data.meter().snapshot().receivedWrite().bytes() + store.meter().snapshot().receivedWrite().bytes();
    }

    @Test
    void everyByteTheDevicesReceiveIsIssuedByTheVolumeAfterFormatOpenAndEachWrite() {
        try (BlockDevice data = Media.memory("data", new BlockGeometry(BLOCK_SIZE, 1024));
             BlockDevice store = Media.memory("store", new BlockGeometry(BLOCK_SIZE, 2048))) {
            SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults());
            assertThat(volume.meter().snapshot().issuedWriteTotal().bytes()).as("after format")
                    .isEqualTo(devicesReceived(data, store));
            ByteBuffer block = ByteBuffer.allocateDirect(BLOCK_SIZE);
            block.putLong(0, 42);
            volume.write(3, 1, block, 0);
            volume.flush();
            assertThat(volume.meter().snapshot().issuedWriteTotal().bytes()).as("after the first flush")
                    .isEqualTo(devicesReceived(data, store));
            volume.close();

            data.meter().reset();
            store.meter().reset();
            SnapshotVolume reopened = SnapshotVolume.open(data, store);
            assertThat(reopened.meter().snapshot().issuedWriteTotal().bytes()).as("after open")
                    .isEqualTo(devicesReceived(data, store));
            reopened.createSnapshot("s");
            block.putLong(0, 43);
            reopened.write(3, 1, block, 0);
            reopened.flush();
            assertThat(reopened.meter().snapshot().issuedWriteTotal().bytes()).as("after a COW write and flush")
                    .isEqualTo(devicesReceived(data, store));
            reopened.close();
        }
    }
}
