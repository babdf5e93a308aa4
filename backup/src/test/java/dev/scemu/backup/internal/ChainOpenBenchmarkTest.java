package dev.scemu.backup.internal;

import dev.scemu.backup.BackupEngine;
import dev.scemu.backup.KdfParameters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Opening and verifying an encrypted chain of one full image and five incrementals (default
 * Argon2id parameters: 19 MiB, 2 passes) of a 256 KiB in-memory volume, with the keys derived one
 * after the other ("before") and concurrently ("after"), in alternating rounds in one JVM:
 * <ul>
 *   <li>chain open: {@link TestChains#openSequentially} (the open as it was) against {@link ImageChain#open};</li>
 *   <li>{@code BackupEngine.verify}: with {@link ChainKeys#processors} set to 1 (no derivation
 *       thread: the calling thread derives every key in turn) against the default.</li>
 * </ul>
 * By hand, from the repository root (after {@code ./mvnw -B -o -q -pl backup -am install -DskipTests}):
 * <pre>
 * ./mvnw -B -o -pl backup test -Dtest=ChainOpenBenchmarkTest -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dscemu.bench.chainkeys=true [-Dscemu.bench.rounds=15]
 * </pre>
 * Prints medians (ms) and the median of the per-round ratios after/before.
 */
@EnabledIfSystemProperty(named = "scemu.bench.chainkeys", matches = "true")
class ChainOpenBenchmarkTest {

    static final char[] PASSWORD = "bench".toCharArray();

    @TempDir
    Path dir;

    @Test
    void chainOpenAndVerifyWithKeysDerivedInTurnAndConcurrently() throws Exception {
        int rounds = Integer.getInteger("scemu.bench.rounds", 15);
        DirectoryBackupTarget target = new DirectoryBackupTarget(dir);
        TestChains.make(target, "c", 6, 42, "vol", PASSWORD, KdfParameters.DEFAULT);
        String top = "c-5";
        IntSupplier defaultProcessors = ChainKeys.processors;
        List<double[]> open = new ArrayList<>();
        List<double[]> verify = new ArrayList<>();
        try {
            for (int round = -3; round < rounds; round++) { // three rounds of warm-up
                boolean beforeFirst = round % 2 == 0; // alternate which side runs first
                double[] o = new double[2];
                double[] v = new double[2];
                for (int side : beforeFirst ? new int[] {0, 1} : new int[] {1, 0}) {
                    long t0 = System.nanoTime();
                    if (side == 0) {
                        TestChains.openSequentially(target, top, PASSWORD).forEach(OpenedImage::close);
                    } else {
                        ImageChain.open(target, top, PASSWORD).close();
                    }
                    long t1 = System.nanoTime();
                    ChainKeys.processors = side == 0 ? () -> 1 : defaultProcessors;
                    BackupEngine.verify(target, top, PASSWORD);
                    long t2 = System.nanoTime();
                    ChainKeys.processors = defaultProcessors;
                    o[side] = (t1 - t0) / 1e6;
                    v[side] = (t2 - t1) / 1e6;
                }
                if (round >= 0) {
                    open.add(o);
                    verify.add(v);
                }
            }
        } finally {
            ChainKeys.processors = defaultProcessors;
        }
        StringBuilder report = new StringBuilder();
        report.append(String.format(Locale.ROOT, "chain of 6 encrypted images (Argon2id %s, %s), %d cpus, %d rounds, "
                + "load average %.1f%n", KdfParameters.DEFAULT, BackupEngine.kdfImplementation(),
                Runtime.getRuntime().availableProcessors(), rounds,
                java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));
        line(report, "chain open", open);
        line(report, "BackupEngine.verify", verify);
        System.out.print(report);
        Files.writeString(Path.of("target", "chain-open-benchmark.txt"), report.toString());
    }

    private static void line(StringBuilder report, String what, List<double[]> samples) {
        List<Double> ratios = samples.stream().map(s -> s[1] / s[0]).toList();
        report.append(String.format(Locale.ROOT, "%-20s before (in turn) median %7.1f ms, after (concurrent) median %7.1f ms, "
                + "per-round after/before median %.2f (min %.2f, max %.2f)%n", what,
                median(samples.stream().map(s -> s[0]).toList()), median(samples.stream().map(s -> s[1]).toList()),
                median(ratios), Collections.min(ratios), Collections.max(ratios)));
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }
}
