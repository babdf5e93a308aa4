package dev.scemu.unit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.Extent;
import dev.scemu.snapshot.SnapshotError;
import dev.scemu.snapshot.SnapshotException;
import dev.scemu.snapshot.SnapshotVolume;
import dev.scemu.core.MediaKind;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A bulk overwrite of a unit's volume (a restore) weighed before its first write
 * ({@code SnapshotVolume.overwriteCost}, {@code requireRoomToOverwrite}) through the unit's stack:
 * the store blocks the copies may take count only blocks where the RAID-5 data partition may hold
 * data, so a full overwrite of a mostly empty volume with a snapshot fits a store a fraction of
 * its size, and one whose copies cannot fit is refused with nothing written.
 */
class OverwriteRoomTest {

    private static final int BLOCK = 4096;

    @TempDir
    Path tmp;

    /** Memory-mapped member files: their allocation map is SEEK_DATA's, block by block (memory's is 2 MiB chunks). */
    private UnitConfig small(String name) {
        return UnitConfig.builder().directory(tmp.resolve(name)).media(MediaKind.MAPPED).disks(4, 16L << 20)
                .chunkBytes(64 << 10).snapshotStoreBytes(12L << 20).seed(71).build();
    }

    @Test
    void theCopiesOfAWholeVolumeOverwriteCountOnlyTheDataASnapshotNeeds() {
        try (StorageControlUnit unit = StorageControlUnit.create(small("sparse"))) {
            BlockDevice host = unit.host();
            SnapshotVolume snapshots = unit.snapshots();
            write(host, 1000, 600, new Random(1));
            snapshots.createSnapshot("keep");
            List<Extent> whole = List.of(Extent.of(0, host.blockCount()));
            SnapshotVolume.OverwriteCost cost = snapshots.requireRoomToOverwrite(whole, "a whole-volume overwrite");
            assertThat(cost.fits()).isTrue();
            assertThat(cost.mappingEntriesNeeded()).as("every block was written before the snapshot (or never)")
                    .isEqualTo(host.blockCount());
            assertThat(cost.storeBlocksNeeded()).as("the written blocks and the parts of their stripe rows the"
                    + " members report as data, not the %d blocks of the volume", host.blockCount())
                    .isBetween(600L, 600L + 4 * 48);

            SnapshotVolume.StoreUsage before = snapshots.storeUsage();
            write(host, 0, (int) host.blockCount(), new Random(2));
            SnapshotVolume.StoreUsage after = snapshots.storeUsage();
            assertThat(after.usedStoreBlocks() - before.usedStoreBlocks()).as("copies taken")
                    .isEqualTo(600).isLessThanOrEqualTo(cost.storeBlocksNeeded());
            assertThat(after.mappingEntries() - before.mappingEntries()).isEqualTo(cost.mappingEntriesNeeded());
        }
    }

    @Test
    void anOverwriteWhoseCopiesCannotFitIsRefusedWithNothingWritten() {
        try (StorageControlUnit unit = StorageControlUnit.create(small("dense"))) {
            BlockDevice host = unit.host();
            SnapshotVolume snapshots = unit.snapshots();
            write(host, 0, 4096, new Random(3));
            snapshots.createSnapshot("keep");
            SnapshotVolume.StoreUsage usage = snapshots.storeUsage();
            long writtenBefore = unit.array().meter().snapshot().receivedWrite().bytes();
            assertThatThrownBy(() -> snapshots.requireRoomToOverwrite(List.of(Extent.of(0, host.blockCount())),
                    "restore of image full"))
                    .isInstanceOf(SnapshotException.class)
                    .satisfies(e -> assertThat(((SnapshotException) e).code()).isEqualTo(SnapshotError.STORE_FULL))
                    .hasMessageContaining("restore of image full may overwrite " + host.blockCount() + " blocks")
                    .hasMessageContaining("but " + usage.storeBlocks() + " of " + usage.storeBlocks() + " are free");
            assertThat(snapshots.storeUsage()).isEqualTo(usage);
            assertThat(unit.array().meter().snapshot().receivedWrite().bytes()).as("nothing written")
                    .isEqualTo(writtenBefore);
        }
    }

    private static void write(BlockDevice host, long lba, int blocks, Random random) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(256 * BLOCK);
        byte[] bytes = new byte[buffer.capacity()];
        for (int done = 0; done < blocks; done += 256) {
            int run = Math.min(256, blocks - done);
            random.nextBytes(bytes);
            buffer.put(0, bytes);
            host.write(lba + done, run, buffer, 0);
        }
        host.flush();
    }
}
