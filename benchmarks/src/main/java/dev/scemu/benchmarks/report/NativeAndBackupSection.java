package dev.scemu.benchmarks.report;

import static dev.scemu.benchmarks.report.ReportRenderer.f;
import static dev.scemu.benchmarks.report.ReportRenderer.r;

import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * Section 8 of {@code REPORT.md}: issue #21's figures against native tools, each judged against
 * {@code bench/targets.properties}: the parity XOR kernel in use and the RAID-5 full-stripe write
 * ({@code parity.json}, {@code dev.scemu.benchmarks.raid.InterleavedRatios --json}), the diff compare
 * ({@code compare.json}, {@code dev.scemu.benchmarks.snapshot.CompareRatios --json}), and backup and
 * restore beside {@code zstd} ({@code backup.json} and {@code backup-engine.json} of
 * {@code bench/backup.sh}, {@code backup-sparse.json} of {@code bench/backup-sparse.sh}). A missing
 * file gives a note and marks its targets "not measured".
 */
final class NativeAndBackupSection {

    private final ReportRenderer report;
    private final Targets goals;

    NativeAndBackupSection(ReportRenderer report) {
        this.report = report;
        this.goals = report.goals;
    }

    void render() throws IOException {
        report.line("## 8. Parity, compare and backup against native tools (issue #21)");
        report.line("");
        parity();
        compare();
        backupEngine();
        backupProcess();
        sparse();
    }

    // ------------------------------------------------------------------ parity and full-stripe writes

    private void parity() throws IOException {
        report.line("### Parity XOR and RAID-5 full-stripe writes (`InterleavedRatios`, same-run ratios)");
        report.line("");
        String xorIn = "parity XOR, kernel in use ÷ C loop, 4 × 256 KiB (in cache) ≥ " + goals.text("xor.inCache.vsC.min");
        String xorOut = "parity XOR, kernel in use ÷ C loop, 4 × 64 MiB (out of cache) ≥ "
                + goals.text("xor.outOfCache.vsC.min");
        String stripe = "RAID-5 full-stripe write ≥ " + goals.text("raid5.fullStripeWrite.vsMemoryCopy.min")
                + "× a memory copy of the stripe";
        Object json = report.readJson("parity.json");
        if (json == null) {
            missing("parity.json", xorIn, xorOut, stripe);
            return;
        }
        report.line("XOR kernel in use: %s. The cases of a group run in %s ms slices, one after the other, %s rounds in one",
                Json.str(json, "xorKernel"), f(Json.num(json, "sliceMillis"), 0), f(Json.num(json, "rounds"), 0));
        report.line("JVM; a ratio is the median over rounds of the two cases' GB/s in the same round. C loop: `xor4` of");
        report.line("`bench/c/xor.c` (gcc -O3 -march=native) through JNA. Stripe: RAID-5 of 4 × 64 MiB off-heap members,");
        report.line("chunk 64 KiB, 192 KiB of host data per write at a random stripe; its reference copies the same bytes to a");
        report.line("random place of a volume-sized buffer. Load average %s at the start, %s at the end.",
                Json.str(json, "loadStart"), Json.str(json, "loadEnd"));
        report.line("");
        report.line("| ratio | median of rounds (min..max) | GB/s (medians) | target |");
        report.line("|---|---|---|---|");
        judged(json, "xorInCache", "XOR kernel in use ÷ C loop, 4 × 256 KiB (in cache)", xorIn,
                goals.value("xor.inCache.vsC.min"));
        judged(json, "xorOutOfCache", "XOR kernel in use ÷ C loop, 4 × 64 MiB (out of cache)", xorOut,
                goals.value("xor.outOfCache.vsC.min"));
        shown(json, "javaXorInCache", "Java kernel ÷ C loop, in cache (the fallback without ISA-L)");
        shown(json, "javaXorOutOfCache", "Java kernel ÷ C loop, out of cache");
        judged(json, "fullStripeWrite", "RAID-5 full-stripe write ÷ memory copy of the stripe", stripe,
                goals.value("raid5.fullStripeWrite.vsMemoryCopy.min"));
        shown(json, "randomWrite4k", "RAID-5 4 KiB random write ÷ 4 KiB memory copy");
        report.line("");
    }

    /** A row judged against {@code min}; a missing ratio (no C library) is "not measured". */
    private void judged(Object json, String key, String label, String what, double min) {
        Map<String, Object> ratio = Json.obj(json, key);
        if (ratio == null) {
            report.line("| %s | _not measured (no `%s` in parity.json: C library not built?)_ | | ≥ %s |", label, key,
                    r(min));
            report.notMeasured(what, "no " + key + " in parity.json");
            return;
        }
        double median = Json.num(ratio, "medianRatio");
        String verdict = report.target(what, r(median) + "×", median >= min);
        report.line("| %s | **%s** (%s..%s) | %s / %s | ≥ %s: %s |", label, r(median), r(Json.num(ratio, "minRatio")),
                r(Json.num(ratio, "maxRatio")), f(Json.num(ratio, "numeratorMedian"), 1),
                f(Json.num(ratio, "denominatorMedian"), 1), r(min), verdict);
    }

    private void shown(Object json, String key, String label) {
        Map<String, Object> ratio = Json.obj(json, key);
        if (ratio != null) {
            report.line("| %s | %s (%s..%s) | %s / %s | |", label, r(Json.num(ratio, "medianRatio")),
                    r(Json.num(ratio, "minRatio")), r(Json.num(ratio, "maxRatio")),
                    f(Json.num(ratio, "numeratorMedian"), 1), f(Json.num(ratio, "denominatorMedian"), 1));
        }
    }

    // ------------------------------------------------------------------ compare

    private void compare() throws IOException {
        report.line("### The diff compare against `memcmp` (`CompareRatios`, same-run ratios)");
        report.line("");
        String min = goals.text("compare.vsMemcmp.min");
        String what = "diff compare (`BlockCompare.equal`) ≥ " + min + "× `memcmp` called once per compare, every size";
        Object json = report.readJson("compare.json");
        if (json == null) {
            missing("compare.json", what);
            return;
        }
        report.line("Two equal 4096-aligned direct buffers (every byte compared: the worst case). `BlockCompare.equal` is");
        report.line("what the snapshot write path calls (`ByteBuffer.mismatch`, libc `memcmp` through JNA from %s bytes);",
                f(Json.num(json, "nativeMemcmpFromBytes"), 0));
        report.line("the target's reference is `memcmp` as the write path would call it, once per compare through JNA;");
        report.line("the last column is `memcmp` without the call (16 per JNA call, in C). %s rounds of %s ms slices, load",
                f(Json.num(json, "rounds"), 0), f(Json.num(json, "sliceMillis"), 0));
        report.line("average %s at the start, %s at the end.", Json.str(json, "loadStart"), Json.str(json, "loadEnd"));
        report.line("");
        report.line("| bytes | `BlockCompare.equal` GB/s | ÷ `memcmp` called once per compare (min..max) | ÷ `memcmp` without the call |");
        report.line("|---|---|---|---|");
        double worst = Double.POSITIVE_INFINITY;
        for (Object size : Json.list(json, "sizes")) {
            Map<String, Object> call = Json.obj(size, "vsMemcmpCall");
            Map<String, Object> loop = Json.obj(size, "vsMemcmpLoop");
            double median = Json.num(call, "medianRatio");
            worst = Math.min(worst, median);
            report.line("| %s | %s | **%s** (%s..%s) | %s |", f(Json.num(size, "bytes"), 0),
                    f(Json.num(call, "numeratorMedian"), 1), r(median), r(Json.num(call, "minRatio")),
                    r(Json.num(call, "maxRatio")), loop == null ? "–" : r(Json.num(loop, "medianRatio")));
        }
        report.line("");
        if (worst == Double.POSITIVE_INFINITY) {
            report.notMeasured(what, "no sizes in compare.json");
            return;
        }
        report.line("Target \"%s\": lowest **%s** (%s).", what, r(worst),
                report.target(what, r(worst) + "× (lowest size)", worst >= goals.value("compare.vsMemcmp.min")));
        report.line("");
    }

    // ------------------------------------------------------------------ backup

    private void backupEngine() throws IOException {
        report.line("### Backup engine beside `zstd` (`BackupBenchmarkTest` through `bench/backup.sh`)");
        report.line("");
        String speed = "backup engine ≥ " + goals.text("backup.engine.vsZstd.min") + "× `zstd -3 -T2` speed (test image, password)";
        String size = "backup engine image ≤ " + goals.text("backup.engine.sizeVsZstd.max") + "× `zstd -3` output";
        String restore = "restore engine ≥ " + goals.text("backup.restore.vsZstdDecompress.min")
                + "× `zstd -d -T2` speed (test image, password)";
        Object json = report.readJson("backup-engine.json");
        if (!(json instanceof List<?> cases) || cases.isEmpty()) {
            missing("backup-engine.json", speed, size, restore);
            return;
        }
        report.line("`BackupEngine.backup`/`restore` in a warm JVM on an off-heap volume holding the 1 GiB test image");
        report.line("(`../shared/bench/make-test-image.sh IMG 1024 42`), beside `zstd` on the same bytes in a tmpfs directory,");
        report.line("medians of the runs; restore checks every chunk against the authenticated index first (the default).");
        report.line("");
        report.line("| volume | password | backup s | `zstd -3 -T2` s | speed ÷ zstd | image ÷ zstd size | restore s | `zstd -d -T2` s | restore speed ÷ zstd -d |");
        report.line("|---|---|---|---|---|---|---|---|---|");
        Object judged = null;
        for (Object c : cases) {
            boolean encrypted = Boolean.parseBoolean(Json.str(c, "encrypted"));
            if (judged == null && encrypted) {
                judged = c;
            }
            report.line("| %s | %s | %s | %s | %s | %s | %s | %s | %s |", Json.str(c, "volume"), encrypted ? "yes" : "no",
                    f(Json.num(c, "backupSeconds"), 3), f(Json.num(c, "zstdSeconds"), 3), r(speed(c)), r(sizeRatio(c)),
                    f(Json.num(c, "restoreSeconds"), 3), f(Json.num(c, "zstdDecompressSeconds"), 3), r(restoreSpeed(c)));
        }
        report.line("");
        if (judged == null) {
            report.notMeasured(speed, "no encrypted case in backup-engine.json");
            report.notMeasured(size, "no encrypted case in backup-engine.json");
            report.notMeasured(restore, "no encrypted case in backup-engine.json");
            return;
        }
        report.line("Targets, %s with a password: %s → **%s** (%s); %s → **%s** (%s); %s → **%s** (%s).",
                Json.str(judged, "volume"), speed, r(speed(judged)),
                report.target(speed, r(speed(judged)) + "×", speed(judged) >= goals.value("backup.engine.vsZstd.min")),
                size, r(sizeRatio(judged)),
                report.target(size, r(sizeRatio(judged)) + "×", sizeRatio(judged) <= goals.value("backup.engine.sizeVsZstd.max")),
                restore, r(restoreSpeed(judged)),
                report.target(restore, r(restoreSpeed(judged)) + "×",
                        restoreSpeed(judged) >= goals.value("backup.restore.vsZstdDecompress.min")));
        report.line("");
    }

    private static double speed(Object c) {
        return ReportRenderer.div(Json.num(c, "zstdSeconds"), Json.num(c, "backupSeconds"));
    }

    private static double sizeRatio(Object c) {
        return ReportRenderer.div(Json.num(c, "imageBytes"), Json.num(c, "zstdBytes"));
    }

    private static double restoreSpeed(Object c) {
        return ReportRenderer.div(Json.num(c, "zstdDecompressSeconds"), Json.num(c, "restoreSeconds"));
    }

    private void backupProcess() throws IOException {
        report.line("### Whole processes: `scemu backup create` and `scemu backup restore` beside `zstd` (`bench/backup.sh`)");
        report.line("");
        String create = "whole `scemu backup create` ≥ " + goals.text("backup.process.vsZstd.min") + "× `zstd -3 -T2` speed";
        String restore = "whole `scemu backup restore` ≥ " + goals.text("backup.restore.vsZstdDecompress.min")
                + "× `zstd -d -T2` speed";
        Object json = report.readJson("backup.json");
        if (json == null) {
            missing("backup.json", create, restore);
            return;
        }
        double createSpeed = ReportRenderer.div(Json.num(json, "zstdSeconds"), Json.num(json, "createSeconds"));
        double restoreSpeed = ReportRenderer.div(Json.num(json, "zstdDecompressSeconds"), Json.num(json, "restoreSeconds"));
        report.line("The test image written into a unit (`scemu create --disk-size=640M`: RAID-5 of 4 mapped files) with");
        report.line("`nbdcopy`, then `scemu backup create UNIT -t DIR --password-file F` (JVM start, unit open, Argon2id,");
        report.line("snapshot, backup) and `scemu backup restore` against `zstd -3 -T2 IMG` and `zstd -d -T2`, all in tmpfs;");
        report.line("medians of %s interleaved rounds after an untimed warm-up round (%s CPUs, load %s).", f(Json.num(json, "runs"), 0),
                f(Json.num(json, "nproc"), 0), Json.str(json, "load"));
        report.line("");
        report.line("| command | seconds (median) | rounds | speed ÷ zstd | output bytes |");
        report.line("|---|---|---|---|---|");
        report.line("| `zstd -3 -T2` | %s | %s | 1 | %s |", f(Json.num(json, "zstdSeconds"), 3), rounds(json, "zstdRounds"),
                f(Json.num(json, "zstdBytes"), 0));
        report.line("| `scemu backup create` | %s | %s | **%s** | %s |", f(Json.num(json, "createSeconds"), 3),
                rounds(json, "createRounds"), r(createSpeed), f(Json.num(json, "scemuImageBytes"), 0));
        report.line("| `zstd -d -T2` | %s | %s | 1 | |", f(Json.num(json, "zstdDecompressSeconds"), 3),
                rounds(json, "zstdDecompressRounds"));
        report.line("| `scemu backup restore` | %s | %s | **%s** | |", f(Json.num(json, "restoreSeconds"), 3),
                rounds(json, "restoreRounds"), r(restoreSpeed));
        report.line("");
        report.line("Targets: %s → **%s** (%s); %s → **%s** (%s).", create, r(createSpeed),
                report.target(create, r(createSpeed) + "×", createSpeed >= goals.value("backup.process.vsZstd.min")),
                restore, r(restoreSpeed), report.target(restore, r(restoreSpeed) + "×",
                        restoreSpeed >= goals.value("backup.restore.vsZstdDecompress.min")));
        report.line("");
    }

    private static String rounds(Object json, String key) {
        StringBuilder out = new StringBuilder();
        for (Object v : Json.list(json, key)) {
            out.append(out.length() == 0 ? "" : " ").append(f(((Number) v).doubleValue(), 2));
        }
        return out.toString();
    }

    private void sparse() throws IOException {
        report.line("### Sparse volume: 576 GiB holding 10 MB (`bench/backup-sparse.sh`)");
        report.line("");
        String seconds = "backup of a 576 GiB volume (4 sparse 256 GiB members) holding 10 MB < "
                + goals.text("backup.sparse.seconds.max") + " s, whole process";
        String stored = "its image stores ≤ " + goals.text("backup.sparse.storedVsWritten.max")
                + "× the bytes written before compression";
        Object json = report.readJson("backup-sparse.json");
        if (json == null) {
            missing("backup-sparse.json", seconds, stored);
            return;
        }
        double create = Json.num(json, "createSeconds");
        double storedRatio = ReportRenderer.div(Json.num(json, "storedBytes"), Json.num(json, "dataBytesWritten"));
        report.line("`scemu create --level 5 --disks 4 --disk-size 256G` (member files on a file system `stat -f` calls %s), %s bytes written through",
                Json.str(json, "benchDirFsType"), f(Json.num(json, "dataBytesWritten"), 0));
        report.line("`scemu serve` with qemu-io at four places, then `scemu backup create` with a password and `scemu backup");
        report.line("restore`, whole processes, medians of %s rounds.", f(Json.num(json, "runs"), 0));
        report.line("");
        report.line("| volume bytes | backup create s | restore s | stored bytes | image bytes |");
        report.line("|---|---|---|---|---|");
        report.line("| %s | **%s** | %s | %s | %s |", f(Json.num(json, "volumeBytes"), 0), f(create, 2),
                f(Json.num(json, "restoreSeconds"), 2), f(Json.num(json, "storedBytes"), 0),
                f(Json.num(json, "imageBytes"), 0));
        report.line("");
        report.line("Targets: %s → **%s s** (%s); %s → **%s×** (%s).", seconds, f(create, 2),
                report.target(seconds, f(create, 2) + " s", create < goals.value("backup.sparse.seconds.max")), stored,
                r(storedRatio), report.target(stored, r(storedRatio) + "×",
                        storedRatio <= goals.value("backup.sparse.storedVsWritten.max")));
        report.line("");
    }

    private void missing(String file, String... targets) {
        report.line("_No `%s` in this run._", file);
        report.line("");
        for (String what : targets) {
            report.notMeasured(what, "no " + file);
        }
    }
}
