package dev.scemu.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.AnnouncedWrites;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.ForwardingBlockDevice;
import dev.scemu.core.Media;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * A batch commit announces its data writes to the data device before issuing them (md's plug:
 * a RAID-5 below then sets the write-intent bits of all of them with one bitmap page write, see
 * docs/snapshot.md "Batch data writes are announced"): exactly one announcement per commit, which
 * covers every block the commit writes, is open while they are written, and is closed after.
 */
class AnnouncedBatchWritesTest {

    private static final int BLOCK_SIZE = 4096;
    private static final int BLOCKS = 1024;
    private static final int SPREAD = 40; // blocks written after the snapshot, 7 apart: one run each

    /** Records announcements and which writes arrived while one covering them was open. */
    private static final class Recording extends ForwardingBlockDevice {
        final List<TreeSet<Long>> announced = new ArrayList<>();
        int open;
        int closed;
        final TreeSet<Long> writtenInside = new TreeSet<>();
        final TreeSet<Long> writtenOutside = new TreeSet<>();
        TreeSet<Long> current;

        Recording(BlockDevice inner) {
            super(inner.name(), inner, true);
        }

        @Override
        public synchronized AnnouncedWrites announceWrites(long[] lbas, int[] counts, int n) {
            AnnouncedWrites below = super.announceWrites(lbas, counts, n);
            TreeSet<Long> blocks = new TreeSet<>();
            for (int i = 0; i < n; i++) {
                for (int b = 0; b < counts[i]; b++) {
                    blocks.add(lbas[i] + b);
                }
            }
            announced.add(blocks);
            current = blocks;
            open++;
            boolean[] done = {false};
            return () -> {
                synchronized (Recording.this) {
                    if (!done[0]) {
                        done[0] = true;
                        closed++;
                        current = null;
                    }
                }
                below.close();
            };
        }

        @Override
        protected synchronized void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
            for (int b = 0; b < blockCount; b++) {
                (current != null && current.contains(lba + b) ? writtenInside : writtenOutside).add(lba + b);
            }
            super.doWrite(lba, blockCount, buffer, bufferOffset, fua);
        }
    }

    @Test
    void aCommitAnnouncesExactlyTheBlocksItWritesAndClosesAfterThem() {
        Recording data = new Recording(Media.memory("data", new BlockGeometry(BLOCK_SIZE, BLOCKS)));
        BlockDevice store = Media.memory("store", new BlockGeometry(BLOCK_SIZE, 2048));
        Random random = new Random(7);
        try (data; store; SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults())) {
            VolumeTesting.write(volume, 0, VolumeTesting.randomBytes(random, BLOCKS * BLOCK_SIZE), false);
            volume.flush();
            long snapshot = volume.createSnapshot("before").id();
            assertThat(data.announced).as("writes in place (no batch) announce nothing").isEmpty();
            TreeSet<Long> expected = new TreeSet<>();
            for (int i = 0; i < SPREAD; i++) {
                long lba = 7L * i + 3;
                VolumeTesting.write(volume, lba, VolumeTesting.randomBytes(random, BLOCK_SIZE), false);
                expected.add(lba);
            }
            synchronized (data) {
                data.writtenInside.clear();
                data.writtenOutside.clear();
            }
            assertThat(data.announced).as("nothing committed before the flush").isEmpty();
            volume.flush(); // commits the batch: journal, sync, then the new data
            synchronized (data) {
                assertThat(data.announced).hasSize(1);
                assertThat(data.announced.get(0)).isEqualTo(expected);
                assertThat(data.writtenInside).isEqualTo(expected);
                assertThat(data.writtenOutside).isEmpty();
                assertThat(data.open).isEqualTo(1);
                assertThat(data.closed).isEqualTo(1);
            }
            assertThat(volume.snapshot(snapshot).blockCount()).isEqualTo(BLOCKS);
        }
    }
}
