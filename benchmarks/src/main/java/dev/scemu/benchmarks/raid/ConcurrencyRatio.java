package dev.scemu.benchmarks.raid;

import dev.scemu.benchmarks.report.Json;
import dev.scemu.benchmarks.report.SameRunRatios;
import dev.scemu.raid.RaidArray;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * {@link RaidConcurrencyBenchmark}'s array and writes, measured the way {@link InterleavedRatios}
 * measures on this shared machine: rounds of a slice with 1 writer thread then a slice with 4, on
 * one array in one JVM ({@link SameRunRatios}, one warm-up round), so load that comes and goes hits
 * both alike; prints, per round, IOPS of each and their ratio, then the median ratio (target ≥ 1.5,
 * {@code raid5.randwrite4k.threads4VsThreads1.min} of {@code bench/targets.properties}); with
 * {@code OUT.json}, writes them for {@code bench/report.sh}'s renderer.
 *
 * <pre>
 * java $SCEMU_JVM_FLAGS -cp benchmarks/target/benchmarks.jar dev.scemu.benchmarks.raid.ConcurrencyRatio [ROUNDS] [SLICE_MS] [OUT.json]
 * </pre>
 */
public final class ConcurrencyRatio {

    /**
     * {@code -Dscemu.bench.cache=emulated} measures members with the emulated volatile cache (the
     * simulation facility) instead of writing through as {@code scemu serve}'s do
     * ({@link RaidConcurrencyBenchmark#cache}).
     */
    static final String CACHE_PROPERTY = "scemu.bench.cache";

    private ConcurrencyRatio() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 15;
        long sliceNanos = (args.length > 1 ? Long.parseLong(args[1]) : 500) * 1_000_000L;
        Path out = args.length > 2 ? Path.of(args[2]) : null;
        String loadStart = SameRunRatios.load();
        boolean emulatedCache = System.getProperty(CACHE_PROPERTY, "writeThrough").equals("emulated");
        RaidArray array = RaidConcurrencyBenchmark.prefilledArray(emulatedCache);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        double[][] rates;
        try {
            List<SameRunRatios.Case> cases = List.of(
                    new SameRunRatios.Case("1 thread", round -> slice(pool, array, 1, sliceNanos, round)),
                    new SameRunRatios.Case("4 threads", round -> slice(pool, array, 4, sliceNanos, round)));
            rates = SameRunRatios.measure(cases, 1, rounds);
        } finally {
            pool.shutdownNow();
            array.close();
        }
        double[] ratios = SameRunRatios.ratios(rates[1], rates[0]);
        for (int r = 0; r < rounds; r++) {
            System.out.printf("round %2d: 1 thread %,9.0f IOPS, 4 threads %,9.0f IOPS, ratio %.2f%n", r, rates[0][r],
                    rates[1][r], ratios[r]);
        }
        System.out.printf("median 4 threads / 1 thread: %.2f (rounds %d, slices %d ms)%n", SameRunRatios.median(ratios),
                rounds, sliceNanos / 1_000_000);
        if (out != null) {
            Map<String, Object> root = new LinkedHashMap<>();
            root.put("harness", ConcurrencyRatio.class.getName());
            root.put("array", "RAID-5 of 4 x " + (RaidConcurrencyBenchmark.MEMBER_BYTES >> 20)
                    + " MiB off-heap members behind FaultInjectingDevices (" + (emulatedCache ? "emulated write cache"
                    : "writing through, as scemu serve") + "), chunk 64 KiB, internal bitmap, prefilled");
            root.put("rounds", rounds);
            root.put("sliceMillis", sliceNanos / 1_000_000);
            root.put("loadStart", loadStart);
            root.put("loadEnd", SameRunRatios.load());
            root.put("threads4VsThreads1", SameRunRatios.ratioJson("4 threads", rates[1], "1 thread", rates[0]));
            Files.createDirectories(out.toAbsolutePath().getParent());
            Files.writeString(out, Json.write(root));
            System.out.println("concurrency: " + out);
        }
    }

    /** Writes 4 KiB blocks at random from {@code threads} threads for {@code nanos}; returns writes per second. */
    private static double slice(ExecutorService pool, RaidArray array, int threads, long nanos, int round)
            throws Exception {
        return SameRunRatios.writesPerSecond(pool, threads, nanos, 31L * round, RaidConcurrencyBenchmark.BLOCK_SIZE,
                (random, block) -> {
                    array.write(random.nextLong(array.blockCount()), 1, block, 0);
                    return true;
                });
    }
}
