package dev.scemu.benchmarks.report;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The renderer's reading and judging of the same-run ratios (threads, scale) and of the rebuild
 * target, on hand-made result files judged against the repository's {@code bench/targets.properties}.
 */
class ReportRendererTest {

    private static final Path TARGETS = Path.of("..", "bench", "targets.properties");

    @Test
    void judgesThreadsScaleAndRebuildTargetsFromThisRunsFiles(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("concurrency.json"), Json.write(Map.of(
                "array", "RAID-5 test array", "rounds", 3, "sliceMillis", 300, "loadStart", "1.0", "loadEnd", "2.0",
                "threads4VsThreads1", SameRunRatios.ratioJson("4 threads", new double[] {3000, 3300, 2000},
                        "1 thread", new double[] {2000, 2000, 2000}))));
        Map<String, Object> raid5 = stack("RAID5", new double[] {600, 700, 500}, new double[] {1000, 1000, 1000});
        Map<String, Object> raid0 = stack("RAID0", new double[] {4000, 4000, 4000}, new double[] {1000, 1000, 1000});
        Files.writeString(dir.resolve("scale.json"), Json.write(Map.of("members", "4 sparse test members",
                "rounds", 3, "sliceMillis", 400, "threads", 16, "confinedBytes", 100L << 20, "directory", "/var/tmp/x",
                "fileSystem", "ext4", "loadStart", "1", "loadEnd", "2", "stacks", List.of(raid5, raid0))));
        Files.writeString(dir.resolve("latency.json"), Json.write(Map.of("unit", "test unit", "secondsPerPhase", 2,
                "phases", List.of(
                        phase("baseline", 100, Double.NaN, Double.NaN),
                        // 4x the baseline, the rebuild 0.1 % under its minimum but within the measurement's
                        // resolution (one 64 KiB unit over 2 s: 3.2 %): met
                        phase("rebuild-throttled-no-snapshot", 400, 1.023e6, 1.024e6),
                        phase("snapshot-steady", 200, Double.NaN, Double.NaN),
                        // 3x its baseline but the rebuild fell below its minimum: not met
                        phase("rebuild-throttled", 600, 0.9e6, 1.024e6)))));

        ReportRenderer.main(new String[] {dir.toString(), TARGETS.toString()});

        String report = Files.readString(dir.resolve("REPORT.md"));
        assertThat(report).contains("| 2,000 | 3,000 | **1.50** (1.00..1.65) |")
                .contains("Target \"RAID-5 4 KiB random write, 4 threads ≥ 1.5× one thread\": **1.50** (met).");
        assertThat(report).contains("| RAID-5 | 576 GiB | 12.5 | 600 | 1,000 | **0.60** (0.50..0.70) | 3.4 + 20.0 |").contains("RAID-5 **0.60** (met)").contains("RAID-0 **4.00** (met)")
                .contains("| RAID-5 + one snapshot | _not measured (see scale.log)_ |");
        assertThat(report).contains("= **4.00×**; the rebuild ran at **1.023 MB/s**, 0.999× its minimum 1.024 MB/s (kept; measured to ±0.032×:"
                        + " one 64 KiB unit over 2.00 s) → met")
                .contains("= **3.00×**; the rebuild ran at **0.900 MB/s**, 0.879× its minimum 1.024 MB/s (NOT kept; measured to"
                        + " ±0.032×: one 64 KiB unit over 2.00 s) → NOT met");
        String summary = Files.readString(dir.resolve("README-summary.md"));
        assertThat(summary)
                .contains("| RAID-5 4 KiB random write, 4 threads ≥ 1.5× one thread | 1.50× | met |")
                .contains("| scale, RAID-5: 4 KiB random writes spread over 4 sparse 256 GiB members ≥ 0.5× confined"
                        + " to 100 MiB | 0.60× | met |")
                .contains("| scale, RAID-5 + one snapshot: 4 KiB random writes spread over 4 sparse 256 GiB members ≥"
                        + " 0.5× confined to 100 MiB | not in scale.json | not measured |")
                .contains("(no snapshot) ≤ 5× the same state's p99 without one, rebuild ≥ its minimum speed | 4.00×,"
                        + " rebuild at 0.999× its minimum | met |")
                .contains("(one snapshot) ≤ 5× the same state's p99 without one, rebuild ≥ its minimum speed | 3.00×,"
                        + " rebuild at 0.879× its minimum | NOT met |");
    }

    @Test
    void aRatioBelowItsTargetIsNotMetAndMissingFilesAreNotMeasured(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("concurrency.json"), Json.write(Map.of(
                "array", "RAID-5 test array", "rounds", 1, "sliceMillis", 300, "loadStart", "1.0", "loadEnd", "2.0",
                "threads4VsThreads1", SameRunRatios.ratioJson("4 threads", new double[] {2900}, "1 thread",
                        new double[] {2000}))));

        ReportRenderer.main(new String[] {dir.toString(), TARGETS.toString()});

        String summary = Files.readString(dir.resolve("README-summary.md"));
        assertThat(summary).contains("| RAID-5 4 KiB random write, 4 threads ≥ 1.5× one thread | 1.45× | NOT met |")
                .contains("| scale, RAID-0: 4 KiB random writes spread over 4 sparse 256 GiB members ≥ 0.5× confined"
                        + " to 100 MiB | no scale.json | not measured |");
        assertThat(Files.readString(dir.resolve("REPORT.md"))).contains("_No `scale.json`._")
                .contains("_No `latency.json`._");
    }

    @Test
    void judgesIssue21sParityCompareAndBackupTargetsFromThisRunsFiles(@TempDir Path dir) throws Exception {
        Map<String, Object> parity = new LinkedHashMap<>();
        parity.put("xorKernel", "isal (test)");
        parity.put("rounds", 3);
        parity.put("sliceMillis", 50);
        parity.put("loadStart", "1");
        parity.put("loadEnd", "1");
        parity.put("xorInCache", SameRunRatios.ratioJson("isal", new double[] {90, 100, 110}, "C",
                new double[] {100, 100, 100}));
        parity.put("xorOutOfCache", SameRunRatios.ratioJson("isal", new double[] {85, 88, 95}, "C",
                new double[] {100, 100, 100}));
        parity.put("fullStripeWrite", SameRunRatios.ratioJson("stripe", new double[] {6.5, 6.1, 7}, "copy",
                new double[] {10, 10, 10}));
        Files.writeString(dir.resolve("parity.json"), Json.write(parity));
        Files.writeString(dir.resolve("compare.json"), Json.write(Map.of("nativeMemcmpFromBytes", 16384, "rounds", 3,
                "sliceMillis", 50, "loadStart", "1", "loadEnd", "1", "sizes", List.of(
                        Map.of("bytes", 4096, "vsMemcmpCall", SameRunRatios.ratioJson("equal", new double[] {12, 12, 12},
                                "memcmp", new double[] {10, 10, 10})),
                        Map.of("bytes", 65536, "vsMemcmpCall", SameRunRatios.ratioJson("equal", new double[] {9.5, 9.5,
                                9.5}, "memcmp", new double[] {10, 10, 10}))))));
        Files.writeString(dir.resolve("backup-engine.json"), Json.write(List.of(Map.of("volume", "test image",
                "encrypted", true, "zstdSeconds", 1.2, "backupSeconds", 1.0, "imageBytes", 99, "zstdBytes", 100,
                "zstdDecompressSeconds", 0.5, "restoreSeconds", 0.6))));
        Files.writeString(dir.resolve("backup.json"), Json.write(Map.of("runs", 3, "nproc", 2, "load", "1",
                "zstdSeconds", 1.4, "createSeconds", 1.75, "zstdDecompressSeconds", 1.5, "restoreSeconds", 1.0,
                "zstdRounds", List.of(1.4), "createRounds", List.of(1.75))));

        ReportRenderer.main(new String[] {dir.toString(), TARGETS.toString()});

        String summary = Files.readString(dir.resolve("README-summary.md"));
        assertThat(summary)
                .contains("| parity XOR, kernel in use ÷ C loop, 4 × 256 KiB (in cache) ≥ 0.8 | 1.00× | met |")
                .contains("| parity XOR, kernel in use ÷ C loop, 4 × 64 MiB (out of cache) ≥ 0.9 | 0.88× | NOT met |")
                .contains("| RAID-5 full-stripe write ≥ 0.6× a memory copy of the stripe | 0.65× | met |")
                .contains("every size | 0.95× (lowest size) | met |")
                .contains("| backup engine ≥ 1× `zstd -3 -T2` speed (test image, password) | 1.20× | met |")
                .contains("| backup engine image ≤ 1× `zstd -3` output | 0.99× | met |")
                .contains("| restore engine ≥ 1× `zstd -d -T2` speed (test image, password) | 0.83× | NOT met |")
                .contains("| whole `scemu backup create` ≥ 0.7× `zstd -3 -T2` speed | 0.80× | met |")
                .contains("| whole `scemu backup restore` ≥ 1× `zstd -d -T2` speed | 1.50× | met |")
                .contains("< 10 s, whole process | no backup-sparse.json | not measured |");
        assertThat(Files.readString(dir.resolve("REPORT.md"))).contains("## 8. Parity, compare and backup")
                .contains("XOR kernel in use: isal (test).").contains("_No `backup-sparse.json` in this run._");
    }

    private static Map<String, Object> stack(String name, double[] spread, double[] confined) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("stack", name);
        out.put("volumeBytes", 576L << 30);
        out.put("bitmapTouchSeconds", 12.5);
        out.putAll(SameRunRatios.ratioJson("spread", spread, "confined", confined));
        out.put("closeSeconds", 3.4);
        out.put("deleteSeconds", 20.0);
        return out;
    }

    private static Map<String, Object> phase(String name, double p99Micros, double rebuildBytesPerSecond,
                                             double minBytesPerSecond) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("name", name);
        out.put("description", name);
        out.put("count", 1000);
        out.put("opsPerSecond", 500);
        out.put("p50Micros", p99Micros / 10);
        out.put("p99Micros", p99Micros);
        out.put("p999Micros", p99Micros * 2);
        out.put("maxMicros", p99Micros * 3);
        if (!Double.isNaN(rebuildBytesPerSecond)) {
            out.put("rebuildBytesPerSecond", rebuildBytesPerSecond);
            out.put("minBytesPerSecond", minBytesPerSecond);
            out.put("rebuildUnitBytes", 65536);
            out.put("rebuildMeasuredSeconds", 2.0);
        }
        return out;
    }
}
