package dev.scemu.benchmarks.core;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import dev.scemu.core.NativeMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
 * Random-offset write and read throughput of each media backend for one I/O size, beside a plain
 * memory copy of the same size over a working set of the same size (the ceiling), in one run:
 * {@code memoryCopy} copies out of the working set (the read ceiling), {@code memoryCopyIn} into
 * it (the write ceiling: stores to cold lines cost a read-for-ownership).
 * Throughput in operations per second; multiply by {@code ioBytes} for bytes per second.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class MediaThroughputBenchmark {

    /** Working set of the device and of the memory-copy ceiling. */
    static final long DEVICE_BYTES = 256L << 20;
    static final int BLOCK_SIZE = 4096;
    static final int OFFSETS = 4096;

    @Param({"MEMORY", "MAPPED", "FILE"})
    public String backend;

    @Param({"4096", "1048576"})
    public int ioBytes;

    private BlockDevice device;
    private Path directory;
    private ByteBuffer buffer;
    private ByteBuffer ceilingSource;
    private long[] lbas;
    private int next;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        BlockGeometry geometry = BlockGeometry.ofBytes(BLOCK_SIZE, DEVICE_BYTES);
        device = MediaBackends.open(backend, geometry, this);
        buffer = NativeMemory.allocateAligned(ioBytes, 4096);
        Random random = new Random(42);
        byte[] pattern = new byte[ioBytes];
        random.nextBytes(pattern);
        buffer.put(0, pattern);
        // prefill, so reads touch real pages and file blocks, not holes
        int blocksPerIo = ioBytes / BLOCK_SIZE;
        for (long lba = 0; lba < geometry.blockCount(); lba += blocksPerIo) {
            device.write(lba, blocksPerIo, buffer, 0);
        }
        device.flush();
        ceilingSource = NativeMemory.allocateAligned((int) Math.min(Integer.MAX_VALUE - 4096, DEVICE_BYTES), 4096);
        for (int offset = 0; offset < ceilingSource.capacity(); offset += ioBytes) {
            ceilingSource.put(offset, pattern);
        }
        long slots = DEVICE_BYTES / ioBytes;
        lbas = new long[OFFSETS];
        for (int i = 0; i < OFFSETS; i++) {
            lbas[i] = (random.nextLong() & Long.MAX_VALUE) % slots * blocksPerIo;
        }
    }

    void useDirectory(Path dir) {
        this.directory = dir;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        device.close();
        if (directory != null) {
            try (Stream<Path> paths = Files.walk(directory)) {
                paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private long nextLba() {
        long lba = lbas[next];
        next = (next + 1) & (OFFSETS - 1);
        return lba;
    }

    @Benchmark
    public void write() {
        device.write(nextLba(), ioBytes / BLOCK_SIZE, buffer, 0);
    }

    @Benchmark
    public void read() {
        device.read(nextLba(), ioBytes / BLOCK_SIZE, buffer, 0);
    }

    /** The read ceiling: copy the same number of bytes out of a random offset of an equal working set. */
    @Benchmark
    public void memoryCopy() {
        long offset = nextLba() * BLOCK_SIZE;
        NativeMemory.copy(NativeMemory.address(ceilingSource) + offset, NativeMemory.address(buffer), ioBytes);
    }

    /** The write ceiling: copy the same number of bytes into a random offset of an equal working set. */
    @Benchmark
    public void memoryCopyIn() {
        long offset = nextLba() * BLOCK_SIZE;
        NativeMemory.copy(NativeMemory.address(buffer), NativeMemory.address(ceilingSource) + offset, ioBytes);
    }
}
