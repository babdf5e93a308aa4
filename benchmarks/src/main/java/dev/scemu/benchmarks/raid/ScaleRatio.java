package dev.scemu.benchmarks.raid;

import dev.scemu.benchmarks.report.Json;
import dev.scemu.benchmarks.report.SameRunRatios;
import dev.scemu.core.BlockDevice;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link ScaleWriteBenchmark}'s stacks (4 sparse {@value ScaleWriteBenchmark#MEMBER_GIB} GiB
 * mapped-file members on a write-through power domain as {@code scemu serve} opens them, bitmap
 * bits set first) measured as same-run ratios ({@link SameRunRatios}):
 * per stack, one volume in one JVM, rounds of a slice of 4 KiB random writes spread over the whole
 * volume then a slice confined to its first 100 MiB, each from {@code THREADS} writer threads (16 by
 * default: the QD16, in process instead of over NBD); the figure is the median over rounds
 * of spread ÷ confined (target ≥ 0.5, {@code scale.spreadVsConfined.min} of
 * {@code bench/targets.properties}). JMH's scores of the two spans, run minutes apart on this shared
 * 2-vCPU machine, had error bars larger than the scores.
 *
 * <p>The member files are created sparse in a fresh directory under {@code --dir} (default
 * {@code -Dscemu.bench.dir}, else the temporary directory) and deleted when the stack is done, also
 * when it fails. The spread writes of a stack are capped ({@code --max-spread-writes}, default
 * 30,000, shared evenly by the rounds): each may allocate blocks in a hole, and one run of 100,000
 * ran this VM's disk out of space (ENOSPC at the members' flush). A directory on tmpfs is refused: the files' written pages would live in memory, and
 * the measurement is of the disk's file system.
 *
 * <pre>
 * java $SCEMU_JVM_FLAGS -cp benchmarks/target/benchmarks.jar dev.scemu.benchmarks.raid.ScaleRatio OUT.json \
 *     [--dir DIR] [--rounds 8] [--slice-ms 500] [--threads 16] [--max-spread-writes 30000]
 *     [--stacks RAID5,RAID5_SNAPSHOT,RAID0]
 * </pre>
 */
public final class ScaleRatio {

    private ScaleRatio() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            throw new IllegalArgumentException("usage: ScaleRatio OUT.json [--dir DIR] [--rounds N] [--slice-ms MS]"
                    + " [--threads N] [--stacks RAID5,RAID5_SNAPSHOT,RAID0]");
        }
        Path out = Path.of(args[0]);
        Path base = Path.of(System.getProperty("scemu.bench.dir", System.getProperty("java.io.tmpdir")));
        int rounds = 8;
        int sliceMs = 500;
        int threads = 16;
        long maxSpreadWrites = 30_000;
        List<String> stacks = List.of("RAID5", "RAID5_SNAPSHOT", "RAID0");
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--dir" -> base = Path.of(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--slice-ms" -> sliceMs = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--max-spread-writes" -> maxSpreadWrites = Long.parseLong(args[++i]);
                case "--stacks" -> stacks = Arrays.asList(args[++i].split(","));
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        ScaleWriteBenchmark.onDisk(base);
        String fileSystem = Files.getFileStore(base).type();
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("harness", ScaleRatio.class.getName());
        root.put("members", "4 sparse " + ScaleWriteBenchmark.MEMBER_GIB + " GiB mapped files behind"
                + " FaultInjectingDevices on one write-through power domain (as scemu serve), chunk 512 KiB, internal"
                + " bitmap (bits set first)");
        root.put("directory", base.toAbsolutePath().toString());
        root.put("fileSystem", fileSystem);
        root.put("rounds", rounds);
        root.put("sliceMillis", sliceMs);
        root.put("threads", threads);
        root.put("maxSpreadWritesPerStack", maxSpreadWrites);
        root.put("confinedBytes", ScaleWriteBenchmark.CONFINED_BYTES);
        root.put("loadStart", SameRunRatios.load());
        List<Object> results = new ArrayList<>();
        for (String stack : stacks) {
            results.add(measure(stack, base, rounds, sliceMs * 1_000_000L, threads, maxSpreadWrites));
            root.put("stacks", results);
            write(out, root); // what was measured so far survives a later stack's failure
        }
        root.put("loadEnd", SameRunRatios.load());
        write(out, root);
        System.out.println("scale: " + out);
    }

    private static void write(Path out, Map<String, Object> root) throws IOException {
        Path parent = out.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Files.writeString(out, Json.write(root));
    }

    private static Map<String, Object> measure(String stack, Path base, int rounds, long sliceNanos, int threads,
                                               long maxSpreadWrites) throws Exception {
        Path dir = Files.createTempDirectory(base, "scale-");
        List<AutoCloseable> resources = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("stack", stack);
        try {
            long t0 = System.nanoTime();
            BlockDevice volume = ScaleWriteBenchmark.build(stack, false, dir, resources);
            result.put("volumeBytes", volume.blockCount() * volume.blockSize());
            result.put("buildSeconds", (System.nanoTime() - t0) / 1e9);
            if (!stack.equals("RAID0")) {
                long t1 = System.nanoTime();
                ScaleWriteBenchmark.touchEveryBitmapRegion(volume);
                result.put("bitmapTouchSeconds", (System.nanoTime() - t1) / 1e9);
            }
            long confinedBlocks = ScaleWriteBenchmark.CONFINED_BYTES / ScaleWriteBenchmark.BLOCK_SIZE;
            AtomicLong generation = new AtomicLong();
            // each spread write may allocate file system blocks in a hole (ext4 reserves more around
            // them: one run on this VM ran the disk out of space at ~100,000 spread writes per stack),
            // so a spread slice also ends at its share of the budget; a confined slice only at its time
            long spreadBudget = Math.max(1, maxSpreadWrites / (rounds + 1));
            List<SameRunRatios.Case> cases = List.of(
                    new SameRunRatios.Case("spread", round -> slice(pool, volume, volume.blockCount(), threads,
                            sliceNanos, spreadBudget, 2L * round, generation)),
                    new SameRunRatios.Case("confined", round -> slice(pool, volume, confinedBlocks, threads,
                            sliceNanos, Long.MAX_VALUE, 2L * round + 1, generation)));
            double[][] rates = SameRunRatios.measure(cases, 1, rounds);
            result.putAll(SameRunRatios.ratioJson("spread", rates[0], "confined", rates[1]));
            System.out.printf("%s: spread %,.0f IOPS, confined %,.0f IOPS, median spread / confined %.2f (%s)%n", stack,
                    SameRunRatios.median(rates[0]), SameRunRatios.median(rates[1]), result.get("medianRatio"),
                    Arrays.toString(SameRunRatios.ratios(rates[0], rates[1])));
        } finally {
            pool.shutdownNow();
            long t2 = System.nanoTime();
            for (int i = resources.size() - 1; i >= 0; i--) {
                resources.get(i).close();
            }
            long t3 = System.nanoTime();
            try (var files = Files.list(dir)) {
                for (Path file : (Iterable<Path>) files::iterator) {
                    Files.delete(file);
                }
            }
            Files.delete(dir);
            result.put("closeSeconds", (t3 - t2) / 1e9);
            result.put("deleteSeconds", (System.nanoTime() - t3) / 1e9);
            System.out.printf("%s: close (flushes the members) %.1f s, delete %.1f s%n", stack, (t3 - t2) / 1e9,
                    (System.nanoTime() - t3) / 1e9);
        }
        return result;
    }

    /**
     * {@code threads} writers, each a 4 KiB write of new data (a generation number in its first
     * bytes) to a random block below {@code spanBlocks}, for {@code nanos} or until {@code maxWrites}
     * writes in all; returns writes per second.
     */
    private static double slice(ExecutorService pool, BlockDevice volume, long spanBlocks, int threads, long nanos,
                                long maxWrites, long seed, AtomicLong generation) throws Exception {
        AtomicLong budget = new AtomicLong(maxWrites);
        return SameRunRatios.writesPerSecond(pool, threads, nanos, seed * 1000, ScaleWriteBenchmark.BLOCK_SIZE,
                (random, block) -> {
                    if (budget.decrementAndGet() < 0) {
                        return false;
                    }
                    block.putLong(0, generation.incrementAndGet());
                    volume.write(random.nextLong(spanBlocks), 1, block, 0);
                    return true;
                });
    }
}
