package dev.scemu.benchmarks.raid;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.Media;
import dev.scemu.core.PowerDomain;
import dev.scemu.core.SliceDevice;
import dev.scemu.raid.RaidArray;
import dev.scemu.raid.RaidConfig;
import dev.scemu.raid.RaidLevel;
import dev.scemu.snapshot.SnapshotConfig;
import dev.scemu.snapshot.SnapshotVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
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
 * Whether the cost of a 4 KiB write depends on the volume's size (#20 item 0): 4 sparse mapped-file
 * members of {@value #MEMBER_GIB} GiB each ({@link Media#mappedFile}, behind a
 * {@link FaultInjectingDevice} on one power domain, as {@code scemu serve} stacks them), chunk
 * 512 KiB, md defaults otherwise (internal bitmap of 64 MiB chunks), created {@code assumeClean}:
 * <ul>
 *   <li>{@code stack}: {@code RAID5} (768 GiB), {@code RAID0} (1 TiB), {@code RAID5_SNAPSHOT}
 *       (the RAID-5 split into a {@value #SNAPSHOT_DATA_GIB} GiB data slice and a store of the rest,
 *       a {@link SnapshotVolume} with one snapshot);</li>
 *   <li>{@code span}: {@code spread} (4 KiB random writes over the whole volume) or
 *       {@code confined} (over its first 100 MiB).</li>
 * </ul>
 * <ul>
 *   <li>{@code cache}: {@code writeThrough} (default: the members on a
 *       {@link PowerDomain#writeThrough} domain, as {@code scemu serve} opens units since the CLI
 *       stopped emulating a volatile cache it cannot lose) or {@code emulated} (a
 *       {@code new PowerDomain(seed)}: each member keeps an undo log of what every unflushed write
 *       replaced, which costs one more read of the old block per member write; the figures before
 *       the fourth #20 session used this).</li>
 * </ul>
 * {@code bench/jmh-ratios.py} reports spread ÷ confined per stack (target ≥ 0.5). Each trial makes
 * fresh files (sparse: a few MB on disk) in {@code -Dscemu.bench.dir} (default the temporary
 * directory; refused on tmpfs) and deletes them. {@link ScaleRatio} measures the same stacks as
 * same-run ratios (what {@code bench/report.sh} runs). Before the measurement every bitmap bit is set (one write per
 * 32 MiB of volume, 16 threads; the time is printed): the first write to each 64 MiB region of a
 * member pays one FUA write of the bitmap page on every member, as in md (3,072 regions per member
 * here), and a volume in use has its bits set; the measured figures are that steady state.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(1)
public class ScaleWriteBenchmark {

    static final int BLOCK_SIZE = 4096;
    static final long MEMBER_GIB = 256;
    static final long SNAPSHOT_DATA_GIB = 256;
    static final long CONFINED_BYTES = 100L << 20;

    @Param({"RAID5", "RAID0", "RAID5_SNAPSHOT"})
    public String stack;

    @Param({"spread", "confined"})
    public String span;

    @Param({"writeThrough"})
    public String cache;

    private Path dir;
    private final List<AutoCloseable> resources = new ArrayList<>();
    private BlockDevice volume;
    private long spanBlocks;

    @State(Scope.Thread)
    public static class Writer {
        final ByteBuffer block = ByteBuffer.allocateDirect(BLOCK_SIZE);
        final SplittableRandom random = new SplittableRandom(Thread.currentThread().getId());
        long generation;
    }

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory(onDisk(Path.of(System.getProperty("scemu.bench.dir",
                System.getProperty("java.io.tmpdir")))), "scale-");
        volume = build(stack, cache.equals("emulated"), dir, resources);
        spanBlocks = span.equals("confined") ? CONFINED_BYTES / BLOCK_SIZE : volume.blockCount();
        if (!stack.equals("RAID0")) {
            long start = System.nanoTime();
            touchEveryBitmapRegion(volume);
            System.out.printf("%n%s: one write per %d MiB of the volume (sets every bitmap bit) took %.1f s%n", stack,
                    TOUCH_STRIDE_BYTES >> 20, (System.nanoTime() - start) / 1e9);
        }
    }

    /**
     * {@code dir}, created if missing, unless it is on tmpfs or ramfs: there the sparse members'
     * written pages would live in memory, and this measures the disk's file system.
     */
    static Path onDisk(Path dir) throws IOException {
        Files.createDirectories(dir);
        String type = Files.getFileStore(dir).type();
        if (type.equals("tmpfs") || type.equals("ramfs")) {
            throw new IllegalArgumentException("bench directory " + dir.toAbsolutePath() + " is on " + type
                    + ": set -Dscemu.bench.dir (ScaleRatio: --dir) to a directory on a disk");
        }
        return dir;
    }

    /** Bytes of volume between the writes that set the bitmap bits before a trial (< 64 MiB per member). */
    static final long TOUCH_STRIDE_BYTES = 32L << 20;

    /**
     * One 4 KiB write every {@value #TOUCH_STRIDE_BYTES} bytes of the volume, from 16 threads (so
     * they share bitmap page writes), before the measurement: every bitmap bit is set, the steady
     * state of a volume in use. Setting a bit costs one FUA write of the bitmap page per member,
     * md's cost too; the time this takes is printed (it is not in the measured figures).
     */
    static void touchEveryBitmapRegion(BlockDevice volume) {
        long strideBlocks = TOUCH_STRIDE_BYTES / BLOCK_SIZE;
        long touches = volume.blockCount() / strideBlocks;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(16);
        try {
            List<java.util.concurrent.Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    ByteBuffer block = ByteBuffer.allocateDirect(BLOCK_SIZE);
                    for (long i = thread; i < touches; i += 16) {
                        volume.write(i * strideBlocks, 1, block, 0);
                    }
                }));
            }
            for (var f : done) {
                f.get();
            }
        } catch (Exception e) {
            throw new IllegalStateException("touching the bitmap regions failed", e);
        } finally {
            pool.shutdownNow();
        }
    }

    /** The stack of {@code kind} (members with an emulated volatile cache or writing through) on fresh sparse member files in {@code dir}; closing the resources closes it. */
    static BlockDevice build(String kind, boolean emulatedCache, Path dir, List<AutoCloseable> resources) {
        PowerDomain power = emulatedCache ? new PowerDomain(1) : PowerDomain.writeThrough(1);
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            members.add(power.attach(Media.mappedFile(dir.resolve("disk" + i + ".img"),
                    BlockGeometry.ofBytes(BLOCK_SIZE, MEMBER_GIB << 30))));
        }
        RaidLevel level = kind.equals("RAID0") ? RaidLevel.RAID0 : RaidLevel.RAID5;
        RaidArray array = RaidArray.create(RaidConfig.builder(level).assumeClean(true).build(), members);
        resources.add(array); // closes the members
        if (!kind.equals("RAID5_SNAPSHOT")) {
            return array;
        }
        long dataBlocks = (SNAPSHOT_DATA_GIB << 30) / BLOCK_SIZE;
        SliceDevice data = SliceDevice.of("data", array, Extent.of(0, dataBlocks));
        SliceDevice store = SliceDevice.of("store", array, Extent.of(dataBlocks, array.blockCount() - dataBlocks));
        resources.add(data);
        resources.add(store);
        SnapshotVolume snapshots = SnapshotVolume.format(data, store, SnapshotConfig.defaults());
        resources.add(snapshots);
        snapshots.createSnapshot("bench");
        return snapshots;
    }

    @Benchmark
    public void write4k(Writer writer) {
        writer.block.putLong(0, ++writer.generation); // new data: the snapshot layer never skips it
        volume.write(writer.random.nextLong(spanBlocks), 1, writer.block, 0);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        for (int i = resources.size() - 1; i >= 0; i--) {
            resources.get(i).close();
        }
        resources.clear();
        try (var files = Files.list(dir)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Files.delete(file);
            }
        }
        Files.delete(dir);
    }
}
