package dev.scemu.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.Allocation;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.Media;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SnapshotVolume#mapAllocation} over a sparse data file: the live volume answers from its
 * data device and its COW batch, a snapshot view answers what the snapshot sees (its preserved
 * blocks), not what the live volume has written since. A trim no snapshot needs is a hole on the
 * data device again; a trim of blocks a snapshot needs keeps the snapshot's data.
 */
class SnapshotAllocationTest {

    private static final int BLOCK = 4096;
    private static final int BLOCKS = 1024;

    @TempDir
    Path dir;

    /** Blocks that are not holes, with their state (holes are the rest), checking the map's shape. */
    private static Map<Long, Allocation> notHoles(BlockDevice device) {
        Map<Long, Allocation> found = new TreeMap<>();
        long[] next = {0};
        device.mapAllocation(0, device.blockCount(), (lba, count, allocation) -> {
            assertThat(lba).isEqualTo(next[0]);
            next[0] = lba + count;
            for (long b = lba; b < lba + count && allocation != Allocation.HOLE; b++) {
                found.put(b, allocation);
            }
            return true;
        });
        assertThat(next[0]).isEqualTo(device.blockCount());
        return found;
    }

    private static ByteBuffer filled(int blocks, int value) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(blocks * BLOCK);
        while (buffer.hasRemaining()) {
            buffer.put((byte) value);
        }
        return buffer.clear();
    }

    private static Map<Long, Allocation> states(Object... pairs) {
        Map<Long, Allocation> map = new TreeMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            map.put(((Number) pairs[i]).longValue(), (Allocation) pairs[i + 1]);
        }
        return map;
    }

    @Test
    void liveVolumeAndSnapshotViewsReportWhatEachSees() {
        try (BlockDevice data = Media.directFile(dir.resolve("data.img"), new BlockGeometry(BLOCK, BLOCKS));
             BlockDevice store = Media.memory("store", new BlockGeometry(BLOCK, BLOCKS + 512));
             SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults().withCowBatchBlocks(16))) {
            assertThat(notHoles(volume)).as("fresh").isEmpty();
            volume.write(10, 3, filled(3, 7), 0, true);
            assertThat(notHoles(volume)).isEqualTo(states(10, Allocation.DATA, 11, Allocation.DATA, 12, Allocation.DATA));

            SnapshotInfo first = volume.createSnapshot("first");
            BlockDevice view = volume.snapshot(first.id());
            volume.write(10, 1, filled(1, 8), 0, true); // overwrite: the old block goes to the COW store
            volume.write(20, 1, filled(1, 9), 0, true); // a hole the snapshot saw: preserved as the zero block
            volume.trim(11, 1);                          // zeros written through the diff path and the file
            assertThat(notHoles(volume)).as("live after writes and a trim").isEqualTo(states(10, Allocation.DATA,
                    11, Allocation.DATA, 12, Allocation.DATA, 20, Allocation.DATA));
            assertThat(notHoles(view)).as("snapshot keeps its own allocation").isEqualTo(states(10, Allocation.DATA,
                    11, Allocation.DATA, 12, Allocation.DATA, 20, Allocation.ZERO));
            List<Allocation> small = new ArrayList<>();
            view.mapAllocation(19, 3, (lba, count, allocation) -> small.add(allocation) || true);
            assertThat(small).containsExactly(Allocation.HOLE, Allocation.ZERO, Allocation.HOLE);

            // a COW write waiting in the batch: the data device still has the hole, the volume does not
            volume.createSnapshot("second");
            volume.write(30, 1, filled(1, 3), 0, false);
            assertThat(data.geometry().blockCount()).isEqualTo(BLOCKS);
            List<Allocation> data30 = new ArrayList<>();
            data.mapAllocation(30, 1, (lba, count, allocation) -> data30.add(allocation));
            assertThat(data30).as("new data still waits in the batch").containsExactly(Allocation.HOLE);
            assertThat(notHoles(volume)).containsEntry(30L, Allocation.DATA);
            volume.flush();
            assertThat(notHoles(volume)).containsEntry(30L, Allocation.DATA);

            assertThatThrownBy(() -> view.mapAllocation(BLOCKS - 1, 2, (a, b, c) -> true))
                    .isInstanceOfSatisfying(CoreException.class, e -> assertThat(e.code()).isEqualTo(CoreError.OUT_OF_RANGE));
            volume.deleteSnapshot(first.id());
            assertThatThrownBy(() -> view.mapAllocation(0, 1, (a, b, c) -> true)).isInstanceOf(RuntimeException.class);
        }
    }

    @Test
    void aTrimNoSnapshotNeedsIsAHoleAgainWhileSnapshotsKeepTheirOldData() {
        try (BlockDevice data = Media.directFile(dir.resolve("trim.img"), new BlockGeometry(BLOCK, BLOCKS));
             BlockDevice store = Media.memory("store", new BlockGeometry(BLOCK, BLOCKS + 512));
             SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults().withCowBatchBlocks(16))) {
            volume.write(100, 70, filled(70, 5), 0, true); // crosses a stripe of the write path
            volume.trim(100, 70);
            assertThat(notHoles(volume)).as("no snapshot: the trim is a hole on the data device").isEmpty();
            assertThat(notHoles(data)).isEmpty();
            assertFilled(volume, 100, 70, 0);

            volume.write(200, 32, filled(32, 6), 0, true);
            SnapshotInfo snap = volume.createSnapshot("s");
            BlockDevice view = volume.snapshot(snap.id());
            volume.write(300, 1, filled(1, 7), 0, true); // after the snapshot: no snapshot needs it
            volume.trim(200, 32);
            volume.trim(300, 1);
            volume.flush();
            assertFilled(volume, 200, 32, 0);
            assertFilled(view, 200, 32, 6);
            assertFilled(volume, 300, 1, 0);
            Map<Long, Allocation> live = notHoles(volume);
            // preserved, then zeros written: blocks 216..231 still wait in the filling batch (16 slots)
            // and stay data; 200..215 filled the first batch, which the run of 216 committed, so no
            // batch holds them and their zeros could be trimmed (the snapshot reads its copies)
            for (long b = 216; b < 232; b++) {
                assertThat(live).as("live block %d still in a batch", b).containsEntry(b, Allocation.DATA);
            }
            assertThat(live).as("committed before the trim's second step").doesNotContainKeys(200L, 215L);
            assertThat(live).as("block 300 no snapshot needs is a hole").doesNotContainKey(300L);
            Map<Long, Allocation> seen = notHoles(view);
            for (long b = 200; b < 232; b++) {
                assertThat(seen).as("snapshot block %d", b).containsEntry(b, Allocation.DATA);
            }
            assertThat(seen).as("the snapshot saw a hole at 300").containsEntry(300L, Allocation.ZERO);

            volume.deleteSnapshot(snap.id());
            volume.trim(200, 32); // nothing needs the old data any more
            assertThat(notHoles(volume)).isEmpty();
            assertFilled(volume, 200, 32, 0);
        }
    }

    private static void assertFilled(BlockDevice device, long lba, int blocks, int value) {
        ByteBuffer back = ByteBuffer.allocateDirect(blocks * BLOCK);
        device.read(lba, blocks, back, 0);
        for (int i = 0; i < blocks * BLOCK; i++) {
            if (back.get(i) != (byte) value) {
                assertThat(back.get(i)).as("%s byte %d of lba %d", device.name(), i, lba).isEqualTo((byte) value);
            }
        }
    }

    @Test
    void largeRangesFindPreservedBlocksByScanningTheMappingTable() {
        long blocks = 1L << 17; // above the per-block lookup limit
        try (BlockDevice data = Media.memory("data", new BlockGeometry(BLOCK, blocks));
             BlockDevice store = Media.memory("store", new BlockGeometry(BLOCK, 4096));
             SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults())) {
            SnapshotInfo snap = volume.createSnapshot("s");
            volume.write(100_000, 1, filled(1, 1), 0, true);
            int chunkBlocks = dev.scemu.core.internal.MemoryBlockDevice.CHUNK_BYTES / BLOCK; // memory media report whole chunks
            Map<Long, Allocation> live = notHoles(volume);
            assertThat(live).hasSize(chunkBlocks).containsEntry(100_000L, Allocation.DATA);
            Map<Long, Allocation> seen = notHoles(volume.snapshot(snap.id()));
            assertThat(seen).hasSize(chunkBlocks).containsEntry(100_000L, Allocation.ZERO);
            seen.remove(100_000L);
            assertThat(seen.values()).containsOnly(Allocation.DATA);
        }
    }
}
