package dev.scemu.benchmarks.snapshot;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.IoCause;
import dev.scemu.core.IoMeter;
import dev.scemu.core.Media;
import dev.scemu.core.NativeMemory;
import dev.scemu.snapshot.SnapshotConfig;
import dev.scemu.snapshot.SnapshotVolume;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.TimeUnit;
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
 * 4 KiB writes to a {@link SnapshotVolume} over two {@link Media#memory} devices (data
 * {@value #DATA_BLOCKS} blocks = 128 MiB, store big enough to preserve every data block once),
 * formatted with {@link SnapshotConfig#defaults()}, prefilled, then {@link #snapshots} snapshots
 * taken (no writes between them, so they share one copy per block):
 * <ul>
 *   <li>{@code firstWrite4k}: new data, each write the first to its block since the snapshots were
 *       taken (copy-on-write of the old block; single-shot batches, snapshots rotated before each);</li>
 *   <li>{@code randomWrite4k}: new data at random blocks out of a set of {@value #OFFSETS}: after
 *       the first pass, overwrites of blocks already copied (steady state);</li>
 *   <li>{@code rewriteIdentical4k}: the same bytes the block already holds (compared and skipped);</li>
 *   <li>{@code memoryCopy4k}: 4 KiB into a random offset of a 128 MiB buffer (the ceiling);</li>
 *   <li>{@code diffCompare4k}: {@code ByteBuffer.mismatch} of two equal 4 KiB direct buffers, the
 *       compare that decides whether a block changed (beside {@code memoryCopy4k}).</li>
 * </ul>
 * No flush inside the measured operation; the volume is flushed after every iteration (outside the
 * measurement). The trial teardown prints the write amplification by cause (issued bytes ÷ host
 * bytes received) of the measured writes, warmup included, snapshot creation excluded.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class SnapshotWriteBenchmark {

    static final int BLOCK_SIZE = 4096;
    static final int DATA_BLOCKS = 32 * 1024;
    /** Lazily allocated: room for the copies of every rotated snapshot of a long firstWrite4k run. */
    static final int STORE_BLOCKS = 3 * DATA_BLOCKS;
    /** Writes per firstWrite4k batch (one single-shot measurement). */
    static final int FIRST_WRITE_BATCH = 4096;
    static final int OFFSETS = 8192;
    static final int PREFILL_BLOCKS = 64;

    @Param({"0", "1", "16"})
    public int snapshots;

    private BlockDevice data;
    private BlockDevice store;
    private SnapshotVolume volume;
    private ByteBuffer block;
    private ByteBuffer compareA;
    private ByteBuffer compareB;
    private ByteBuffer ceiling;
    private long[] lbas;
    private int next;
    private long generation;
    private String measured = "";
    private long[] permutation;
    private int permutationCursor;
    private int snapshotSerial;
    private long sumHost;
    private long sumHostIssued;
    private long sumCow;
    private long sumJournal;
    private long sumMetadata;
    private long sumIssued;
    private long sumSkipped;
    private long sumOperations;

    @Setup(Level.Trial)
    public void setUp() {
        data = Media.memory("data", new BlockGeometry(BLOCK_SIZE, DATA_BLOCKS));
        store = Media.memory("store", new BlockGeometry(BLOCK_SIZE, STORE_BLOCKS));
        volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults());
        Random random = new Random(42);
        byte[] pattern = new byte[BLOCK_SIZE];
        random.nextBytes(pattern);
        // every block: the same random pattern stamped with its lba (bytes 0..7), generation 0 (bytes 8..15)
        ByteBuffer prefill = NativeMemory.allocateAligned(PREFILL_BLOCKS * BLOCK_SIZE, 4096);
        for (int i = 0; i < PREFILL_BLOCKS; i++) {
            prefill.put(i * BLOCK_SIZE, pattern);
            prefill.putLong(i * BLOCK_SIZE + 8, 0L);
        }
        for (long lba = 0; lba < DATA_BLOCKS; lba += PREFILL_BLOCKS) {
            for (int i = 0; i < PREFILL_BLOCKS; i++) {
                prefill.putLong(i * BLOCK_SIZE, lba + i);
            }
            volume.write(lba, PREFILL_BLOCKS, prefill, 0);
        }
        volume.flush();
        for (int i = 0; i < snapshots; i++) {
            volume.createSnapshot("s" + snapshotSerial++);
        }
        block = NativeMemory.allocateAligned(BLOCK_SIZE, 4096);
        block.put(0, pattern);
        block.putLong(8, 0L);
        compareA = NativeMemory.allocateAligned(BLOCK_SIZE, 4096);
        compareB = NativeMemory.allocateAligned(BLOCK_SIZE, 4096);
        compareA.put(0, pattern);
        compareB.put(0, pattern);
        ceiling = NativeMemory.allocateAligned(DATA_BLOCKS * BLOCK_SIZE, 4096);
        for (int lba = 0; lba < DATA_BLOCKS; lba++) {
            ceiling.put(lba * BLOCK_SIZE, pattern);
        }
        lbas = new long[OFFSETS];
        for (int i = 0; i < OFFSETS; i++) {
            lbas[i] = (random.nextLong() & Long.MAX_VALUE) % DATA_BLOCKS;
        }
        permutation = new long[DATA_BLOCKS];
        for (int i = 0; i < DATA_BLOCKS; i++) {
            permutation[i] = i;
        }
        for (int i = DATA_BLOCKS - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            long t = permutation[i];
            permutation[i] = permutation[j];
            permutation[j] = t;
        }
        volume.meter().reset();
    }

    /** Flushes (outside the measurement) and adds the iteration's meter to the trial's totals. */
    @TearDown(Level.Iteration)
    public void flushIteration() {
        volume.flush();
        IoMeter.Snapshot m = volume.meter().snapshot();
        sumHost += m.receivedWrite().bytes();
        sumOperations += m.receivedWrite().operations();
        sumSkipped += m.skippedWrite().bytes();
        sumHostIssued += m.issuedWrite(IoCause.HOST).bytes();
        sumCow += m.issuedWrite(IoCause.COW_COPY).bytes();
        sumJournal += m.issuedWrite(IoCause.JOURNAL).bytes();
        sumMetadata += m.issuedWrite(IoCause.METADATA).bytes();
        sumIssued += m.issuedWriteTotal().bytes();
        volume.meter().reset();
    }

    /**
     * State of {@code firstWrite4k}: before every iteration, deletes the oldest snapshot and takes a
     * new one (keeping {@code snapshots} of them), so every block is shared again and each write of
     * the next batch is a first write after the snapshots. Snapshot I/O is not metered.
     */
    @State(Scope.Thread)
    public static class FreshSnapshots {
        @Setup(Level.Iteration)
        public void rotate(SnapshotWriteBenchmark bench) {
            bench.rotateSnapshots();
        }
    }

    void rotateSnapshots() {
        if (snapshots > 0) {
            volume.deleteSnapshot(volume.listSnapshots().get(0).id());
            volume.createSnapshot("s" + snapshotSerial++);
        }
        volume.meter().reset();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (sumHost > 0) {
            double host = sumHost;
            System.out.printf("%nSnapshot WA %s snapshots=%d: COW_COPY %.4f JOURNAL %.4f METADATA %.4f HOST %.4f"
                            + " total %.4f (host writes %d, skipped %.4f, store blocks used %d)%n",
                    measured, snapshots, sumCow / host, sumJournal / host, sumMetadata / host, sumHostIssued / host,
                    sumIssued / host, sumOperations, sumSkipped / host, volume.storeUsage().usedStoreBlocks());
        }
        volume.close();
        data.close();
        store.close();
    }

    private long nextLba() {
        long lba = lbas[next];
        next = (next + 1) & (OFFSETS - 1);
        return lba;
    }

    /**
     * 4 KiB of new data (a fresh generation stamp) at one of {@value #OFFSETS} random blocks: after
     * the first pass these are overwrites of blocks already copied (steady state after a snapshot).
     */
    @Benchmark
    public void randomWrite4k() {
        measured = "randomWrite4k";
        long lba = nextLba();
        block.putLong(0, lba);
        block.putLong(8, ++generation);
        volume.write(lba, 1, block, 0);
    }

    /**
     * First writes: a batch of {@value #FIRST_WRITE_BATCH} writes of new data to distinct blocks, each
     * the first write to its block since the snapshots were (re)taken (see {@link FreshSnapshots}).
     * Single shot: the score is seconds per batch; batch / score = writes per second.
     */
    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @Warmup(batchSize = FIRST_WRITE_BATCH)
    @Measurement(batchSize = FIRST_WRITE_BATCH)
    public void firstWrite4k(FreshSnapshots fresh) {
        measured = "firstWrite4k";
        long lba = permutation[permutationCursor];
        permutationCursor = permutationCursor + 1 == DATA_BLOCKS ? 0 : permutationCursor + 1;
        block.putLong(0, lba);
        block.putLong(8, ++generation);
        volume.write(lba, 1, block, 0);
    }

    /** 4 KiB identical to what the block holds (untouched since the prefill). */
    @Benchmark
    public void rewriteIdentical4k() {
        measured = "rewriteIdentical4k";
        long lba = nextLba();
        block.putLong(0, lba);
        volume.write(lba, 1, block, 0);
    }

    /** Ceiling: 4 KiB into a random offset of a working set as large as the volume. */
    @Benchmark
    public void memoryCopy4k() {
        long offset = nextLba() * BLOCK_SIZE;
        NativeMemory.copy(NativeMemory.address(block), NativeMemory.address(ceiling) + offset, BLOCK_SIZE);
    }

    /** The changed-block test on equal data: full 4 KiB compare, in cache. */
    @Benchmark
    public int diffCompare4k() {
        return compareA.mismatch(compareB);
    }
}
