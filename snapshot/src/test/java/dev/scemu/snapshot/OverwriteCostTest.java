package dev.scemu.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import dev.scemu.core.Media;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link SnapshotVolume#overwriteCost}: what overwriting a set of blocks can take from the store,
 * counted without reading a block, and exact for an overwrite with other, non-zero data; and
 * {@link SnapshotVolume#requireRoomToOverwrite}, which refuses up front what the store cannot hold.
 */
class OverwriteCostTest {

    private static final int BLOCK_SIZE = 4096;
    private static final int BLOCKS = 8192; // 32 MiB: 32 chunks of the memory medium, 256 blocks each
    private static final int CHUNK_BLOCKS = 256;

    @Test
    void countsTheBlocksASnapshotStillReadsAndTheCopiesOfThoseThatHoldData() {
        Random random = new Random(5);
        try (BlockDevice data = Media.memory("data", new BlockGeometry(BLOCK_SIZE, BLOCKS));
             BlockDevice store = Media.memory("store", new BlockGeometry(BLOCK_SIZE, 2048))) {
            SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults());
            VolumeTesting.write(volume, 0, VolumeTesting.randomBytes(random, 2 * CHUNK_BLOCKS * BLOCK_SIZE), false);
            List<Extent> overwrite = List.of(Extent.of(0, 1024), Extent.of(4096, 10), Extent.of(500, 100)); // 1034 blocks
            SnapshotVolume.OverwriteCost none = volume.overwriteCost(overwrite);
            assertThat(none.blocks()).isEqualTo(1034);
            assertThat(none.mappingEntriesNeeded()).as("no snapshot, no copy").isZero();
            assertThat(none.storeBlocksNeeded()).isZero();
            assertThat(none.fits()).isTrue();

            volume.createSnapshot("before");
            VolumeTesting.write(volume, 100, VolumeTesting.randomBytes(random, 50 * BLOCK_SIZE), true); // copied once
            SnapshotVolume.StoreUsage usage = volume.storeUsage();
            SnapshotVolume.OverwriteCost cost = volume.overwriteCost(overwrite);
            assertThat(cost.blocks()).isEqualTo(1034);
            assertThat(cost.mappingEntriesNeeded()).as("every block but the 50 written since the snapshot")
                    .isEqualTo(1034 - 50);
            assertThat(cost.storeBlocksNeeded()).as("of those, the ones in the two chunks that hold data")
                    .isEqualTo(2 * CHUNK_BLOCKS - 50);
            assertThat(cost.freeStoreBlocks()).isEqualTo(usage.storeBlocks() - usage.usedStoreBlocks());
            assertThat(cost.freeMappingEntries()).isEqualTo(usage.maxMappingEntries() - usage.mappingEntries());
            assertThat(cost.snapshots()).isEqualTo(1);
            assertThat(cost.policy()).isEqualTo(StoreFullPolicy.REFUSE_WRITE);
            assertThat(volume.overwriteCost(List.of(Extent.of(95, 10))).mappingEntriesNeeded())
                    .as("a few blocks, looked up one by one").isEqualTo(5);

            // the count is exact for an overwrite with other, non-zero data
            for (Extent e : Extent.union(overwrite)) {
                VolumeTesting.write(volume, e.lba(), VolumeTesting.randomBytes(random, (int) e.blockCount() * BLOCK_SIZE),
                        false);
            }
            volume.flush();
            SnapshotVolume.StoreUsage after = volume.storeUsage();
            assertThat(after.usedStoreBlocks() - usage.usedStoreBlocks()).isEqualTo(cost.storeBlocksNeeded());
            assertThat(after.mappingEntries() - usage.mappingEntries()).isEqualTo(cost.mappingEntriesNeeded());
            assertThat(volume.overwriteCost(overwrite).mappingEntriesNeeded()).as("all written since").isZero();
            volume.close();
        }
    }

    /**
     * A restore zeroes its image's zero runs: zeros over zeros are skipped, so zeroing costs only
     * where the data device holds data. On a volume with a snapshot whose mapping table is far
     * smaller than the volume, zeroing the whole (sparse) volume fits; counting it as writes did
     * not (a restore of an empty image was refused). Zeroing blocks that hold data costs what
     * writing them does; where the map says data but the blocks read as zeros (the bound does not
     * fit), it costs nothing.
     */
    @Test
    void zeroingCostsOnlyWhereTheDataDeviceHoldsDataThatIsNotZeros() {
        Random random = new Random(6);
        try (BlockDevice data = Media.memory("data", new BlockGeometry(BLOCK_SIZE, BLOCKS));
             BlockDevice store = Media.memory("store", new BlockGeometry(BLOCK_SIZE, 400))) {
            // a mapping table smaller than the volume, as a unit's store sized below its volume has; a copy pool
            // smaller than the 512 blocks the medium reports as data (two 256-block chunks), so the bound is refined
            SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults().withMaxMappingEntries(1024));
            VolumeTesting.write(volume, 0, VolumeTesting.randomBytes(random, 16 * BLOCK_SIZE), false);
            VolumeTesting.write(volume, CHUNK_BLOCKS, new byte[CHUNK_BLOCKS * BLOCK_SIZE], false); // zeros, but data
            volume.createSnapshot("before");
            SnapshotVolume.StoreUsage usage = volume.storeUsage();
            List<Extent> whole = List.of(Extent.of(0, BLOCKS));
            assertThat(usage.maxMappingEntries()).as("the test's premise").isLessThan(BLOCKS);
            assertThat(volume.overwriteCost(whole).fits()).as("every block written: more entries than the table")
                    .isFalse();

            SnapshotVolume.OverwriteCost zeroing = volume.overwriteCost(List.of(), whole);
            assertThat(zeroing.blocks()).isEqualTo(BLOCKS);
            assertThat(usage.storeBlocks()).as("the test's premise").isLessThan(2 * CHUNK_BLOCKS);
            assertThat(zeroing.storeBlocksNeeded()).as("only the 16 blocks of data, not the zeros").isEqualTo(16);
            assertThat(zeroing.mappingEntriesNeeded()).isEqualTo(16);
            assertThat(zeroing.fits()).isTrue();
            assertThat(volume.requireRoomToOverwrite(List.of(Extent.of(0, 4)), whole, "a restore").mappingEntriesNeeded())
                    .as("4 blocks written (entries, copies), the other 12 of data zeroed").isEqualTo(16);

            // zeroing them is what the bound said: 16 copies, 16 entries
            volume.trim(0, BLOCKS);
            volume.flush();
            SnapshotVolume.StoreUsage after = volume.storeUsage();
            assertThat(after.usedStoreBlocks() - usage.usedStoreBlocks()).isEqualTo(16);
            assertThat(after.mappingEntries() - usage.mappingEntries()).isEqualTo(16);
            volume.close();
        }
    }

    /**
     * A data device that reports data everywhere (here zeros written over the whole medium; on a
     * unit, a rebuilt RAID member) gives a bound of the whole volume; when that does not fit, the
     * candidate blocks are read and only those that are not all zeros count (a restore onto a
     * mostly empty volume with a snapshot was refused after a 'disk replace').
     */
    @Test
    void whenTheAllocationBoundDoesNotFitOnlyTheBlocksThatAreNotZerosCount() {
        Random random = new Random(7);
        try (BlockDevice data = Media.memory("data", new BlockGeometry(BLOCK_SIZE, BLOCKS));
             BlockDevice store = Media.memory("store", new BlockGeometry(BLOCK_SIZE, 512))) {
            VolumeTesting.write(data, 0, new byte[BLOCKS * BLOCK_SIZE], false); // every chunk allocated: data
            SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults());
            VolumeTesting.write(volume, 3000, VolumeTesting.randomBytes(random, 100 * BLOCK_SIZE), true);
            volume.createSnapshot("keep");
            assertThat(volume.storeUsage().storeBlocks()).isLessThan(BLOCKS);
            SnapshotVolume.OverwriteCost cost = volume.requireRoomToOverwrite(List.of(Extent.of(0, BLOCKS)), "a restore");
            assertThat(cost.mappingEntriesNeeded()).isEqualTo(BLOCKS);
            assertThat(cost.storeBlocksNeeded()).as("the blocks that are not zeros").isEqualTo(100);
            assertThat(cost.fits()).isTrue();
            volume.close();
        }
    }

    @Test
    void anOverwriteTheStoreCannotHoldIsRefusedBeforeItsFirstWriteUnlessThePolicyDeletesSnapshots() {
        for (StoreFullPolicy policy : StoreFullPolicy.values()) {
            Random random = new Random(6);
            try (BlockDevice data = Media.memory("data", new BlockGeometry(BLOCK_SIZE, BLOCKS));
                 BlockDevice store = Media.memory("store", new BlockGeometry(BLOCK_SIZE, 512))) {
                SnapshotVolume volume = SnapshotVolume.format(data, store,
                        SnapshotConfig.defaults().withStoreFullPolicy(policy));
                byte[] original = VolumeTesting.randomBytes(random, 4 * CHUNK_BLOCKS * BLOCK_SIZE);
                VolumeTesting.write(volume, 0, original, true);
                volume.createSnapshot("keep");
                long pool = volume.storeUsage().storeBlocks();
                assertThat(pool).isLessThan(4 * CHUNK_BLOCKS);
                List<Extent> whole = List.of(Extent.of(0, BLOCKS));
                byte[] dataBefore = VolumeTesting.read(data, 0, 4 * CHUNK_BLOCKS);
                SnapshotVolume.StoreUsage usage = volume.storeUsage();
                if (policy == StoreFullPolicy.REFUSE_WRITE) {
                    assertThatThrownBy(() -> volume.requireRoomToOverwrite(whole, "restore of image full"))
                            .isInstanceOf(SnapshotException.class)
                            .satisfies(e -> assertThat(((SnapshotException) e).code()).isEqualTo(SnapshotError.STORE_FULL))
                            .hasMessageContaining("restore of image full may overwrite " + BLOCKS + " blocks, " + BLOCKS
                                    + " of them with old contents 1 snapshot(s) still need")
                            .hasMessageContaining("up to " + 4 * CHUNK_BLOCKS + " snapshot store blocks for their copies,"
                                    + " but " + pool + " of " + pool + " are free")
                            .hasMessageContaining("nothing was written");
                } else {
                    SnapshotVolume.OverwriteCost cost = volume.requireRoomToOverwrite(whole, "restore of image full");
                    assertThat(cost.fits()).as("the writes will delete the oldest snapshot instead").isFalse();
                }
                assertThat(volume.storeUsage()).isEqualTo(usage);
                assertThat(VolumeTesting.read(data, 0, 4 * CHUNK_BLOCKS)).isEqualTo(dataBefore);
                assertThat(volume.requireRoomToOverwrite(List.of(Extent.of(0, 10)), "a small write").fits()).isTrue();
                volume.close();
            }
        }
    }
}
