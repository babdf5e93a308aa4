package dev.scemu.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.Media;
import dev.scemu.snapshot.SnapshotConfig;
import dev.scemu.snapshot.SnapshotError;
import dev.scemu.snapshot.SnapshotException;
import dev.scemu.snapshot.SnapshotVolume;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A flipped bit anywhere in the superblock or the active checkpoint: a clear error, nothing written. */
class CorruptMetadataTest {

    private static final int BLOCK_SIZE = 512;

    private BlockDevice data;
    private FaultInjectingDevice store;
    private StoreLayout layout;

    @BeforeEach
    void volumeWithSnapshotsAndCopies() {
        data = Media.memory("data", new BlockGeometry(BLOCK_SIZE, 400));
        store = new FaultInjectingDevice(Media.memory("store", new BlockGeometry(BLOCK_SIZE, 2000)), 5);
        SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults().withLogBlocks(32));
        Random random = new Random(3);
        ByteBuffer buffer = ByteBuffer.allocateDirect(400 * BLOCK_SIZE);
        byte[] bytes = new byte[buffer.capacity()];
        for (int round = 0; round < 3; round++) {
            random.nextBytes(bytes);
            buffer.put(0, bytes);
            volume.write(0, 400, buffer, 0);
            volume.createSnapshot("s" + round);
        }
        volume.close(); // checkpoint: generation 2 in region B... whichever is newest
        store.flush();
        ByteBuffer block = ByteBuffer.allocateDirect(BLOCK_SIZE);
        store.read(0, 1, block, 0);
        layout = StoreLayout.decode(block, BLOCK_SIZE, store.blockCount());
    }

    @AfterEach
    void closeDevices() {
        data.close();
        store.close();
    }

    private int activeRegion() {
        ByteBuffer page = ByteBuffer.allocateDirect(BLOCK_SIZE);
        long a = Checkpoint.headerGeneration(store, layout, 0, page, new RedundantReads(store));
        long b = Checkpoint.headerGeneration(store, layout, 1, page, new RedundantReads(store));
        return a >= b ? 0 : 1;
    }

    private void assertOpenFailsCleanly(String what) {
        long writesBefore = store.meter().snapshot().receivedWrite().operations();
        long dataWritesBefore = data.meter().snapshot().receivedWrite().operations();
        assertThatThrownBy(() -> SnapshotVolume.open(data, store))
                .as(what)
                .isInstanceOf(SnapshotException.class)
                .satisfies(e -> assertThat(((SnapshotException) e).code()).isEqualTo(SnapshotError.CORRUPT_METADATA));
        assertThat(store.meter().snapshot().receivedWrite().operations()).as("store writes").isEqualTo(writesBefore);
        assertThat(data.meter().snapshot().receivedWrite().operations()).as("data writes").isEqualTo(dataWritesBefore);
    }

    @Test
    void corruptSuperblockIsReported() {
        store.corruptBlock(0);
        assertOpenFailsCleanly("superblock");
    }

    @Test
    void corruptCheckpointHeaderIsReported() {
        store.corruptBlock(layout.checkpointLba(activeRegion()));
        assertOpenFailsCleanly("checkpoint header");
    }

    @Test
    void corruptOlderCheckpointHeaderIsReportedToo() {
        store.corruptBlock(layout.checkpointLba(1 - activeRegion()));
        assertOpenFailsCleanly("older checkpoint header");
    }

    @Test
    void everyCorruptPageOfTheActiveCheckpointIsReported() {
        long first = layout.checkpointLba(activeRegion());
        ByteBuffer header = ByteBuffer.allocateDirect(BLOCK_SIZE).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        store.read(first, 1, header, 0);
        int pages = header.getInt(52) + header.getInt(64) + header.getInt(68);
        assertThat(pages).isGreaterThan(5);
        for (int page = 1; page <= pages; page++) {
            ByteBuffer saved = ByteBuffer.allocateDirect(BLOCK_SIZE);
            store.read(first + page, 1, saved, 0);
            store.corruptBlock(first + page);
            assertOpenFailsCleanly("checkpoint page " + page);
            store.write(first + page, 1, saved, 0, true);
        }
        SnapshotVolume.open(data, store).close(); // intact again: opens
    }

    @Test
    void unformattedStoreIsNotFormatted() {
        BlockDevice empty = Media.memory("empty", new BlockGeometry(BLOCK_SIZE, 2000));
        assertThatThrownBy(() -> SnapshotVolume.open(data, empty))
                .isInstanceOf(SnapshotException.class)
                .satisfies(e -> assertThat(((SnapshotException) e).code()).isEqualTo(SnapshotError.NOT_FORMATTED));
        empty.close();
    }
}
