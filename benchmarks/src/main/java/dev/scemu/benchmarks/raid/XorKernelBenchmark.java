package dev.scemu.benchmarks.raid;

import dev.scemu.core.NativeMemory;
import dev.scemu.raid.internal.Xor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import net.openhft.chronicle.core.Jvm;
import net.openhft.chronicle.core.UnsafeMemory;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * Candidate parity-XOR loop shapes, measured side by side (the evidence behind the choice in
 * {@code dev.scemu.raid.internal.Xor}): 4 direct sources of {@code bytes} each into a parity buffer,
 * beside a plain memory copy of the same source bytes. Throughput x 4 x bytes = source bytes/s.
 * <ul>
 *   <li>{@code pairwiseUnsafe}: copy + 3 {@code xorInto} passes, the loop before tuning
 *       ({@link LegacyXor});</li>
 *   <li>{@code onePassUnsafeU4}/{@code U8}: one pass {@code p = a^b^c^d}, Unsafe absolute
 *       accessors, 4 or 8 longs per iteration;</li>
 *   <li>{@code onePassByteBufferU4}/{@code U8}: same over native-order {@code ByteBuffer.getLong/putLong};</li>
 *   <li>{@code onePassChronicle}: Chronicle's {@code UnsafeMemory.MEMORY.readLong/writeLong};</li>
 *   <li>{@code referenceLoop}: the simplest one-pass long loop over ByteBuffers, no unrolling;</li>
 *   <li>{@code xorApi}: the shipped {@code Xor.xor(dst, sources...)} entry point.</li>
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class XorKernelBenchmark {

    private static final sun.misc.Unsafe U = UnsafeMemory.UNSAFE;
    private static final UnsafeMemory M = UnsafeMemory.MEMORY;

    /** 262144 = 4 x 256 KiB in cache (PERFORMANCE.md's row); 67108864 = 4 x 64 MiB out of cache. */
    @Param({"262144", "67108864"})
    public int bytes;

    private ByteBuffer[] src;
    private ByteBuffer dst;
    private long a;
    private long b;
    private long c;
    private long d;
    private long p;
    private final int[] offsets = new int[4];

    @Setup(Level.Trial)
    public void setUp() {
        Random random = new Random(7);
        src = new ByteBuffer[4];
        byte[] pattern = new byte[bytes];
        for (int i = 0; i < 4; i++) {
            random.nextBytes(pattern);
            src[i] = NativeMemory.allocateAligned(bytes, 4096).order(ByteOrder.nativeOrder());
            src[i].put(0, pattern);
        }
        dst = NativeMemory.allocateAligned(bytes, 4096).order(ByteOrder.nativeOrder());
        a = Jvm.address(src[0]);
        b = Jvm.address(src[1]);
        c = Jvm.address(src[2]);
        d = Jvm.address(src[3]);
        p = Jvm.address(dst);
    }

    @Benchmark
    public ByteBuffer memoryCopy() {
        for (int i = 0; i < 4; i++) {
            U.copyMemory(Jvm.address(src[i]), p, bytes);
        }
        return dst;
    }

    @Benchmark
    public ByteBuffer pairwiseUnsafe() {
        LegacyXor.parity(dst, src, bytes);
        return dst;
    }

    @Benchmark
    public ByteBuffer xorApi() {
        Xor.xor(dst, 0, src, offsets, 4, bytes);
        return dst;
    }

    @Benchmark
    public ByteBuffer onePassUnsafeU4() {
        int n = bytes;
        for (long i = 0; i < n; i += 32) {
            U.putLong(p + i, U.getLong(a + i) ^ U.getLong(b + i) ^ U.getLong(c + i) ^ U.getLong(d + i));
            U.putLong(p + i + 8, U.getLong(a + i + 8) ^ U.getLong(b + i + 8) ^ U.getLong(c + i + 8) ^ U.getLong(d + i + 8));
            U.putLong(p + i + 16, U.getLong(a + i + 16) ^ U.getLong(b + i + 16) ^ U.getLong(c + i + 16) ^ U.getLong(d + i + 16));
            U.putLong(p + i + 24, U.getLong(a + i + 24) ^ U.getLong(b + i + 24) ^ U.getLong(c + i + 24) ^ U.getLong(d + i + 24));
        }
        return dst;
    }

    @Benchmark
    public ByteBuffer onePassUnsafeU8() {
        int n = bytes;
        for (long i = 0; i < n; i += 64) {
            for (int k = 0; k < 64; k += 8) {
                long o = i + k;
                U.putLong(p + o, U.getLong(a + o) ^ U.getLong(b + o) ^ U.getLong(c + o) ^ U.getLong(d + o));
            }
        }
        return dst;
    }

    @Benchmark
    public ByteBuffer onePassUnsafeObjBase() {
        Object n0 = null;
        int n = bytes;
        for (long i = 0; i < n; i += 32) {
            for (int k = 0; k < 32; k += 8) {
                long o = i + k;
                U.putLong(n0, p + o, U.getLong(n0, a + o) ^ U.getLong(n0, b + o) ^ U.getLong(n0, c + o)
                        ^ U.getLong(n0, d + o));
            }
        }
        return dst;
    }

    @Benchmark
    public ByteBuffer onePassChronicle() {
        int n = bytes;
        for (long i = 0; i < n; i += 32) {
            for (int k = 0; k < 32; k += 8) {
                long o = i + k;
                M.writeLong(p + o, M.readLong(a + o) ^ M.readLong(b + o) ^ M.readLong(c + o) ^ M.readLong(d + o));
            }
        }
        return dst;
    }

    @Benchmark
    public ByteBuffer onePassByteBufferU4() {
        ByteBuffer s0 = src[0];
        ByteBuffer s1 = src[1];
        ByteBuffer s2 = src[2];
        ByteBuffer s3 = src[3];
        ByteBuffer t = dst;
        int n = bytes;
        for (int i = 0; i < n; i += 32) {
            t.putLong(i, s0.getLong(i) ^ s1.getLong(i) ^ s2.getLong(i) ^ s3.getLong(i));
            t.putLong(i + 8, s0.getLong(i + 8) ^ s1.getLong(i + 8) ^ s2.getLong(i + 8) ^ s3.getLong(i + 8));
            t.putLong(i + 16, s0.getLong(i + 16) ^ s1.getLong(i + 16) ^ s2.getLong(i + 16) ^ s3.getLong(i + 16));
            t.putLong(i + 24, s0.getLong(i + 24) ^ s1.getLong(i + 24) ^ s2.getLong(i + 24) ^ s3.getLong(i + 24));
        }
        return dst;
    }

    @Benchmark
    public ByteBuffer onePassByteBufferU8() {
        ByteBuffer s0 = src[0];
        ByteBuffer s1 = src[1];
        ByteBuffer s2 = src[2];
        ByteBuffer s3 = src[3];
        ByteBuffer t = dst;
        int n = bytes;
        for (int i = 0; i < n; i += 64) {
            for (int k = i; k < i + 64; k += 8) {
                t.putLong(k, s0.getLong(k) ^ s1.getLong(k) ^ s2.getLong(k) ^ s3.getLong(k));
            }
        }
        return dst;
    }

    @Benchmark
    public ByteBuffer referenceLoop() {
        ByteBuffer s0 = src[0];
        ByteBuffer s1 = src[1];
        ByteBuffer s2 = src[2];
        ByteBuffer s3 = src[3];
        ByteBuffer t = dst;
        for (int i = 0; i + 8 <= bytes; i += 8) {
            t.putLong(i, s0.getLong(i) ^ s1.getLong(i) ^ s2.getLong(i) ^ s3.getLong(i));
        }
        return dst;
    }
}
