package dev.scemu.benchmarks.raid;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import dev.scemu.core.PowerDomain;
import dev.scemu.raid.RaidArray;
import dev.scemu.raid.RaidConfig;
import dev.scemu.raid.RaidLevel;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * RAID-5 4 KiB random writes from 1 and from 4 threads on one array (#20 target: 4 threads ≥ 1.5 ×
 * one thread): 4 off-heap members of {@value #MEMBER_BYTES} bytes behind {@link
 * dev.scemu.core.FaultInjectingDevice}s on one power domain (as a unit stacks them), chunk 64 KiB,
 * internal bitmap, created {@code assumeClean} and prefilled. JMH's throughput of a
 * {@code @Threads(4)} method is the sum over its threads, so {@code bench/jmh-ratios.py} reports
 * {@code write4kThreads4 ÷ write4kThreads1}. What serialized writers before: one monitor per
 * member ({@code FaultInjectingDevice}) and the bitmap's persist-and-flush under its monitor.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class RaidConcurrencyBenchmark {

    static final int BLOCK_SIZE = 4096;
    static final long MEMBER_BYTES = 256L << 20;

    private RaidArray array;
    private final AtomicLong seeds = new AtomicLong(42);

    @State(Scope.Thread)
    public static class Writer {
        ByteBuffer block;
        SplittableRandom random;

        @Setup(Level.Trial)
        public void setUp(RaidConcurrencyBenchmark shared) {
            block = ByteBuffer.allocateDirect(BLOCK_SIZE);
            random = new SplittableRandom(shared.seeds.incrementAndGet());
        }
    }

    /**
     * {@code writeThrough} (default): the members on a {@link PowerDomain#writeThrough} domain, as
     * {@code scemu serve} opens units; {@code emulated}: each member keeps the emulated volatile
     * cache's undo log (a copy of every block a write replaces, under one monitor per member), the
     * simulation facility, whose copies were 76 % of the writers' samples in the fourth session's
     * JFR.
     */
    @Param({"writeThrough"})
    public String cache;

    @Setup(Level.Trial)
    public void setUp() {
        array = prefilledArray(cache.equals("emulated"));
    }

    /** RAID-5 of 4 off-heap members (an emulated write cache or writing through), chunk 64 KiB, internal bitmap, prefilled. */
    static RaidArray prefilledArray(boolean emulatedCache) {
        PowerDomain power = emulatedCache ? new PowerDomain(1) : PowerDomain.writeThrough(1);
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            members.add(power.attach(Media.memory("member" + i, BlockGeometry.ofBytes(BLOCK_SIZE, MEMBER_BYTES))));
        }
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(64 * 1024).assumeClean(true)
                .build(), members);
        ByteBuffer fill = ByteBuffer.allocateDirect(1 << 20);
        int blocks = fill.capacity() / BLOCK_SIZE;
        for (long lba = 0; lba + blocks <= array.blockCount(); lba += blocks) {
            array.write(lba, blocks, fill, 0);
        }
        array.flush();
        return array;
    }

    private void write(Writer writer) {
        array.write(writer.random.nextLong(array.blockCount()), 1, writer.block, 0);
    }

    @Benchmark
    @Threads(1)
    public void write4kThreads1(Writer writer) {
        write(writer);
    }

    @Benchmark
    @Threads(4)
    public void write4kThreads4(Writer writer) {
        write(writer);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        array.close();
    }
}
