package dev.scemu.benchmarks.report;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link NbdScaleCollector} on a hand-made run directory of {@code bench/nbd-scale.sh} (fio's JSON
 * shape, the script's properties), and {@link ReportRenderer}'s section and targets from the JSON it
 * writes, judged against the repository's {@code bench/targets.properties}. No fio, no timing.
 */
class NbdScaleCollectorTest {

    private static final Path TARGETS = Path.of("..", "bench", "targets.properties");

    @Test
    void ratiosAreSameRoundMediansAndRoundsWithAFioErrorDoNotCount(@TempDir Path run) throws Exception {
        writeRun(run);

        Map<String, Object> result = NbdScaleCollector.collect(run);

        Map<String, Object> raid5 = stack(result, "RAID5");
        // rounds 600/1000, 1400/2000, 300/1000 -> 0.6, 0.7, 0.3: median 0.6 (not 2300/4000 of the sums)
        assertThat(Json.num(raid5, "medianRatio")).isEqualTo(0.6);
        assertThat(Json.num(raid5, "minRatio")).isEqualTo(0.3);
        assertThat(Json.num(raid5, "numeratorMedian")).isEqualTo(600);
        assertThat(Json.num(raid5, "touchSeconds")).isEqualTo(2.5);
        assertThat(Json.list(raid5, "invalidRounds")).isEmpty();
        assertThat(Json.list(raid5, "rounds")).hasSize(3);

        Map<String, Object> snapshot = stack(result, "RAID5_SNAPSHOT");
        // round 2's spread slice failed (fio error 5): only rounds 1 and 3 count, 0.4 and 0.8 -> 0.6
        assertThat(Json.list(snapshot, "invalidRounds")).containsExactly("round 2, spread: fio error 5");
        assertThat(((Number) snapshot.get("roundsMeasured")).intValue()).isEqualTo(2);
        assertThat(Json.num(snapshot, "medianRatio")).isCloseTo(0.6, within(1e-9));
        Map<String, Object> fresh = Json.obj(snapshot, "fresh");
        assertThat(Json.num(fresh, "medianRatio")).isEqualTo(1.0); // 400/400 and 800/800
        assertThat(Json.num(fresh, "denominatorMedian")).isEqualTo(600);

        Map<String, Object> raid0 = stack(result, "RAID0");
        assertThat(raid0.get("stopped")).isEqualTo("free space 1 bytes before round 1 of RAID0, margin 2");
        assertThat(((Number) raid0.get("roundsMeasured")).intValue()).isZero();
        assertThat(raid0).doesNotContainKey("medianRatio");
    }

    @Test
    void theReportJudgesEachStackAgainstItsTargetAndShowsWhatDidNotCount(@TempDir Path dir) throws Exception {
        Path run = Files.createDirectories(dir.resolve("nbd-scale"));
        writeRun(run);
        NbdScaleCollector.main(new String[] {run.toString(), dir.resolve("nbd-scale.json").toString()});

        ReportRenderer.main(new String[] {dir.toString(), TARGETS.toString()});

        String report = Files.readString(dir.resolve("REPORT.md"));
        assertThat(report).contains("## 5b. Cost of a write against the volume's size over NBD")
                .contains("| RAID-5 | 576 GiB | 2.5 | 600 | 1,000 | **0.60** (0.30..0.70) | 100 → 900 | 0.1 + 12.0 |")
                .contains("| RAID-0 | _not measured (see nbd-scale.log)_ |")
                .contains("- RAID-5 + one snapshot, not counted: round 2, spread: fio error 5.")
                .contains("- RAID-0 stopped early: free space 1 bytes before round 1 of RAID0, margin 2.")
                .contains("spread / fresh **1.00** (1.00..1.00)")
                .contains("RAID-5 **0.60** (met); RAID-5 + one snapshot **0.60** (met); RAID-0: not measured.");
        String summary = Files.readString(dir.resolve("README-summary.md"));
        assertThat(summary)
                .contains("| scale over NBD (fio QD16, `scemu serve`), RAID-5: 4 KiB random writes spread over 4 sparse"
                        + " 256 GiB members ≥ 0.5× confined to 100 MiB | 0.60× | met |")
                .contains("| scale over NBD (fio QD16, `scemu serve`), RAID-0: 4 KiB random writes spread over 4 sparse"
                        + " 256 GiB members ≥ 0.5× confined to 100 MiB | no valid round in nbd-scale.json | not measured |");
    }

    @Test
    void aRatioBelowTheTargetIsNotMetAndNoResultIsNotMeasured(@TempDir Path dir) throws Exception {
        Path run = Files.createDirectories(dir.resolve("nbd-scale"));
        writeRunProperties(run, "RAID0");
        Files.writeString(run.resolve("RAID0.properties"), "label=RAID-0\nsnapshot=false\nround.1.load=1 1 1\n");
        fio(run, "RAID0-r1-spread.json", 490, 0);
        fio(run, "RAID0-r1-confined.json", 1000, 0);
        NbdScaleCollector.main(new String[] {run.toString(), dir.resolve("nbd-scale.json").toString()});
        Path empty = Files.createDirectories(dir.resolve("empty"));

        ReportRenderer.main(new String[] {dir.toString(), TARGETS.toString()});
        ReportRenderer.main(new String[] {empty.toString(), TARGETS.toString()});

        assertThat(Files.readString(dir.resolve("README-summary.md")))
                .contains("RAID-0: 4 KiB random writes spread over 4 sparse 256 GiB members ≥ 0.5× confined to 100 MiB"
                        + " | 0.49× | NOT met |")
                .contains("RAID-5: 4 KiB random writes spread over 4 sparse 256 GiB members ≥ 0.5× confined to 100 MiB"
                        + " | not in nbd-scale.json | not measured |");
        assertThat(Files.readString(empty.resolve("REPORT.md"))).contains("_No `nbd-scale.json`._");
        assertThat(Files.readString(empty.resolve("README-summary.md")))
                .contains("`scemu serve`), RAID-5 + one snapshot: 4 KiB random writes spread over 4 sparse 256 GiB"
                        + " members ≥ 0.5× confined to 100 MiB | no nbd-scale.json | not measured |");
    }

    @Test
    void aDirectoryThatIsNoRunIsRefusedByName(@TempDir Path dir) {
        assertThatThrownBy(() -> NbdScaleCollector.collect(dir)).hasMessageContaining("no run.properties in " + dir);
    }

    @Test
    void fioWarningsBeforeTheJsonAreSkippedAndAnErrorOrNoWritesMakeTheSliceNotCount(@TempDir Path dir)
            throws Exception {
        Path warned = Files.writeString(dir.resolve("w.json"), "fio: some warning\n" + fioJson(1234.5, 0));
        assertThat(NbdScaleCollector.slice(warned).iops()).isEqualTo(1234.5);
        assertThat(NbdScaleCollector.slice(warned).why()).isNull();
        assertThat(NbdScaleCollector.slice(Files.writeString(dir.resolve("e.json"), fioJson(10, 28))).why())
                .isEqualTo("fio error 28");
        assertThat(NbdScaleCollector.slice(Files.writeString(dir.resolve("z.json"), fioJson(0, 0))).why())
                .isEqualTo("no writes");
        assertThat(NbdScaleCollector.slice(Files.writeString(dir.resolve("t.txt"), "fio: engine nbd failed")).why())
                .isEqualTo("no JSON in t.txt");
        assertThat(NbdScaleCollector.slice(dir.resolve("missing.json"))).isNull();
    }

    // ------------------------------------------------------------------ a hand-made run

    private static void writeRun(Path run) throws IOException {
        writeRunProperties(run, "RAID5,RAID5_SNAPSHOT,RAID0");
        Files.writeString(run.resolve("RAID5.properties"), String.join("\n", "label=RAID-5", "level=5", "snapshot=false",
                "create=scemu create DIR --level 5 --disks 4 --disk-size 256G", "volumeBytes=" + (576L << 30),
                "touchSeconds=2.5", "allocatedBytesBefore=" + (100L << 20), "allocatedBytesAfter=" + (900L << 20),
                "round.1.load=1 1 1", "round.2.load=2 2 2", "round.3.load=3 3 3", "stopSeconds=0.1",
                "deleteSeconds=12.0", ""));
        double[][] raid5 = {{600, 1000}, {1400, 2000}, {300, 1000}};
        for (int r = 1; r <= 3; r++) {
            fio(run, "RAID5-r" + r + "-spread.json", raid5[r - 1][0], 0);
            fio(run, "RAID5-r" + r + "-confined.json", raid5[r - 1][1], 0);
        }
        Files.writeString(run.resolve("RAID5_SNAPSHOT.properties"), String.join("\n", "label=RAID-5 + one snapshot",
                "level=5", "snapshot=true", "volumeBytes=" + (576L << 30), "round.1.load=1", "round.2.load=1",
                "round.3.load=1", ""));
        double[][] snap = {{400, 1000, 400}, {900, 1000, 900}, {800, 1000, 800}};
        for (int r = 1; r <= 3; r++) {
            fio(run, "RAID5_SNAPSHOT-r" + r + "-spread.json", snap[r - 1][0], r == 2 ? 5 : 0);
            fio(run, "RAID5_SNAPSHOT-r" + r + "-confined.json", snap[r - 1][1], 0);
            fio(run, "RAID5_SNAPSHOT-r" + r + "-fresh.json", snap[r - 1][2], 0);
        }
        Files.writeString(run.resolve("RAID0.properties"), String.join("\n", "label=RAID-0", "level=0",
                "snapshot=false", "stopped=free space 1 bytes before round 1 of RAID0, margin 2", ""));
    }

    private static void writeRunProperties(Path run, String stacks) throws IOException {
        Files.writeString(run.resolve("run.properties"), String.join("\n", "fio=fio-3.33", "scemu=scemu test",
                "directory=/var/tmp/x", "fileSystem=ext4", "rounds=3", "seconds=5", "iodepth=16", "blockBytes=4096",
                "confinedBytes=" + (100L << 20), "minFreeBytes=" + (10L << 30), "stacks=" + stacks, "touch=1",
                "stopSignal=KILL", "loadStart=1 1 1", "loadEnd=2 2 2", ""));
    }

    private static void fio(Path run, String name, double iops, int error) throws IOException {
        Files.writeString(run.resolve(name), fioJson(iops, error));
    }

    /** The part of fio's {@code --output-format=json} the collector reads. */
    private static String fioJson(double iops, int error) {
        return Json.write(Map.of("fio version", "fio-3.33", "jobs", List.of(Map.of("jobname", "spread", "error", error,
                "job_runtime", 5000, "read", Map.of("iops", 0.0, "total_ios", 0),
                "write", Map.of("iops", iops, "total_ios", (long) (iops * 5))))));
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> stack(Map<String, Object> result, String name) {
        return (Map<String, Object>) Json.list(result, "stacks").stream()
                .filter(s -> name.equals(((Map<String, Object>) s).get("stack"))).findFirst().orElseThrow();
    }
}
