package dev.scemu.benchmarks.snapshot;

import dev.scemu.benchmarks.raid.CBaseline;
import dev.scemu.core.NativeMemory;
import dev.scemu.snapshot.internal.BlockCompare;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The snapshot layer's diff compare (does a written block differ from what it replaces?) against
 * C's {@code memcmp}, on two equal direct, 4096-aligned buffers of {@code bytes} (equal, so every
 * byte is compared, the worst case and the identical-rewrite case):
 * <ul>
 *   <li>{@code scemuEqual}: the compare the snapshot write path calls,
 *       {@code snapshot.internal.BlockCompare.equal} (the intrinsic below 16 KiB, libc
 *       {@code memcmp} through JNA from 16 KiB up);</li>
 *   <li>{@code mismatch}: exactly the shape of {@code snapshot.internal.Buffers.equal} (set limit
 *       and position of both views, {@code ByteBuffer.mismatch});</li>
 *   <li>{@code memcmpC}: libc's {@code memcmp} called 16 times in a C loop ({@code memcmp_reps} of
 *       {@code bench/c/xor.c}, one JNA call per 16 compares: the C figure without the call);</li>
 *   <li>{@code memcmpJna}: one libc {@code memcmp} per JNA direct-mapped call (what calling C from
 *       Java per block would cost).</li>
 *   <li>candidates for a faster Java compare: {@code mismatchNoViews} ({@code mismatch} without
 *       re-setting the views, to see their cost) and {@code unsafeLongs} (4 x 8-byte words per
 *       iteration through {@code Unsafe}, ORed XORs, exit at the first differing 32 bytes).</li>
 * </ul>
 * {@code bytes=4096} is the snapshot block, {@code 65536} a 16-block run (both in cache);
 * {@code bytes=67108864} is out of cache. The target ratio is {@code scemuEqual ÷ memcmpJna}
 * (the same libc call on the same buffers) ≥ 0.9.
 * Throughput x bytes = compared bytes/s (of one buffer).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class CompareBenchmark {

    private static final int C_REPS = 16;
    private static final sun.misc.Unsafe U = net.openhft.chronicle.core.UnsafeMemory.UNSAFE;

    @Param({"4096", "65536", "67108864"})
    public int bytes;

    private ByteBuffer a;
    private ByteBuffer b;
    private long pa;
    private long pb;

    @Setup(Level.Trial)
    public void setUp() {
        Random random = new Random(5);
        a = NativeMemory.allocateAligned(bytes, 4096);
        b = NativeMemory.allocateAligned(bytes, 4096);
        byte[] pattern = new byte[Math.min(bytes, 1 << 20)];
        for (int o = 0; o < bytes; o += pattern.length) {
            random.nextBytes(pattern);
            a.put(o, pattern);
            b.put(o, pattern);
        }
        pa = NativeMemory.address(a);
        pb = NativeMemory.address(b);
    }

    @Benchmark
    public boolean scemuEqual() {
        return BlockCompare.equal(a, 0, b, 0, bytes);
    }

    @Benchmark
    public int mismatch() {
        a.limit(bytes).position(0);
        b.limit(bytes).position(0);
        return a.mismatch(b);
    }

    @Benchmark
    public int mismatchNoViews() {
        return a.mismatch(b);
    }

    @Benchmark
    public long unsafeLongs() {
        long n = bytes;
        long i = 0;
        for (; i <= n - 32; i += 32) {
            long x = (U.getLong(pa + i) ^ U.getLong(pb + i)) | (U.getLong(pa + i + 8) ^ U.getLong(pb + i + 8))
                    | (U.getLong(pa + i + 16) ^ U.getLong(pb + i + 16))
                    | (U.getLong(pa + i + 24) ^ U.getLong(pb + i + 24));
            if (x != 0) {
                return i;
            }
        }
        return -1;
    }

    @Benchmark
    @OperationsPerInvocation(C_REPS)
    public long memcmpC() {
        CBaseline.require();
        return CBaseline.memcmp_reps(pa, pb, bytes, C_REPS);
    }

    @Benchmark
    public int memcmpJna() {
        return CBaseline.LibC.memcmp(pa, pb, bytes);
    }
}
