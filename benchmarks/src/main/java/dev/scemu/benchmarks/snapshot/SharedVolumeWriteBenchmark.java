package dev.scemu.benchmarks.snapshot;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import dev.scemu.core.NativeMemory;
import dev.scemu.snapshot.SnapshotConfig;
import dev.scemu.snapshot.SnapshotVolume;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * 4 KiB writes of new data from every JMH thread to ONE shared {@link SnapshotVolume} (unlike
 * {@link SnapshotWriteBenchmark}, whose state is per thread, so its {@code -t 4} measures four
 * volumes): what the volume's locking lets through when several host queues write at once. Run it
 * with {@code -t 1} and {@code -t 4}; the ratio of the two is the figure.
 *
 * <p>Data {@value #DATA_BLOCKS} blocks (128 MiB) on {@link Media#memory}, store twice that (room to
 * copy every block once), {@link SnapshotConfig#defaults()}, prefilled with non-zero data, then
 * {@code snapshots} snapshots. Each thread writes at random blocks of its own generator:
 * <ul>
 *   <li>{@code randomWrite4k}: no flush; with a snapshot, the first write to a block copies the
 *       old one (COW batch, group commit every 64 copies), later ones overwrite in place;</li>
 *   <li>{@code randomWrite4kFua}: every 16th write of a thread is FUA (commits the COW batch and
 *       flushes, shared by the writers that wait for the same commit).</li>
 * </ul>
 * The volume is flushed after every iteration (outside the measurement).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class SharedVolumeWriteBenchmark {

    static final int BLOCK_SIZE = 4096;
    static final int DATA_BLOCKS = 32 * 1024;
    static final int PREFILL_BLOCKS = 64;

    @Param({"0", "1"})
    public int snapshots;

    /**
     * Service time of every read, write and flush of the data and store devices, in microseconds
     * (0: memory speed). With a device latency the figure depends on how many requests the volume
     * lets reach the devices at once, not on free CPU: the shape of a real disk under a NAS, and a
     * measurement the load of a shared machine cannot blur.
     */
    @Param({"0", "200"})
    public int latencyMicros;

    private BlockDevice data;
    private BlockDevice store;
    SnapshotVolume volume;
    private final AtomicInteger threadSeeds = new AtomicInteger();

    @Setup(Level.Trial)
    public void setUp() {
        data = Media.memory("data", new BlockGeometry(BLOCK_SIZE, DATA_BLOCKS));
        store = Media.memory("store", new BlockGeometry(BLOCK_SIZE, 2 * DATA_BLOCKS + 4096));
        volume = SnapshotVolume.format(new LatencyDevice(data, 0), new LatencyDevice(store, 0), SnapshotConfig.defaults());
        ByteBuffer prefill = NativeMemory.allocateAligned(PREFILL_BLOCKS * BLOCK_SIZE, 4096);
        SplittableRandom random = new SplittableRandom(42);
        for (int i = 0; i < PREFILL_BLOCKS * BLOCK_SIZE; i += 8) {
            prefill.putLong(i, random.nextLong());
        }
        for (long lba = 0; lba < DATA_BLOCKS; lba += PREFILL_BLOCKS) {
            prefill.putLong(0, lba);
            volume.write(lba, PREFILL_BLOCKS, prefill, 0);
        }
        volume.flush();
        for (int i = 0; i < snapshots; i++) {
            volume.createSnapshot("s" + i);
        }
        if (latencyMicros > 0) { // reopen over slow devices (the prefill above ran at memory speed)
            volume.close();
            volume = SnapshotVolume.open(new LatencyDevice(data, latencyMicros), new LatencyDevice(store, latencyMicros));
        }
    }

    /** A device over another that spends {@code micros} in every read, write and flush (parked, not spinning). */
    static final class LatencyDevice extends dev.scemu.core.AbstractBlockDevice {
        private final BlockDevice inner;
        private final long nanos;

        LatencyDevice(BlockDevice inner, int micros) {
            super(inner.name(), inner.geometry());
            this.inner = inner;
            this.nanos = micros * 1000L;
        }

        private void serve() {
            if (nanos > 0) {
                java.util.concurrent.locks.LockSupport.parkNanos(nanos);
            }
        }

        @Override
        protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
            serve();
            inner.read(lba, blockCount, buffer, bufferOffset);
        }

        @Override
        protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
            serve();
            inner.write(lba, blockCount, buffer, bufferOffset, fua);
        }

        @Override
        protected void doFlush() {
            serve();
            inner.flush();
        }

        @Override
        protected void doTrim(long lba, long blockCount) {
            serve();
            inner.trim(lba, blockCount);
        }

        @Override
        protected void doClose() {
            // the benchmark closes the inner device
        }
    }

    @TearDown(Level.Iteration)
    public void flushIteration() {
        volume.flush();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        volume.close();
        data.close();
        store.close();
    }

    /** One writer: its own block buffer and generator. */
    @State(Scope.Thread)
    public static class Writer {
        ByteBuffer block;
        SplittableRandom random;
        long generation;
        int count;

        @Setup(Level.Trial)
        public void setUp(SharedVolumeWriteBenchmark bench) {
            block = NativeMemory.allocateAligned(BLOCK_SIZE, 4096);
            random = new SplittableRandom(1000 + bench.threadSeeds.incrementAndGet());
            for (int i = 0; i < BLOCK_SIZE; i += 8) {
                block.putLong(i, random.nextLong());
            }
        }
    }

    @Benchmark
    public void randomWrite4k(Writer w) {
        long lba = w.random.nextInt(DATA_BLOCKS);
        w.block.putLong(0, lba);
        w.block.putLong(8, ++w.generation);
        volume.write(lba, 1, w.block, 0);
    }

    @Benchmark
    public void randomWrite4kFua(Writer w) {
        long lba = w.random.nextInt(DATA_BLOCKS);
        w.block.putLong(0, lba);
        w.block.putLong(8, ++w.generation);
        volume.write(lba, 1, w.block, 0, (++w.count & 15) == 0);
    }
}
