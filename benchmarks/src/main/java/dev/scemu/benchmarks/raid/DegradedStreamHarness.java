package dev.scemu.benchmarks.raid;

import dev.scemu.benchmarks.report.SameRunRatios;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import dev.scemu.core.PowerDomain;
import dev.scemu.raid.RaidArray;
import dev.scemu.raid.RaidConfig;
import dev.scemu.raid.RaidLevel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One sequential stream of 4 KiB writes into a degraded RAID-5 (4 x 256 MiB members behind a
 * write-through power domain, as {@code scemu serve}'s; 64 KiB chunks; member 1 failed), taken
 * from a shared cursor by {@code THREADS} threads: the next blocks of one row, the case the parity
 * journal's per-column rule and column locks are for (docs/benchmarks.md, "Degraded writes by
 * column"). Prints IOPS per slice.
 *
 * <pre>
 * java $SCEMU_JVM_FLAGS -cp benchmarks/target/benchmarks.jar dev.scemu.benchmarks.raid.DegradedStreamHarness THREADS [memory|mapped] [ROUNDS] [SLICE_MS]
 * </pre>
 * {@code mapped} puts the members in files of a fresh directory under /var/tmp (deleted after).
 */
public final class DegradedStreamHarness {

    private static final int BLOCK = 4096;
    private static final long MEMBER_BYTES = 256L << 20;

    private DegradedStreamHarness() {
    }

    public static void main(String[] args) throws Exception {
        int threads = Integer.parseInt(args[0]);
        boolean mapped = args.length > 1 && args[1].equals("mapped");
        int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 6;
        long sliceNanos = (args.length > 3 ? Long.parseLong(args[3]) : 500) * 1_000_000L;
        Path dir = mapped ? Files.createTempDirectory(Path.of("/var/tmp"), "scemu-degraded-stream") : null;
        PowerDomain domain = PowerDomain.writeThrough(1);
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            BlockGeometry geometry = BlockGeometry.ofBytes(BLOCK, MEMBER_BYTES);
            members.add(domain.attach(mapped ? Media.mappedFile(dir.resolve("m" + i), geometry)
                    : Media.memory("m" + i, geometry)));
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try (RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(64 * 1024)
                .assumeClean(true).build(), members)) {
            array.failMember(1);
            AtomicLong cursor = new AtomicLong();
            for (int round = 0; round < rounds; round++) {
                double iops = SameRunRatios.writesPerSecond(pool, threads, sliceNanos, round, BLOCK, (random, block) -> {
                    block.putLong(0, random.nextLong());
                    array.write(cursor.getAndIncrement() % array.blockCount(), 1, block, 0);
                    return true;
                });
                System.out.printf("round %d: %,.0f IOPS (%d threads, %s members)%n", round, iops, threads,
                        mapped ? "mapped-file" : "memory");
            }
        } finally {
            pool.shutdownNow();
            if (dir != null) {
                try (var files = Files.list(dir)) {
                    for (Path file : files.toList()) {
                        Files.delete(file);
                    }
                }
                Files.delete(dir);
            }
        }
    }
}
