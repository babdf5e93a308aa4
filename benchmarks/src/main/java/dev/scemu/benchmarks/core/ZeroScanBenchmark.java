package dev.scemu.benchmarks.core;

import dev.scemu.core.NativeMemory;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Is a 4 KiB block all zeros: {@link NativeMemory#isZero} (the backup's zero-block scan, RAID-5
 * scrub's syndrome check) beside the loop they had before, {@code ByteBuffer.getLong} eight times a
 * step on a big-endian direct buffer, over the blocks of an 8 MiB zeroed buffer (in cache only in
 * part, as a backup's chunk window). Ops are blocks. A cold {@code scemu backup} runs C1 code
 * (the launcher's {@code -XX:TieredStopAtLevel=1} for units up to 4 GiB), so run it both ways:
 *
 * <pre>
 * java -jar benchmarks/target/benchmarks.jar ZeroScanBenchmark -f 1 -wi 2 -i 3 -w 1s -r 1s
 * java -jar benchmarks/target/benchmarks.jar ZeroScanBenchmark -f 1 -wi 2 -i 3 -w 1s -r 1s -jvmArgsAppend -XX:TieredStopAtLevel=1
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class ZeroScanBenchmark {

    static final int BLOCK = 4096;
    static final int WINDOW = 8 << 20;

    private final ByteBuffer window = ByteBuffer.allocateDirect(WINDOW);
    private int offset;

    private int nextOffset() {
        int o = offset;
        offset = o + BLOCK == WINDOW ? 0 : o + BLOCK;
        return o;
    }

    @Benchmark
    public boolean nativeMemoryIsZero() {
        return NativeMemory.isZero(window, nextOffset(), BLOCK);
    }

    @Benchmark
    public boolean byteBufferGetLong() {
        int from = nextOffset();
        int end = from + BLOCK;
        for (int i = from; i < end; i += 64) {
            long or = window.getLong(i) | window.getLong(i + 8) | window.getLong(i + 16) | window.getLong(i + 24)
                    | window.getLong(i + 32) | window.getLong(i + 40) | window.getLong(i + 48) | window.getLong(i + 56);
            if (or != 0) {
                return false;
            }
        }
        return true;
    }
}
