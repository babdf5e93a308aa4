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
 * blocks), not what the live volume has written since.
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
    void largeRangesFindPreservedBlocksByScanningTheMappingTable() {
        long blocks = 1L << 17; // above the per-block lookup limit
        try (BlockDevice data = Media.memory("data", new BlockGeometry(BLOCK, blocks));
             BlockDevice store = Media.memory("store", new BlockGeometry(BLOCK, 4096));
             SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults())) {
            SnapshotInfo snap = volume.createSnapshot("s");
            volume.write(100_000, 1, filled(1, 1), 0, true);
            int chunkBlocks = (1 << 20) / BLOCK; // memory media report whole 1 MiB chunks
            Map<Long, Allocation> live = notHoles(volume);
            assertThat(live).hasSize(chunkBlocks).containsEntry(100_000L, Allocation.DATA);
            Map<Long, Allocation> seen = notHoles(volume.snapshot(snap.id()));
            assertThat(seen).hasSize(chunkBlocks).containsEntry(100_000L, Allocation.ZERO);
            seen.remove(100_000L);
            assertThat(seen.values()).containsOnly(Allocation.DATA);
        }
    }
}
