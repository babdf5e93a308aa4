package dev.scemu.benchmarks.stack;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import dev.scemu.core.Media;
import dev.scemu.core.MediaKind;
import dev.scemu.core.NativeMemory;
import dev.scemu.core.SliceDevice;
import dev.scemu.raid.RaidArray;
import dev.scemu.raid.RaidConfig;
import dev.scemu.raid.RaidLevel;
import dev.scemu.snapshot.SnapshotConfig;
import dev.scemu.snapshot.SnapshotVolume;
import dev.scemu.unit.StorageControlUnit;
import dev.scemu.unit.UnitConfig;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
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
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Throughput of each layer stack for 4 KiB random and 1 MiB sequential reads and writes, beside
 * plain memory copies of the same sizes into / out of a working set as large as the volume (the
 * ceiling, measured in the same run; no {@code stack} parameter, so they run once):
 * <ul>
 *   <li>{@code MEDIA}: one {@link Media#memory} device of {@value #VOLUME_BYTES} bytes;</li>
 *   <li>{@code RAID0} / {@code RAID5}: 4 off-heap members, chunk 64 KiB; {@code RAID1}: 2 members;
 *       each member large enough for a {@value #VOLUME_BYTES}-byte array (created
 *       {@code assumeClean}, internal bitmap, md defaults otherwise);</li>
 *   <li>{@code RAID5_SNAPSHOT}: a RAID-5 of 4 members (216 MiB), split into a data slice of
 *       {@value #VOLUME_BYTES} bytes and a snapshot-store slice (the rest, room for a copy of every block), a {@link SnapshotVolume} ({@link SnapshotConfig#defaults()}) over
 *       them with one active snapshot taken after the prefill.</li>
 *   <li>{@code UNIT_MAPPED}: what {@code scemu serve} exports, built as {@code scemu create} builds
 *       it by default: a {@link StorageControlUnit} with RAID-5 of 4 <em>mapped-file</em> members of
 *       {@value #UNIT_DISK_MIB} MiB in a temporary directory (fault-injecting members in one power
 *       domain, internal bitmap, chunk 64 KiB), its snapshot volume ({@code unit.host()}) with one
 *       snapshot taken after the prefill. The directory is deleted at the end of the trial.</li>
 *   <li>{@code UNIT_MEMORY}: the same unit on off-heap members (no directory), so that
 *       {@code UNIT_MAPPED ÷ UNIT_MEMORY} is the cost of the mapped files alone and
 *       {@code UNIT_MEMORY ÷ RAID5_SNAPSHOT} the cost of the unit's layers (fault-injecting members,
 *       partitions, firmware) over the bare stack.</li>
 * </ul>
 * Every volume is prefilled with random data (seed 42). Writes carry new data (a generation stamp in
 * every 4 KiB block, so the snapshot layer never skips them as identical); with a snapshot, the
 * first write to each block copies it, later ones (most of a run) overwrite copied blocks.
 * Random offsets come from a seeded table; sequential I/O walks the volume in 1 MiB steps and
 * wraps. No flush inside the measured operation; every trial flushes and closes the stack.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1, time = 1)
@Measurement(iterations = 2, time = 1)
@Fork(1)
public class StackThroughputBenchmark {

    static final int BLOCK_SIZE = 4096;
    static final long VOLUME_BYTES = 96L << 20;
    static final int CHUNK_BYTES = 64 * 1024;
    static final int SMALL = 4096;
    static final int LARGE = 1 << 20;
    static final int OFFSETS = 8192;
    /** Room for md's superblock, bitmap and data offset on each member. */
    static final long MEMBER_SLACK_BYTES = 8L << 20;

    /** Random 4 KiB-aligned block numbers and the sequential cursor over {@code blocks} blocks. */
    static final class Offsets {
        final long[] lbas = new long[OFFSETS];
        final long blocks;
        int next;
        long seqLba;

        Offsets(long blocks, long seed) {
            this.blocks = blocks;
            Random random = new Random(seed);
            for (int i = 0; i < OFFSETS; i++) {
                lbas[i] = (random.nextLong() & Long.MAX_VALUE) % blocks;
            }
        }

        long random() {
            long lba = lbas[next];
            next = (next + 1) & (OFFSETS - 1);
            return lba;
        }

        long sequential(int ioBlocks) {
            if (seqLba + ioBlocks > blocks) {
                seqLba = 0;
            }
            long lba = seqLba;
            seqLba += ioBlocks;
            return lba;
        }
    }

    static ByteBuffer randomDirect(Random random, int bytes) {
        byte[] pattern = new byte[bytes];
        random.nextBytes(pattern);
        ByteBuffer buffer = NativeMemory.allocateAligned(bytes, 4096);
        buffer.put(0, pattern);
        return buffer;
    }

    /** Stamps every 4 KiB block of {@code buffer[0, bytes)} with a new generation (new data). */
    static void stamp(ByteBuffer buffer, int bytes, long generation) {
        for (int offset = 0; offset < bytes; offset += BLOCK_SIZE) {
            buffer.putLong(offset + 8, generation);
        }
    }

    /** The layer stacks measured. */
    public enum StackKind { MEDIA, RAID0, RAID1, RAID5, RAID5_SNAPSHOT, UNIT_MAPPED, UNIT_MEMORY }

    /** Size of each mapped-file member of {@code UNIT_MAPPED}. */
    static final int UNIT_DISK_MIB = 64;

    /** One stack per trial, prefilled; closed (off-heap memory freed) at the end of the trial. */
    @State(Scope.Thread)
    public static class Stack {
        @Param({"MEDIA", "RAID0", "RAID1", "RAID5", "RAID5_SNAPSHOT", "UNIT_MAPPED", "UNIT_MEMORY"})
        public StackKind stack;

        BlockDevice device;
        StorageControlUnit unit;
        private final List<AutoCloseable> resources = new ArrayList<>();
        ByteBuffer small;
        ByteBuffer large;
        Offsets offsets;
        long generation;

        @Setup(Level.Trial)
        public void setUp() {
            if (stack == StackKind.UNIT_MAPPED || stack == StackKind.UNIT_MEMORY) {
                unit = buildUnit(stack == StackKind.UNIT_MAPPED, resources);
                device = unit.host();
            } else {
                device = build(stack, resources);
            }
            Random random = new Random(42);
            small = randomDirect(random, SMALL);
            large = randomDirect(random, LARGE);
            int largeBlocks = LARGE / BLOCK_SIZE;
            long blocks = device.blockCount();
            for (long lba = 0; lba < blocks; lba += largeBlocks) {
                int n = (int) Math.min(largeBlocks, blocks - lba);
                stamp(large, n * BLOCK_SIZE, lba);
                device.write(lba, n, large, 0);
            }
            device.flush();
            if (stack == StackKind.RAID5_SNAPSHOT) {
                ((SnapshotVolume) device).createSnapshot("bench");
            } else if (unit != null) {
                unit.snapshots().createSnapshot("bench");
            }
            offsets = new Offsets(blocks, 43);
            device.meter().reset();
        }

        @TearDown(Level.Iteration)
        public void flush() {
            device.flush();
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            for (int i = resources.size() - 1; i >= 0; i--) {
                resources.get(i).close();
            }
            resources.clear();
        }
    }

    static BlockDevice build(StackKind kind, List<AutoCloseable> resources) {
        switch (kind) {
            case MEDIA: {
                BlockDevice media = Media.memory("media", BlockGeometry.ofBytes(BLOCK_SIZE, VOLUME_BYTES));
                resources.add(media);
                return media;
            }
            case RAID0:
                return raid(RaidLevel.RAID0, 4, VOLUME_BYTES / 4, resources);
            case RAID1:
                return raid(RaidLevel.RAID1, 2, VOLUME_BYTES, resources);
            case RAID5:
                return raid(RaidLevel.RAID5, 4, VOLUME_BYTES / 3, resources);
            case RAID5_SNAPSHOT: {
                // 3 x 72 MiB of data: 96 MiB data slice + 120 MiB store (a copy of every data block, the mapping table)
                RaidArray array = raid(RaidLevel.RAID5, 4, 3 * VOLUME_BYTES / 4, resources);
                long dataBlocks = VOLUME_BYTES / BLOCK_SIZE;
                SliceDevice data = SliceDevice.of("data", array, Extent.of(0, dataBlocks));
                SliceDevice store = SliceDevice.of("store", array,
                        Extent.of(dataBlocks, array.blockCount() - dataBlocks));
                resources.add(data);
                resources.add(store);
                SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults());
                resources.add(volume);
                return volume;
            }
            case UNIT_MAPPED:
                return buildUnit(true, resources).host();
            case UNIT_MEMORY:
                return buildUnit(false, resources).host();
            default:
                throw new IllegalArgumentException(kind.name());
        }
    }

    /**
     * The {@code UNIT_MAPPED} stack ({@code mapped}): a unit on mapped files in a temporary directory,
     * as {@code scemu create DIR --level 5 --disks 4 --disk-size 64M} makes it; closing the resources
     * closes the unit and deletes the directory. Without {@code mapped} ({@code UNIT_MEMORY}): the
     * same unit on off-heap members.
     */
    static StorageControlUnit buildUnit(boolean mapped, List<AutoCloseable> resources) {
        UnitConfig.Builder builder = UnitConfig.builder().level(RaidLevel.RAID5)
                .disks(4, (long) UNIT_DISK_MIB << 20).chunkBytes(CHUNK_BYTES);
        if (mapped) {
            try {
                Path dir = Files.createTempDirectory("scemu-bench-unit");
                resources.add(() -> {
                    try (var paths = Files.walk(dir)) {
                        for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                            Files.deleteIfExists(path);
                        }
                    }
                });
                builder.directory(dir.resolve("unit")).media(MediaKind.MAPPED);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        StorageControlUnit unit = StorageControlUnit.create(builder.build());
        resources.add(unit);
        return unit;
    }

    private static RaidArray raid(RaidLevel level, int members, long dataBytesPerMember,
                                  List<AutoCloseable> resources) {
        List<BlockDevice> devices = new ArrayList<>();
        long memberBytes = dataBytesPerMember + MEMBER_SLACK_BYTES;
        for (int i = 0; i < members; i++) {
            devices.add(Media.memory("member" + i, BlockGeometry.ofBytes(BLOCK_SIZE, memberBytes)));
        }
        RaidConfig config = RaidConfig.builder(level).chunkBytes(CHUNK_BYTES).assumeClean(true)
                .arrayBlockCount((level == RaidLevel.RAID1 ? dataBytesPerMember
                        : dataBytesPerMember * (level == RaidLevel.RAID5 ? members - 1 : members)) / BLOCK_SIZE)
                .build();
        RaidArray array = RaidArray.create(config, devices);
        resources.add(array); // closes the members
        return array;
    }

    /** The ceiling's working set: a plain off-heap buffer as large as the volume. */
    @State(Scope.Thread)
    public static class Ceiling {
        ByteBuffer workingSet;
        long base;
        ByteBuffer small;
        ByteBuffer large;
        long smallAddress;
        long largeAddress;
        Offsets offsets;
        long generation;

        @Setup(Level.Trial)
        public void setUp() {
            Random random = new Random(42);
            small = randomDirect(random, SMALL);
            large = randomDirect(random, LARGE);
            smallAddress = NativeMemory.address(small);
            largeAddress = NativeMemory.address(large);
            workingSet = NativeMemory.allocateAligned((int) VOLUME_BYTES, 4096);
            base = NativeMemory.address(workingSet);
            for (long offset = 0; offset < VOLUME_BYTES; offset += LARGE) {
                NativeMemory.copy(largeAddress, base + offset, LARGE);
            }
            offsets = new Offsets(VOLUME_BYTES / BLOCK_SIZE, 43);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            workingSet = null; // a direct buffer: freed by the collector
        }
    }

    @Benchmark
    public void randomWrite4k(Stack s) {
        long lba = s.offsets.random();
        s.small.putLong(8, ++s.generation);
        s.device.write(lba, 1, s.small, 0);
    }

    @Benchmark
    public ByteBuffer randomRead4k(Stack s) {
        s.device.read(s.offsets.random(), 1, s.small, 0);
        return s.small;
    }

    @Benchmark
    public void seqWrite1m(Stack s) {
        int blocks = LARGE / BLOCK_SIZE;
        long lba = s.offsets.sequential(blocks);
        stamp(s.large, LARGE, ++s.generation);
        s.device.write(lba, blocks, s.large, 0);
    }

    @Benchmark
    public ByteBuffer seqRead1m(Stack s) {
        int blocks = LARGE / BLOCK_SIZE;
        s.device.read(s.offsets.sequential(blocks), blocks, s.large, 0);
        return s.large;
    }

    /** Ceiling of randomWrite4k: 4 KiB into a random 4 KiB-aligned offset of the working set. */
    @Benchmark
    public void copyIn4k(Ceiling c) {
        long offset = c.offsets.random() * BLOCK_SIZE;
        c.small.putLong(8, ++c.generation);
        NativeMemory.copy(c.smallAddress, c.base + offset, SMALL);
    }

    /** Ceiling of randomRead4k: 4 KiB out of a random offset of the working set. */
    @Benchmark
    public ByteBuffer copyOut4k(Ceiling c) {
        long offset = c.offsets.random() * BLOCK_SIZE;
        NativeMemory.copy(c.base + offset, c.smallAddress, SMALL);
        return c.small;
    }

    /** Ceiling of seqWrite1m: 1 MiB into the next sequential offset of the working set. */
    @Benchmark
    public void copyIn1m(Ceiling c) {
        long offset = c.offsets.sequential(LARGE / BLOCK_SIZE) * BLOCK_SIZE;
        stamp(c.large, LARGE, ++c.generation);
        NativeMemory.copy(c.largeAddress, c.base + offset, LARGE);
    }

    /** Ceiling of seqRead1m: 1 MiB out of the next sequential offset of the working set. */
    @Benchmark
    public ByteBuffer copyOut1m(Ceiling c) {
        long offset = c.offsets.sequential(LARGE / BLOCK_SIZE) * BLOCK_SIZE;
        NativeMemory.copy(c.base + offset, c.largeAddress, LARGE);
        return c.large;
    }
}
