package dev.scemu.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StoreFullPolicyTest {

    private static final int BLOCK_SIZE = 512;
    private static final int BLOCKS = 256;

    private static SnapshotVolume volume(BlockDevice data, BlockDevice store, StoreFullPolicy policy) {
        return SnapshotVolume.format(data, store, SnapshotConfig.defaults().withLogBlocks(16).withStoreFullPolicy(policy));
    }

    @Test
    void refuseWriteFailsClearlyAndChangesNothing() {
        Random random = new Random(1);
        try (BlockDevice data = Media.memory("data", new BlockGeometry(BLOCK_SIZE, BLOCKS));
             BlockDevice store = Media.memory("store", new BlockGeometry(BLOCK_SIZE, 200))) {
            SnapshotVolume volume = volume(data, store, StoreFullPolicy.REFUSE_WRITE);
            byte[] original = VolumeTesting.randomBytes(random, BLOCKS * BLOCK_SIZE);
            VolumeTesting.write(volume, 0, original, false);
            SnapshotInfo snapshot = volume.createSnapshot("keep");
            long pool = volume.storeUsage().storeBlocks();
            assertThat(pool).isLessThan(BLOCKS);
            byte[] update = VolumeTesting.randomBytes(random, BLOCKS * BLOCK_SIZE);
            assertThatThrownBy(() -> VolumeTesting.write(volume, 0, update, false))
                    .isInstanceOf(SnapshotException.class)
                    .hasMessageContaining("nothing was written")
                    .satisfies(e -> assertThat(((SnapshotException) e).code()).isEqualTo(SnapshotError.STORE_FULL));
            assertThat(VolumeTesting.read(volume, 0, BLOCKS)).isEqualTo(original);
            // rewriting identical data needs no copy, so it is accepted even now
            VolumeTesting.write(volume, 0, original, false);
            // smaller writes that fit still work, the snapshot stays intact
            byte[] small = VolumeTesting.randomBytes(random, 10 * BLOCK_SIZE);
            VolumeTesting.write(volume, 5, small, true);
            assertThat(VolumeTesting.read(volume, 5, 10)).isEqualTo(small);
            assertThat(VolumeTesting.read(volume.snapshot(snapshot.id()), 0, BLOCKS)).isEqualTo(original);
            volume.close();
        }
    }

    /**
     * A snapshot of a volume that was never written, then the whole volume written: every first
     * write takes a zero-block mapping entry and no pool block, so a store whose pool is a fraction
     * of the volume must still take it (the default table held twice the pool: it refused the
     * writes with STORE_FULL after about a quarter of this volume, pool almost unused).
     */
    @Test
    void aSnapshotOfAnEmptyVolumeLetsTheWholeVolumeBeWritten() {
        int blockSize = 4096;
        int dataBlocks = 8192;
        Random random = new Random(3);
        try (BlockDevice data = Media.memory("data", new BlockGeometry(blockSize, dataBlocks));
             BlockDevice store = Media.memory("store", new BlockGeometry(blockSize, 1024))) {
            SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults());
            assertThat(volume.storeUsage().storeBlocks()).isLessThan(dataBlocks / 4);
            SnapshotInfo empty = volume.createSnapshot("empty");
            byte[] everything = VolumeTesting.randomBytes(random, dataBlocks * blockSize);
            for (int lba = 0; lba < dataBlocks; lba += 256) {
                VolumeTesting.write(volume, lba, Arrays.copyOfRange(everything, lba * blockSize,
                        (lba + 256) * blockSize), false);
            }
            volume.flush();
            assertThat(volume.storeUsage().usedStoreBlocks()).isZero();
            volume.close();
            try (SnapshotVolume reopened = SnapshotVolume.open(data, store)) {
                assertThat(VolumeTesting.read(reopened, 0, dataBlocks)).isEqualTo(everything);
                assertThat(VolumeTesting.read(reopened.snapshot(empty.id()), 0, dataBlocks))
                        .isEqualTo(new byte[dataBlocks * blockSize]);
            }
        }
    }

    @Test
    void invalidateOldestDeletesOldSnapshotsUntilTheWriteFits() {
        Random random = new Random(2);
        try (BlockDevice data = Media.memory("data", new BlockGeometry(BLOCK_SIZE, BLOCKS));
             BlockDevice store = Media.memory("store", new BlockGeometry(BLOCK_SIZE, 260))) {
            SnapshotVolume volume = volume(data, store, StoreFullPolicy.INVALIDATE_OLDEST);
            long pool = volume.storeUsage().storeBlocks();
            byte[] v0 = VolumeTesting.randomBytes(random, 100 * BLOCK_SIZE);
            VolumeTesting.write(volume, 0, v0, false);
            SnapshotInfo first = volume.createSnapshot("first");
            byte[] v1 = VolumeTesting.randomBytes(random, 100 * BLOCK_SIZE);
            VolumeTesting.write(volume, 0, v1, false);
            SnapshotInfo second = volume.createSnapshot("second");
            assertThat(volume.storeUsage().usedStoreBlocks()).isEqualTo(100);
            int big = (int) Math.min(BLOCKS, pool - 100 + 50);
            byte[] v2 = VolumeTesting.randomBytes(random, big * BLOCK_SIZE);
            VolumeTesting.write(volume, 0, v2, true);
            assertThat(volume.listSnapshots()).extracting(SnapshotInfo::id).containsExactly(second.id());
            byte[] expectedSecond = VolumeTesting.read(data, 0, BLOCKS).clone();
            assertThat(VolumeTesting.read(volume, 0, big)).isEqualTo(v2);
            assertThat(VolumeTesting.read(volume.snapshot(second.id()), 0, 100)).isEqualTo(v1);
            assertThatThrownBy(() -> volume.snapshot(first.id())).isInstanceOf(SnapshotException.class);
            assertThat(expectedSecond).isNotNull();
            volume.close();
        }
    }
}
