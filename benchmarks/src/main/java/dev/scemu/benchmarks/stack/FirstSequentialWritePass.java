package dev.scemu.benchmarks.stack;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.IoCause;
import dev.scemu.core.NativeMemory;
import dev.scemu.snapshot.SnapshotVolume;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Times the first sequential pass of 1 MiB writes over the {@code RAID5_SNAPSHOT} stack of
 * {@link StackThroughputBenchmark} right after a snapshot (every block copied once), plus the flush:
 * a fresh prefilled stack per round (closed after it), {@code ROUNDS} rounds per JVM so the JIT warms
 * up. Used for same-machine before/after comparisons of the snapshot copy-on-write path (run it
 * against two jars alternately).
 *
 * <p>Usage: {@code FirstSequentialWritePass ROUNDS}
 */
public final class FirstSequentialWritePass {

    private FirstSequentialWritePass() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 12;
        ByteBuffer large = StackThroughputBenchmark.randomDirect(new Random(42), 1 << 20);
        for (int r = 0; r < rounds; r++) {
            List<AutoCloseable> res = new ArrayList<>();
            SnapshotVolume v = (SnapshotVolume) StackThroughputBenchmark.build(StackThroughputBenchmark.StackKind.RAID5_SNAPSHOT, res);
            long blocks = v.blockCount();
            for (long lba = 0; lba < blocks; lba += 256) { StackThroughputBenchmark.stamp(large, 1 << 20, lba); v.write(lba, 256, large, 0); }
            v.flush();
            v.createSnapshot("s");
            long t0 = System.nanoTime();
            long gen = 1000;
            for (long lba = 0; lba + 256 <= blocks; lba += 256) { StackThroughputBenchmark.stamp(large, 1 << 20, ++gen); v.write(lba, 256, large, 0); }
            v.flush();
            long t = System.nanoTime() - t0;
            var m = v.meter().snapshot();
            System.out.printf("round %d: %.1f MB/s first sequential 1 MiB writes after a snapshot (COW ops %d)%n", r, (blocks * 4096) / (t / 1e3), m.issuedWrite(IoCause.COW_COPY).operations());
            for (int i = res.size() - 1; i >= 0; i--) res.get(i).close();
        }
    }
}
