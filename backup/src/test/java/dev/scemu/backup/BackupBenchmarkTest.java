package dev.scemu.backup;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Backup/restore throughput and size beside {@code zstd -3 -T2} / {@code zstd -d -T2} on the same
 * raw image, in one run. {@code bench/backup.sh} runs it (with the whole-process figures); by hand,
 * from the repository root (the generator lives in the shared folder beside the repository):
 * <pre>
 * ../shared/bench/make-test-image.sh target/test-1g.img 1024 42
 * ./mvnw -B -q -o -pl backup -am verify -Dtest=BackupBenchmarkTest -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dscemu.bench.image=$PWD/target/test-1g.img
 * </pre>
 * Two volumes: the test image as is (50 % used) and the same image with 40 % of its used 1 MiB
 * regions zeroed (30 % used). Outputs go to {@code scemu.bench.dir} (default {@code
 * target/backup-bench} of the module; {@code bench/backup.sh} points it at a tmpfs directory so
 * neither side pays for a disk). Median of {@code scemu.bench.runs} runs (default 3). The report
 * goes to stdout and {@code target/backup-benchmark.txt}; its medians, one JSON object per volume and
 * password setting, to {@code target/backup-benchmark.json} (what {@code bench/report.sh} judges).
 */
@EnabledIfSystemProperty(named = "scemu.bench.image", matches = ".+")
class BackupBenchmarkTest {

    static final int MIB = 1 << 20;

    @Test
    void backupAndRestoreBesideZstd() throws Exception {
        Path image = Path.of(System.getProperty("scemu.bench.image"));
        Path dir = Path.of(System.getProperty("scemu.bench.dir", "target/backup-bench"));
        int runs = Integer.getInteger("scemu.bench.runs", 3);
        Files.createDirectories(dir);
        byte[] raw = Files.readAllBytes(image);
        StringBuilder report = new StringBuilder();
        List<String> json = new ArrayList<>();
        report.append(String.format(Locale.ROOT, "machine: %d cpus, java %s, load average %.1f, chunk %d B, %d runs (median)%n",
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
                java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(),
                Integer.getInteger("scemu.bench.chunk", BackupOptions.DEFAULT_CHUNK_SIZE_BYTES), runs));
        report.append("crypto: ").append(BackupEngine.cryptoImplementation()).append(System.lineSeparator());
        report.append("Argon2id: ").append(BackupEngine.kdfImplementation()).append(System.lineSeparator());
        warmUp(raw, dir);
        bench("test image (50 % used)", raw, dir, runs, report, json);
        byte[] thirty = thirtyPercentUsed(raw);
        bench("30 % used", thirty, dir, runs, report, json);
        System.out.println(report);
        Files.writeString(Path.of("target", "backup-benchmark.txt"), report.toString());
        Files.writeString(Path.of("target", "backup-benchmark.json"), "[\n" + String.join(",\n", json) + "\n]\n");
    }

    /** JIT warm-up of every path (zstd, AES-GCM, SHA-256, both restores) on the first 128 MiB, not measured. */
    private static void warmUp(byte[] raw, Path dir) throws IOException {
        int bytes = 128 * MIB;
        BlockGeometry geometry = new BlockGeometry(4096, bytes / 4096);
        try (BlockDevice source = Media.memory("warm-src", geometry);
             BlockDevice dst = Media.memory("warm-dst", geometry)) {
            source.write(0, bytes / 4096 / 2, ByteBuffer.wrap(raw, 0, bytes / 2).slice(), 0);
            for (int round = 0; round < 4; round++) {
                Path targetDir = dir.resolve("warm");
                deleteTree(targetDir);
                char[] password = round % 2 == 0 ? "warm".toCharArray() : null;
                try (BackupTarget target = BackupTarget.directory(targetDir)) {
                    BackupOptions options = BackupOptions.defaults().withImageId("warm")
                            .withKdf(KdfParameters.TEST_ONLY_WEAK).withPassword(password);
                    BackupEngine.backup(BackupSource.ofDevice(source, "warm", "s"), target, options);
                    BackupEngine.restore(target, "warm", password, dst, RestoreOptions.defaults());
                }
            }
            deleteTree(dir.resolve("warm"));
        }
    }

    /** Zeroes 40 % of the non-zero 1 MiB regions (seeded): 50 % used becomes 30 % used. */
    static byte[] thirtyPercentUsed(byte[] raw) {
        byte[] copy = raw.clone();
        List<Integer> used = new ArrayList<>();
        for (int i = 0; i < raw.length / MIB; i++) {
            if (!isZero(raw, i * MIB, MIB)) {
                used.add(i);
            }
        }
        java.util.Collections.shuffle(used, new Random(30));
        int drop = used.size() * 2 / 5;
        for (int k = 0; k < drop; k++) {
            Arrays.fill(copy, used.get(k) * MIB, (used.get(k) + 1) * MIB, (byte) 0);
        }
        return copy;
    }

    static boolean isZero(byte[] b, int from, int len) {
        for (int i = from; i < from + len; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static void bench(String name, byte[] raw, Path dir, int runs, StringBuilder report, List<String> json)
            throws Exception {
        long bytes = raw.length;
        Path rawFile = dir.resolve("raw.img");
        Files.write(rawFile, raw);
        long usedBytes = 0;
        for (int i = 0; i < raw.length / 4096; i++) {
            if (!isZero(raw, i * 4096, 4096)) {
                usedBytes += 4096;
            }
        }
        double[] zstdC = new double[runs];
        double[] zstdD = new double[runs];
        double[] zstdCCpu = new double[runs];
        long zstdSize = 0;
        Path zst = dir.resolve("raw.img.zst");
        for (int r = 0; r < runs; r++) {
            Files.deleteIfExists(zst);
            double[] cpu = new double[1];
            zstdC[r] = runCounted(cpu, "zstd", "-3", "-T2", "-q", "-f", rawFile.toString(), "-o", zst.toString());
            zstdCCpu[r] = cpu[0];
            zstdSize = Files.size(zst);
            zstdD[r] = run("zstd", "-d", "-T2", "-q", "-f", zst.toString(), "-o", dir.resolve("raw.out").toString());
        }
        Files.deleteIfExists(dir.resolve("raw.out"));
        Files.deleteIfExists(rawFile);

        BlockGeometry geometry = new BlockGeometry(4096, bytes / 4096);
        try (BlockDevice source = Media.memory("bench-src", geometry);
             BlockDevice dst = Media.memory("bench-dst", geometry)) {
            // restore over an existing volume: the destination's memory is touched before timing
            ByteBuffer ones = ByteBuffer.allocateDirect(MIB);
            for (int i = 0; i < MIB; i++) {
                ones.put(i, (byte) 0xFF);
            }
            for (long lba = 0; lba < geometry.blockCount(); lba += MIB / 4096) {
                dst.write(lba, MIB / 4096, ones, 0);
            }
            ByteBuffer piece = ByteBuffer.allocateDirect(MIB);
            for (int off = 0; off < raw.length; off += MIB) {
                piece.clear();
                piece.put(0, raw, off, MIB);
                source.write(off / 4096, MIB / 4096, piece, 0);
            }
            for (boolean encrypted : new boolean[] {true, false}) {
                double[] backup = new double[runs];
                double[] backupCpu = new double[runs];
                double[] restoreVerified = new double[runs];
                double[] restoreOnePass = new double[runs];
                double[] verify = new double[runs];
                double[] kdfRuns = new double[runs];
                long size = 0;
                for (int r = 0; r < runs; r++) {
                    Path targetDir = dir.resolve("target");
                    deleteTree(targetDir);
                    try (BackupTarget target = BackupTarget.directory(targetDir)) {
                        BackupOptions options = BackupOptions.defaults().withImageId("bench")
                                .withChunkSizeBytes(Integer.getInteger("scemu.bench.chunk", BackupOptions.DEFAULT_CHUNK_SIZE_BYTES));
                        char[] password = encrypted ? "benchmark password".toCharArray() : null;
                        if (encrypted) {
                            options = options.withPassword(password);
                        }
                        long c0 = processCpuNanos();
                        long t0 = System.nanoTime();
                        BackupResult result = BackupEngine.backup(BackupSource.ofDevice(source, "bench", "s"), target, options);
                        backup[r] = (System.nanoTime() - t0) / 1e9;
                        backupCpu[r] = (processCpuNanos() - c0) / 1e9;
                        size = result.info().imageBytes();
                        t0 = System.nanoTime();
                        BackupEngine.verify(target, "bench", password);
                        verify[r] = (System.nanoTime() - t0) / 1e9;
                        t0 = System.nanoTime();
                        BackupEngine.restore(target, "bench", password, dst, RestoreOptions.defaults());
                        restoreVerified[r] = (System.nanoTime() - t0) / 1e9;
                        if (r == 0) {
                            checkEqual(source, dst);
                        }
                        t0 = System.nanoTime();
                        BackupEngine.restore(target, "bench", password, dst, RestoreOptions.defaults().withVerifyFirst(false));
                        restoreOnePass[r] = (System.nanoTime() - t0) / 1e9;
                        kdfRuns[r] = kdfSeconds(encrypted, target);
                    }
                }
                double kdf = median(kdfRuns);
                report.append(String.format(Locale.ROOT,
                        "%n== %s: %d MiB volume, %d MiB used, %s ==%n", name, bytes / MIB, usedBytes / MIB,
                        encrypted ? "zstd-3 + AES-256-GCM (Argon2id 19 MiB/2/1 + metadata, as info: " + fmt(kdf) + " s of each op)"
                                : "zstd-3, no password"));
                report.append(row("zstd -3 -T2 (raw file)", bytes, median(zstdC), zstdSize, bytes));
                report.append(row("scemu backup", bytes, median(backup), size, bytes));
                report.append(String.format(Locale.ROOT, "  ratio backup/zstd: speed %.2fx, size %.3fx%n",
                        median(zstdC) / median(backup), (double) size / zstdSize));
                if (median(zstdCCpu) > 0) {
                    report.append(String.format(Locale.ROOT, "  CPU seconds (user+sys): zstd -3 -T2 %.3f, scemu backup %.3f"
                            + " (whole JVM, JIT and GC included, Argon2id %.3f): ratio %.2fx%n", median(zstdCCpu),
                            median(backupCpu), kdf, median(zstdCCpu) / median(backupCpu)));
                }
                report.append(row("zstd -d -T2 (to file)", bytes, median(zstdD), zstdSize, bytes));
                report.append(row("scemu verify", bytes, median(verify), size, bytes));
                report.append(row("scemu restore (verify first)", bytes, median(restoreVerified), size, bytes));
                report.append(row("scemu restore (one pass)", bytes, median(restoreOnePass), size, bytes));
                report.append(String.format(Locale.ROOT, "  ratio restore/zstd -d: verify-first %.2fx, one-pass %.2fx%n",
                        median(zstdD) / median(restoreVerified), median(zstdD) / median(restoreOnePass)));
                json.add(String.format(Locale.ROOT, "{\"volume\": \"%s\", \"encrypted\": %b, \"volumeBytes\": %d, "
                        + "\"usedBytes\": %d, \"runs\": %d, \"zstdSeconds\": %.4f, \"zstdBytes\": %d, "
                        + "\"backupSeconds\": %.4f, \"imageBytes\": %d, \"zstdDecompressSeconds\": %.4f, "
                        + "\"restoreSeconds\": %.4f, \"restoreOnePassSeconds\": %.4f, \"verifySeconds\": %.4f}",
                        name, encrypted, bytes, usedBytes, runs, median(zstdC), zstdSize, median(backup), size,
                        median(zstdD), median(restoreVerified), median(restoreOnePass), median(verify)));
            }
        }
        deleteTree(dir.resolve("target"));
        Files.deleteIfExists(zst);
    }

    /** Argon2id at the default parameters, by the implementation the engine uses (through info: key + metadata). */
    private static double kdfSeconds(boolean encrypted, BackupTarget target) {
        if (!encrypted) {
            return 0;
        }
        long t0 = System.nanoTime();
        BackupEngine.info(target, "bench", "benchmark password".toCharArray());
        return (System.nanoTime() - t0) / 1e9;
    }

    private static void checkEqual(BlockDevice a, BlockDevice b) {
        ByteBuffer x = ByteBuffer.allocateDirect(MIB);
        ByteBuffer y = ByteBuffer.allocateDirect(MIB);
        for (long lba = 0; lba < a.blockCount(); lba += MIB / 4096) {
            a.read(lba, MIB / 4096, x, 0);
            b.read(lba, MIB / 4096, y, 0);
            if (x.mismatch(y) != -1) {
                throw new AssertionError("restored volume differs in the MiB at block " + lba);
            }
        }
    }

    private static String row(String what, long volumeBytes, double seconds, long outputBytes, long inputBytes) {
        return String.format(Locale.ROOT, "  %-30s %7.3f s  %8.0f MB/s of volume  output %8.1f MiB%n", what, seconds,
                volumeBytes / seconds / 1e6, outputBytes / (double) MIB);
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    /** CPU time of this JVM (all threads), or 0 if the platform does not say. */
    private static long processCpuNanos() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.OperatingSystemMXBean os) {
            return Math.max(0, os.getProcessCpuTime());
        }
        return 0;
    }

    /**
     * Runs a command and returns its wall seconds; {@code cpuSeconds[0]} gets its user + system CPU
     * seconds from {@code /usr/bin/time} when that exists (else 0).
     */
    private static double runCounted(double[] cpuSeconds, String... command) throws IOException, InterruptedException {
        Path time = Path.of("/usr/bin/time");
        if (!Files.isExecutable(time)) {
            cpuSeconds[0] = 0;
            return run(command);
        }
        Path out = Files.createTempFile("zstd-time", ".txt");
        try {
            List<String> full = new ArrayList<>(List.of(time.toString(), "-f", "%U %S", "-o", out.toString()));
            full.addAll(List.of(command));
            double wall = run(full.toArray(String[]::new));
            String[] parts = Files.readString(out).trim().split("\\s+");
            cpuSeconds[0] = Double.parseDouble(parts[parts.length - 2]) + Double.parseDouble(parts[parts.length - 1]);
            return wall;
        } finally {
            Files.deleteIfExists(out);
        }
    }

    private static double run(String... command) throws IOException, InterruptedException {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(command).inheritIO().start();
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", command) + " failed with exit code " + p.exitValue());
        }
        return (System.nanoTime() - t0) / 1e9;
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

}
