package dev.scemu.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.ChecksummedRecord;
import dev.scemu.core.Media;
import dev.scemu.snapshot.SnapshotConfig;
import dev.scemu.snapshot.SnapshotError;
import dev.scemu.snapshot.SnapshotException;
import dev.scemu.snapshot.SnapshotVolume;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Regressions found by the testkit decoder fuzzer: metadata that verifies (checksums recomputed)
 * but describes an impossible layout is CORRUPT_METADATA, and nothing is written.
 */
class MalformedStoreLayoutTest {

    private static final int BLOCK_SIZE = 512;

    private BlockDevice data;
    private BlockDevice store;

    @BeforeEach
    void closedVolume() {
        data = Media.memory("data", new BlockGeometry(BLOCK_SIZE, 64));
        store = Media.memory("store", new BlockGeometry(BLOCK_SIZE, 1200));
        SnapshotVolume.format(data, store, SnapshotConfig.defaults().withLogBlocks(16).withMaxSnapshots(4)
                .withMaxMappingEntries(256)).close();
    }

    @AfterEach
    void closeDevices() {
        data.close();
        store.close();
    }

    /** Changes block {@code lba} of the store and recomputes its record checksum. */
    private void patchAndReseal(long lba, Consumer<ByteBuffer> patch) {
        ByteBuffer block = ByteBuffer.allocate(BLOCK_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        store.read(lba, 1, block, 0);
        patch.accept(block);
        ChecksummedRecord.seal(block, 0, block.getInt(0), block.getShort(4) & 0xFFFF, block.getShort(6) & 0xFFFF,
                block.getInt(8));
        store.write(lba, 1, block, 0, true);
    }

    private void assertCorruptAndUnwritten() {
        long storeWrites = store.meter().snapshot().receivedWrite().operations();
        long dataWrites = data.meter().snapshot().receivedWrite().operations();
        assertThatThrownBy(() -> SnapshotVolume.open(data, store))
                .isInstanceOf(SnapshotException.class)
                .satisfies(e -> assertThat(((SnapshotException) e).code()).isEqualTo(SnapshotError.CORRUPT_METADATA));
        assertThat(store.meter().snapshot().receivedWrite().operations()).isEqualTo(storeWrites);
        assertThat(data.meter().snapshot().receivedWrite().operations()).isEqualTo(dataWrites);
    }

    @Test
    void rejectsLogHeaderDescribingAnotherBlockSize() {
        patchAndReseal(1, header -> header.putInt(48, 67109376)); // execution log header slot 0: blockSize
        patchAndReseal(2, header -> header.putInt(48, 67109376)); // slot 1
        assertCorruptAndUnwritten();
    }

    @Test
    void rejectsSuperblockWhoseLogOverlapsTheCheckpoints() {
        patchAndReseal(0, superblock -> superblock.putLong(48, superblock.getLong(48) + 4)); // logBlocks
        assertCorruptAndUnwritten();
    }

    @Test
    void rejectsSuperblockWithCheckpointRegionsTooSmallForItsTable() {
        patchAndReseal(0, superblock -> superblock.putLong(96, 1L << 20)); // maxMappingEntries
        assertCorruptAndUnwritten();
    }

    @Test
    void rejectsTruncatedSuperblock() {
        ByteBuffer block = ByteBuffer.allocate(BLOCK_SIZE);
        store.read(0, 1, block, 0);
        assertThatThrownBy(() -> StoreLayout.decode(block.slice(0, 1), BLOCK_SIZE, store.blockCount()))
                .isInstanceOf(SnapshotException.class)
                .satisfies(e -> assertThat(((SnapshotException) e).code()).isEqualTo(SnapshotError.CORRUPT_METADATA));
        assertThat(StoreLayout.decode(block, BLOCK_SIZE, store.blockCount()).blockSize()).isEqualTo(BLOCK_SIZE);
    }
}
