package dev.scemu.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A rough in-test report (not a benchmark: JMH belongs to the benchmarks module): 4 KiB random
 * writes with and without an active snapshot, and the diff compare beside a memory copy. Prints
 * ratios measured in one run; asserts only sanity.
 */
class ThroughputReportTest {

    private static final int BLOCK_SIZE = 4096;
    private static final int BLOCKS = 16_384; // 64 MiB

    @Test
    void reportsRandomWriteThroughputAndCompareSpeed() {
        double plain = 0;
        double withSnapshot = 0;
        for (int round = 0; round < 3; round++) { // best of 3: the first rounds warm the JIT up
            plain = Math.max(plain, randomWritesPerSecond(false));
            withSnapshot = Math.max(withSnapshot, randomWritesPerSecond(true));
        }
        System.out.printf("4 KiB random writes (memory media): no snapshot %.0f/s, first writes after a snapshot %.0f/s (%.2fx)%n",
                plain, withSnapshot, withSnapshot / plain);

        ByteBuffer a = ByteBuffer.allocateDirect(64 << 20);
        ByteBuffer b = ByteBuffer.allocateDirect(64 << 20);
        byte[] chunk = new byte[1 << 20];
        new Random(1).nextBytes(chunk);
        for (int i = 0; i < 64; i++) {
            a.put(i << 20, chunk);
            b.put(i << 20, chunk);
        }
        double compare = Double.MAX_VALUE;
        double copy = Double.MAX_VALUE;
        for (int round = 0; round < 5; round++) {
            long t0 = System.nanoTime();
            assertThat(a.duplicate().mismatch(b.duplicate())).isEqualTo(-1);
            long t1 = System.nanoTime();
            b.duplicate().put(a.duplicate());
            long t2 = System.nanoTime();
            compare = Math.min(compare, t1 - t0);
            copy = Math.min(copy, t2 - t1);
        }
        double gbps = 1e9 / (1 << 30);
        System.out.printf("diff compare of equal 64 MiB: %.1f GiB/s; memory copy: %.1f GiB/s (compare/copy %.2f)%n",
                (64.0 / 1024) / (compare / 1e9), (64.0 / 1024) / (copy / 1e9), copy / compare);
        assertThat(gbps).isPositive();
    }

    private static double randomWritesPerSecond(boolean snapshot) {
        try (BlockDevice data = Media.memory("data", new BlockGeometry(BLOCK_SIZE, BLOCKS));
             BlockDevice store = Media.memory("store", new BlockGeometry(BLOCK_SIZE, BLOCKS + 2048))) {
            SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults());
            Random random = new Random(5);
            ByteBuffer big = ByteBuffer.allocateDirect(256 * BLOCK_SIZE);
            for (int lba = 0; lba < BLOCKS; lba += 256) {
                for (int at = 0; at < big.capacity(); at += 8) {
                    big.putLong(at, (lba * 0x9E3779B97F4A7C15L) ^ at);
                }
                volume.write(lba, 256, big, 0);
            }
            volume.flush();
            if (snapshot) {
                volume.createSnapshot("active");
            }
            ByteBuffer block = ByteBuffer.allocateDirect(BLOCK_SIZE);
            int writes = 8192;
            long start = System.nanoTime();
            for (int i = 0; i < writes; i++) {
                block.putLong(0, i * 0x9E3779B97F4A7C15L);
                block.putLong(8, i);
                volume.write(random.nextInt(BLOCKS), 1, block, 0);
            }
            volume.flush();
            long elapsed = System.nanoTime() - start;
            volume.close();
            return writes / (elapsed / 1e9);
        }
    }
}
