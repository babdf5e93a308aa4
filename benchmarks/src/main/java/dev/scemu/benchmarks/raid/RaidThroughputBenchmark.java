package dev.scemu.benchmarks.raid;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.IoCause;
import dev.scemu.core.IoMeter;
import dev.scemu.core.Media;
import dev.scemu.core.NativeMemory;
import dev.scemu.raid.RaidArray;
import dev.scemu.raid.RaidConfig;
import dev.scemu.raid.RaidLevel;
import dev.scemu.raid.internal.Xor;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * RAID-5 of 4 off-heap members ({@link Media#memory}, {@value #MEMBER_BYTES} bytes each, chunk
 * {@value #CHUNK_BYTES} bytes, md defaults otherwise: left-symmetric, internal bitmap), created with
 * {@code assumeClean} and prefilled, beside the memory-copy ceiling over an equal working set:
 * <ul>
 *   <li>{@code fullStripeWrite}: 3 x chunk bytes at a random stripe-aligned offset (parity computed,
 *       nothing read); ceiling {@code memoryCopyStripe} (same bytes into a random offset of a buffer
 *       as large as the array);</li>
 *   <li>{@code randomWrite4k}: 4 KiB at a random 4 KiB-aligned offset (read-modify-write of data and
 *       parity); ceiling {@code memoryCopy4k};</li>
 *   <li>{@code parityXor}: the raid module's one-pass parity loop ({@code dev.scemu.raid.internal.Xor},
 *       public but not API) on one stripe, 3 chunks into a parity chunk (in cache);
 *       {@code parityXor4x256k}: 4 sources of 256 KiB into a parity buffer, the in-cache row of
 *       PERFORMANCE.md, beside {@code parityXorPairwise4x256k} (the loop before tuning, same run) and
 *       {@code memoryCopy4x256k} (a copy of the same source bytes). Throughput x source bytes
 *       ({@link #xorSourceBytes}) = source bytes/s. The C reference is {@code bench/c/run-xor.sh},
 *       out-of-cache XOR and loop-shape candidates are in {@link XorKernelBenchmark}.</li>
 * </ul>
 * Operations per second; multiply by the I/O size for bytes per second. The trial teardown prints
 * the array meter's write amplification (bytes issued to members by cause ÷ bytes received) of the
 * measured writes (setup I/O is reset away).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class RaidThroughputBenchmark {

    static final int MEMBERS = 4;
    static final long MEMBER_BYTES = 64L << 20;
    static final int CHUNK_BYTES = 64 * 1024;
    static final int BLOCK_SIZE = 4096;
    static final int STRIPE_DATA_BYTES = (MEMBERS - 1) * CHUNK_BYTES;
    static final int OFFSETS = 4096;
    static final int XOR_LARGE_BYTES = 256 * 1024;

    private RaidArray array;
    private ByteBuffer stripeBuffer;
    private ByteBuffer smallBuffer;
    private ByteBuffer ceiling;
    private long[] stripeLbas;
    private long[] blockLbas;
    private int nextStripe;
    private int nextBlock;
    private ByteBuffer[] xorSources;
    private ByteBuffer xorParity;
    private ByteBuffer[] xorLargeSources;
    private ByteBuffer xorLargeParity;
    private final int[] xorOffsets = new int[4];
    private String measured = "";

    @Setup(Level.Trial)
    public void setUp() {
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < MEMBERS; i++) {
            members.add(Media.memory("member" + i, BlockGeometry.ofBytes(BLOCK_SIZE, MEMBER_BYTES)));
        }
        array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK_BYTES).assumeClean(true).build(),
                members);
        Random random = new Random(42);
        stripeBuffer = randomDirect(random, STRIPE_DATA_BYTES);
        smallBuffer = randomDirect(random, BLOCK_SIZE);
        int stripeBlocks = STRIPE_DATA_BYTES / BLOCK_SIZE;
        long stripes = array.blockCount() / stripeBlocks;
        // prefill every stripe, so members hold real pages and parity is consistent
        for (long s = 0; s < stripes; s++) {
            array.write(s * stripeBlocks, stripeBlocks, stripeBuffer, 0);
        }
        array.flush();
        long arrayBytes = array.blockCount() * BLOCK_SIZE;
        ceiling = NativeMemory.allocateAligned((int) arrayBytes, 4096);
        for (int offset = 0; offset + STRIPE_DATA_BYTES <= arrayBytes; offset += STRIPE_DATA_BYTES) {
            NativeMemory.copy(NativeMemory.address(stripeBuffer), NativeMemory.address(ceiling) + offset,
                    STRIPE_DATA_BYTES);
        }
        stripeLbas = new long[OFFSETS];
        blockLbas = new long[OFFSETS];
        for (int i = 0; i < OFFSETS; i++) {
            stripeLbas[i] = (random.nextLong() & Long.MAX_VALUE) % stripes * stripeBlocks;
            blockLbas[i] = (random.nextLong() & Long.MAX_VALUE) % (stripes * stripeBlocks);
        }
        xorSources = new ByteBuffer[MEMBERS - 1];
        for (int i = 0; i < xorSources.length; i++) {
            xorSources[i] = randomDirect(random, CHUNK_BYTES);
        }
        xorParity = NativeMemory.allocateAligned(CHUNK_BYTES, 4096);
        xorLargeSources = new ByteBuffer[4];
        for (int i = 0; i < xorLargeSources.length; i++) {
            xorLargeSources[i] = randomDirect(random, XOR_LARGE_BYTES);
        }
        xorLargeParity = NativeMemory.allocateAligned(XOR_LARGE_BYTES, 4096);
        array.meter().reset();
    }

    private static ByteBuffer randomDirect(Random random, int bytes) {
        byte[] pattern = new byte[bytes];
        random.nextBytes(pattern);
        ByteBuffer buffer = NativeMemory.allocateAligned(bytes, 4096);
        buffer.put(0, pattern);
        return buffer;
    }

    /** Source bytes per parityXor / parityXor4x256k operation, for the ratio script. */
    public static long xorSourceBytes(String method) {
        return method.equals("parityXor4x256k") || method.equals("parityXorPairwise4x256k")
                || method.equals("memoryCopy4x256k") ? 4L * XOR_LARGE_BYTES : (long) (MEMBERS - 1) * CHUNK_BYTES;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        array.flush();
        IoMeter.Snapshot m = array.meter().snapshot();
        if (m.receivedWrite().bytes() > 0) {
            double host = m.receivedWrite().bytes();
            StringBuilder causes = new StringBuilder();
            for (IoCause cause : IoCause.values()) {
                long bytes = m.issuedWrite(cause).bytes();
                if (bytes > 0) {
                    causes.append(String.format(" %s %.4f", cause, bytes / host));
                }
            }
            System.out.printf("%nRAID-5 WA %s: writeAmplification %.4f (by cause:%s), reads issued per host byte %.4f,"
                            + " host writes %d (%d bytes)%n",
                    measured, m.writeAmplification(), causes, m.issuedReadTotal().bytes() / host,
                    m.receivedWrite().operations(), m.receivedWrite().bytes());
        }
        array.close();
    }

    @Benchmark
    public void fullStripeWrite() {
        measured = "fullStripeWrite";
        long lba = stripeLbas[nextStripe];
        nextStripe = (nextStripe + 1) & (OFFSETS - 1);
        array.write(lba, STRIPE_DATA_BYTES / BLOCK_SIZE, stripeBuffer, 0);
    }

    @Benchmark
    public void randomWrite4k() {
        measured = "randomWrite4k";
        long lba = blockLbas[nextBlock];
        nextBlock = (nextBlock + 1) & (OFFSETS - 1);
        array.write(lba, 1, smallBuffer, 0);
    }

    /** Ceiling of fullStripeWrite: the same bytes into a random stripe-aligned offset of an equal working set. */
    @Benchmark
    public void memoryCopyStripe() {
        long offset = stripeLbas[nextStripe] * BLOCK_SIZE;
        nextStripe = (nextStripe + 1) & (OFFSETS - 1);
        NativeMemory.copy(NativeMemory.address(stripeBuffer), NativeMemory.address(ceiling) + offset, STRIPE_DATA_BYTES);
    }

    /** Ceiling of randomWrite4k: 4 KiB into a random 4 KiB-aligned offset of an equal working set. */
    @Benchmark
    public void memoryCopy4k() {
        long offset = blockLbas[nextBlock] * BLOCK_SIZE;
        nextBlock = (nextBlock + 1) & (OFFSETS - 1);
        NativeMemory.copy(NativeMemory.address(smallBuffer), NativeMemory.address(ceiling) + offset, BLOCK_SIZE);
    }

    /** Parity of one stripe as Raid5Engine computes it: one pass over 3 x 64 KiB of source (in cache). */
    @Benchmark
    public ByteBuffer parityXor() {
        Xor.xor(xorParity, 0, xorSources, xorOffsets, xorSources.length, CHUNK_BYTES);
        return xorParity;
    }

    /** PERFORMANCE.md's in-cache XOR row: 4 sources x 256 KiB into a parity buffer, one pass. */
    @Benchmark
    public ByteBuffer parityXor4x256k() {
        Xor.xor(xorLargeParity, 0, xorLargeSources, xorOffsets, xorLargeSources.length, XOR_LARGE_BYTES);
        return xorLargeParity;
    }

    /** The same parity the way it was computed before tuning (copy + 3 xorInto passes, {@link LegacyXor}). */
    @Benchmark
    public ByteBuffer parityXorPairwise4x256k() {
        LegacyXor.parity(xorLargeParity, xorLargeSources, XOR_LARGE_BYTES);
        return xorLargeParity;
    }

    /** Ceiling of parityXor4x256k: a plain copy of the same 4 x 256 KiB source bytes into the parity buffer. */
    @Benchmark
    public ByteBuffer memoryCopy4x256k() {
        for (ByteBuffer source : xorLargeSources) {
            Xor.copy(xorLargeParity, 0, source, 0, XOR_LARGE_BYTES);
        }
        return xorLargeParity;
    }
}
