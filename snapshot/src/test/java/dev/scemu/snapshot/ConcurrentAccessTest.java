package dev.scemu.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Snapshot views read their frozen contents while writers keep changing the volume. */
class ConcurrentAccessTest {

    private static final int BLOCK_SIZE = 4096;
    private static final int BLOCKS = 512;

    @Test
    void viewsStayFrozenWhileTheVolumeIsWritten() throws Exception {
        try (BlockDevice data = Media.memory("data", new BlockGeometry(BLOCK_SIZE, BLOCKS));
             BlockDevice store = Media.memory("store", new BlockGeometry(BLOCK_SIZE, 4 * BLOCKS))) {
            SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults());
            Random random = new Random(8);
            byte[] v0 = VolumeTesting.randomBytes(random, BLOCKS * BLOCK_SIZE);
            VolumeTesting.write(volume, 0, v0, false);
            SnapshotInfo s0 = volume.createSnapshot("s0");
            byte[] v1 = VolumeTesting.randomBytes(random, BLOCKS * BLOCK_SIZE);
            VolumeTesting.write(volume, 0, v1, false);
            SnapshotInfo s1 = volume.createSnapshot("s1");
            AtomicBoolean stop = new AtomicBoolean();
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<Integer>> readers = new ArrayList<>();
                for (int t = 0; t < 2; t++) {
                    long id = t == 0 ? s0.id() : s1.id();
                    byte[] expected = t == 0 ? v0 : v1;
                    readers.add(pool.submit(() -> {
                        BlockDevice view = volume.snapshot(id);
                        Random r = new Random(id);
                        ByteBuffer buffer = ByteBuffer.allocateDirect(16 * BLOCK_SIZE);
                        byte[] actual = new byte[buffer.capacity()];
                        int reads = 0;
                        while (!stop.get() || reads < 200) {
                            int lba = r.nextInt(BLOCKS - 16);
                            view.read(lba, 16, buffer, 0);
                            buffer.get(0, actual);
                            if (!Arrays.equals(actual, 0, actual.length, expected, lba * BLOCK_SIZE, (lba + 16) * BLOCK_SIZE)) {
                                throw new AssertionError("snapshot " + id + " changed at lba " + lba + " after " + reads + " reads");
                            }
                            reads++;
                        }
                        return reads;
                    }));
                }
                List<Future<?>> writers = new ArrayList<>();
                for (int t = 0; t < 2; t++) {
                    int thread = t;
                    writers.add(pool.submit(() -> {
                        Random r = new Random(100 + thread);
                        ByteBuffer block = ByteBuffer.allocateDirect(4 * BLOCK_SIZE);
                        byte[] bytes = new byte[block.capacity()];
                        for (int i = 0; i < 600; i++) {
                            r.nextBytes(bytes);
                            block.put(0, bytes);
                            volume.write(r.nextInt(BLOCKS - 4), 4, block, 0, i % 50 == 0);
                        }
                        return null;
                    }));
                }
                for (Future<?> writer : writers) {
                    writer.get();
                }
                stop.set(true);
                for (Future<Integer> reader : readers) {
                    assertThat(reader.get()).isGreaterThanOrEqualTo(200);
                }
            } finally {
                pool.shutdownNow();
            }
            volume.close();
        }
    }
}
