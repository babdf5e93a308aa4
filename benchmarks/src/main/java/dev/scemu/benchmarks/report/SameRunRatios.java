package dev.scemu.benchmarks.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Same-run ratios on a loaded, shared machine (the one helper of {@code InterleavedRatios},
 * {@code CompareRatios}, {@code ConcurrencyRatio} and {@code ScaleRatio}): the cases of a group run
 * in short slices, one after the other, round after round, in one JVM, so load that comes and goes
 * hits all of them alike; a ratio is the median over rounds of the two cases' rates <em>in the same
 * round</em>. JMH runs one method after the other, which on this 2-vCPU machine shared with other
 * builds moves a ratio by 2x and gives error bars larger than the scores.
 *
 * <p>A rate is whatever the case's slice returns (writes per second, GB/s); only rates of one group
 * are divided by each other.
 */
public final class SameRunRatios {

    /** One slice of a case: runs it once (for a fixed time, usually) and returns its rate. */
    public interface Slice {
        double run(int round) throws Exception;
    }

    /** A named case of a group. */
    public record Case(String name, Slice slice) {
    }

    private SameRunRatios() {
    }

    /**
     * Runs {@code warmup} rounds (not kept), then {@code rounds} rounds; each round runs every
     * case's slice once, in list order. Returns {@code rates[case][round]}.
     */
    public static double[][] measure(List<Case> cases, int warmup, int rounds) throws Exception {
        if (cases.isEmpty() || rounds < 1 || warmup < 0) {
            throw new IllegalArgumentException("need at least one case and one round: cases " + cases.size()
                    + ", rounds " + rounds + ", warm-up rounds " + warmup);
        }
        double[][] rates = new double[cases.size()][rounds];
        for (int r = -warmup; r < rounds; r++) {
            for (int k = 0; k < cases.size(); k++) {
                double rate = cases.get(k).slice().run(r);
                if (r >= 0) {
                    rates[k][r] = rate;
                }
            }
        }
        return rates;
    }

    /** Runs {@code op} again and again for {@code sliceNanos}; returns calls per nanosecond. */
    public static double callsPerNano(Runnable op, long sliceNanos) {
        long calls = 0;
        long t0 = System.nanoTime();
        long t;
        do {
            op.run();
            calls++;
            t = System.nanoTime();
        } while (t - t0 < sliceNanos);
        return (double) calls / (t - t0);
    }

    /** One block write of a slice's writer: its own seeded random and 4 KiB direct buffer; false ends the writer early. */
    @FunctionalInterface
    public interface BlockWrite {
        boolean write(java.util.SplittableRandom random, java.nio.ByteBuffer block) throws Exception;
    }

    /**
     * One slice of concurrent writes: {@code threads} writers on {@code pool}, writer {@code t}
     * seeded {@code seedBase + t}, each calling {@code op} until {@code nanos} have passed or it
     * returns false; the writes done per second of the slice.
     */
    public static double writesPerSecond(java.util.concurrent.ExecutorService pool, int threads, long nanos,
                                         long seedBase, int blockBytes, BlockWrite op) throws Exception {
        long start = System.nanoTime();
        long end = start + nanos;
        List<java.util.concurrent.Future<Long>> done = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            long seed = seedBase + t;
            done.add(pool.submit(() -> {
                java.nio.ByteBuffer block = java.nio.ByteBuffer.allocateDirect(blockBytes);
                java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
                long n = 0;
                while (System.nanoTime() < end && op.write(random, block)) {
                    n++;
                }
                return n;
            }));
        }
        long total = 0;
        for (java.util.concurrent.Future<Long> f : done) {
            total += f.get();
        }
        return total / ((System.nanoTime() - start) / 1e9);
    }

    /** {@code numerator[r] / denominator[r]} per round. */
    public static double[] ratios(double[] numerator, double[] denominator) {
        if (numerator.length != denominator.length) {
            throw new IllegalArgumentException("rounds differ: " + numerator.length + " and " + denominator.length);
        }
        double[] ratio = new double[numerator.length];
        for (int r = 0; r < ratio.length; r++) {
            ratio[r] = numerator[r] / denominator[r];
        }
        return ratio;
    }

    /** The median (the mean of the middle two for an even count; NaN for none). */
    public static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n == 0 ? Double.NaN : n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    /**
     * The JSON object the report reads for one ratio: its median, min and max over rounds, the
     * per-round ratios and both cases' per-round rates and medians.
     */
    public static Map<String, Object> ratioJson(String numeratorName, double[] numerator, String denominatorName,
                                                double[] denominator) {
        double[] ratio = ratios(numerator, denominator);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("numerator", numeratorName);
        out.put("denominator", denominatorName);
        out.put("medianRatio", median(ratio));
        out.put("minRatio", Arrays.stream(ratio).min().orElse(Double.NaN));
        out.put("maxRatio", Arrays.stream(ratio).max().orElse(Double.NaN));
        out.put("numeratorMedian", median(numerator));
        out.put("denominatorMedian", median(denominator));
        out.put("ratios", list(ratio));
        out.put("numeratorRates", list(numerator));
        out.put("denominatorRates", list(denominator));
        return out;
    }

    private static List<Object> list(double[] values) {
        List<Object> out = new ArrayList<>();
        for (double v : values) {
            out.add(v);
        }
        return out;
    }

    /**
     * Prints a markdown table: per case its median rate ({@code rateLabel}) and the median over
     * rounds of its ratio to case 0 (the reference), with the rounds' min..max.
     */
    public static void printTable(String title, List<Case> cases, double[][] rates, String rateLabel) {
        System.out.printf("%n## %s%n", title);
        System.out.printf("| case | median %s | median ratio to %s (min..max of rounds) |%n", rateLabel,
                cases.get(0).name());
        System.out.println("|---|---|---|");
        for (int k = 0; k < cases.size(); k++) {
            double[] ratio = ratios(rates[k], rates[0]);
            System.out.printf(Locale.ROOT, "| %s | %.1f | %.3f (%.2f..%.2f) |%n", cases.get(k).name(), median(rates[k]),
                    median(ratio), Arrays.stream(ratio).min().orElse(0), Arrays.stream(ratio).max().orElse(0));
        }
    }

    /** Every case against every other except the reference, medians of per-round ratios. */
    public static void printPairs(List<Case> cases, double[][] rates) {
        System.out.println();
        for (int k = 1; k < cases.size(); k++) {
            for (int j = 1; j < cases.size(); j++) {
                if (j != k) {
                    System.out.printf(Locale.ROOT, "  %s / %s = %.3f%n", cases.get(k).name(), cases.get(j).name(),
                            median(ratios(rates[k], rates[j])));
                }
            }
        }
    }

    /** {@code /proc/loadavg}, or "?" where there is none. */
    public static String load() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "?";
        }
    }
}
