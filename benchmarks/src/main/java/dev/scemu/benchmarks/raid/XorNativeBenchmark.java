package dev.scemu.benchmarks.raid;

import dev.scemu.core.NativeMemory;
import dev.scemu.raid.internal.Xor;
import dev.scemu.raid.internal.XorKernel;
import java.nio.ByteBuffer;
import java.util.Random;
import java.util.concurrent.TimeUnit;
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
 * The parity-XOR kernels side by side: 4 direct, 4096-aligned sources of {@code bytes} each into a
 * parity buffer (the RAID-5 case), through the raid module's {@code Xor.xor} forced to each
 * {@link XorKernel}, beside the C loop of {@code bench/c/xor.c} ({@code cLoop}, through JNA;
 * needs {@code -Dscemu.bench.clib}, see {@link CBaseline}) and a memory copy of the same source
 * bytes. Throughput x 4 x bytes = source bytes/s.
 * <ul>
 *   <li>{@code bytes=4096}: one 4 KiB block per source, the read-modify-write size (JNA call cost);</li>
 *   <li>{@code bytes=262144}: 4 x 256 KiB, in cache (PERFORMANCE.md's row);</li>
 *   <li>{@code bytes=67108864}: 4 x 64 MiB, out of cache.</li>
 * </ul>
 * <pre>
 * bench/c/run-xor.sh --lib /tmp/libscemuxor.so
 * java $SCEMU_JVM_FLAGS -Dscemu.bench.clib=/tmp/libscemuxor.so -jar benchmarks/target/benchmarks.jar \
 *     XorNativeBenchmark -f 1 -wi 2 -i 3
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class XorNativeBenchmark {

    private static final sun.misc.Unsafe U = UnsafeMemory.UNSAFE;

    @Param({"4096", "262144", "67108864"})
    public int bytes;

    private ByteBuffer[] src;
    private ByteBuffer dst;
    private final long[] addresses = new long[4];
    private long p;
    private final int[] offsets = new int[4];

    @Setup(Level.Trial)
    public void setUp() {
        Random random = new Random(7);
        src = new ByteBuffer[4];
        byte[] pattern = new byte[Math.min(bytes, 1 << 20)];
        for (int i = 0; i < 4; i++) {
            src[i] = NativeMemory.allocateAligned(bytes, 4096);
            for (int o = 0; o < bytes; o += pattern.length) {
                random.nextBytes(pattern);
                src[i].put(o, pattern);
            }
            addresses[i] = NativeMemory.address(src[i]);
        }
        dst = NativeMemory.allocateAligned(bytes, 4096);
        p = NativeMemory.address(dst);
        System.out.println("# XOR kernel selected: " + XorKernel.selected().description() + "; isal available: "
                + XorKernel.ISAL.available());
    }

    @Benchmark
    public ByteBuffer isal() {
        Xor.xor(XorKernel.ISAL, dst, 0, src, offsets, 4, bytes);
        return dst;
    }

    @Benchmark
    public ByteBuffer java() {
        Xor.xor(XorKernel.JAVA, dst, 0, src, offsets, 4, bytes);
        return dst;
    }

    @Benchmark
    public ByteBuffer cLoop() {
        CBaseline.require();
        CBaseline.xor4(p, addresses[0], addresses[1], addresses[2], addresses[3], bytes / 8);
        return dst;
    }

    @Benchmark
    public ByteBuffer memoryCopy() {
        for (int i = 0; i < 4; i++) {
            U.copyMemory(addresses[i], p, bytes);
        }
        return dst;
    }
}
