package dev.scemu.benchmarks.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.io.File;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.CategoryAxis;
import org.jfree.chart.axis.CategoryLabelPositions;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.labels.StandardCategoryItemLabelGenerator;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.renderer.category.BarRenderer;
import org.jfree.chart.renderer.category.StandardBarPainter;
import org.jfree.chart.renderer.category.StackedBarRenderer;
import org.jfree.data.category.DefaultCategoryDataset;

/**
 * Renders {@code REPORT.md} and the PNG charts of one {@code bench/report.sh} run from that run's
 * files in the results directory (nothing typed by hand):
 * <ul>
 *   <li>{@code meta.properties}: date, machine, JDK, load averages, the command (written by the script);</li>
 *   <li>{@code stack.json}: JMH result of {@code StackThroughputBenchmark};</li>
 *   <li>{@code wa.json}: {@link WriteAmplificationHarness};</li>
 *   <li>{@code latency.json}: {@code dev.scemu.benchmarks.latency.HostWriteLatencyHarness};</li>
 *   <li>{@code concurrency.json}: {@code dev.scemu.benchmarks.raid.ConcurrencyRatio} (RAID-5 writes, 4
 *       threads against 1, same-run ratio);</li>
 *   <li>{@code scale.json}: {@code dev.scemu.benchmarks.raid.ScaleRatio} (writes spread over 4 sparse
 *       256 GiB members against writes confined to 100 MiB, same-run ratio per stack);</li>
 *   <li>{@code nbd-scale.json}: {@code bench/nbd-scale.sh} through {@link NbdScaleCollector} (the same
 *       target as {@code scale.json}, as issue #20 words it: fio over NBD against {@code scemu serve});</li>
 *   <li>{@code nbd/SERVER-JOB.json}: fio's JSON output per server and job, and
 *       {@code nbd/servers.properties} (which servers ran, which were skipped and why);</li>
 *   <li>{@code parity.json}, {@code compare.json}, {@code backup.json}, {@code backup-engine.json},
 *       {@code backup-sparse.json}: the parity, compare and backup figures against native tools
 *       ({@link NativeAndBackupSection}).</li>
 * </ul>
 * A missing input gives a note in its section instead of figures. Runs headless.
 *
 * <p>Usage: {@code ReportRenderer RESULTS_DIR}
 */
public final class ReportRenderer {

    static final int W = 1000;
    static final int H = 560;
    static final String[] STACKS = {"MEDIA", "RAID0", "RAID1", "RAID5", "RAID5_SNAPSHOT", "UNIT_MEMORY", "UNIT_MAPPED"};
    static final String[][] STACK_OPS = {
            {"randomWrite4k", "copyIn4k", "4 KiB random write"},
            {"randomRead4k", "copyOut4k", "4 KiB random read"},
            {"seqWrite1m", "copyIn1m", "1 MiB sequential write"},
            {"seqRead1m", "copyOut1m", "1 MiB sequential read"}};
    static final String[] CAUSES = {"HOST", "PARITY", "COW_COPY", "JOURNAL", "METADATA", "REBUILD"};
    static final String[][] NBD_JOBS = {
            {"randwrite-4k-qd1", "4 KiB random write QD1", "iops"},
            {"randwrite-4k-qd16", "4 KiB random write QD16", "iops"},
            {"write-1m-qd8", "1 MiB sequential write QD8", "mbps"},
            {"randread-4k-qd1", "4 KiB random read QD1", "iops"},
            {"randread-4k-qd16", "4 KiB random read QD16", "iops"}};

    private final Path dir;
    private final StringBuilder md = new StringBuilder();
    private final Properties meta = new Properties();
    /** Furthest-from-ceiling candidates: label -> ratio. */
    private final Map<String, Double> gaps = new LinkedHashMap<>();
    /** Each target of bench/targets.properties evaluated in this run: {target, measured, met / NOT met}. */
    private final List<String[]> targets = new ArrayList<>();

    final Targets goals;

    private ReportRenderer(Path dir, Targets goals) {
        this.dir = dir;
        this.goals = goals;
    }

    /** {@code ReportRenderer [RESULTS_DIR [TARGETS_FILE]]}: defaults bench/results and bench/targets.properties. */
    public static void main(String[] args) throws IOException {
        System.setProperty("java.awt.headless", "true");
        Path dir = Path.of(args.length > 0 ? args[0] : "bench/results");
        Targets goals = Targets.load(Path.of(args.length > 1 ? args[1] : "bench/targets.properties"));
        ReportRenderer r = new ReportRenderer(dir, goals);
        r.render();
        System.out.println("report: " + dir.resolve("REPORT.md"));
    }

    private void render() throws IOException {
        Path metaFile = dir.resolve("meta.properties");
        if (Files.exists(metaFile)) {
            try (Reader in = Files.newBufferedReader(metaFile)) {
                meta.load(in);
            }
        }
        header();
        stacks();
        writeAmplification();
        latency();
        concurrency();
        scale();
        nbdScale();
        nbd();
        summary();
        new NativeAndBackupSection(this).render();
        Files.writeString(dir.resolve("REPORT.md"), md.toString());
        Files.writeString(dir.resolve("README-summary.md"), readmeSummary());
    }

    /** Records a target's outcome for the README summary and returns "met" / "NOT met". */
    String target(String what, String measured, boolean met) {
        String verdict = met ? "met" : "NOT met";
        targets.add(new String[] {what, measured, verdict});
        return verdict;
    }

    /** Records a target this run has no figure for (its input is missing), so the summary shows the gap. */
    void notMeasured(String what, String why) {
        targets.add(new String[] {what, why, "not measured"});
    }

    /**
     * The block {@code bench/report.sh} puts into README.md between its report markers: where and when
     * this run was measured, and each target's outcome — so no figure in the README is typed by hand.
     */
    private String readmeSummary() {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "Measured by `%s` on %s at commit %s%s (%s vCPU %s, %s memory, JDK %s; load"
                        + " average %s at the start, %s at the end), from [bench/results/REPORT.md](bench/results/REPORT.md)"
                        + " and its raw JSON beside it:%n%n",
                m("command"), m("date.start"), m("git.sha"), "true".equals(m("git.dirty")) ? " with uncommitted changes"
                        : "", m("nproc"), m("cpu"), m("memory"), m("jdk"), m("load.start"), m("load.end")));
        out.append("| target ([bench/targets.properties](bench/targets.properties)) | this run | |\n|---|---|---|\n");
        for (String[] t : targets) {
            out.append("| ").append(t[0]).append(" | ").append(t[1]).append(" | ").append(t[2]).append(" |\n");
        }
        return out.toString();
    }

    // ================================================================== helpers

    Object readJson(String name) throws IOException {
        Path p = dir.resolve(name);
        if (!Files.exists(p) || Files.size(p) == 0) {
            return null;
        }
        return Json.parse(Files.readString(p));
    }

    void line(String format, Object... args) {
        md.append(String.format(Locale.ROOT, format, args)).append('\n');
    }

    private String m(String key) {
        return meta.getProperty(key, "?");
    }

    static String f(double v, int decimals) {
        if (Double.isNaN(v)) {
            return "–";
        }
        return String.format(Locale.ROOT, "%,." + decimals + "f", v);
    }

    /** Ratio with 2 significant-ish decimals (3 below 0.1). */
    static String r(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return "–";
        }
        return String.format(Locale.ROOT, v < 0.1 ? "%.3f" : "%.2f", v);
    }

    static double div(double a, double b) {
        return b == 0 || Double.isNaN(a) || Double.isNaN(b) ? Double.NaN : a / b;
    }

    private static void style(JFreeChart chart) {
        chart.setBackgroundPaint(Color.WHITE);
        chart.getTitle().setFont(new Font("SansSerif", Font.BOLD, 16));
        CategoryPlot plot = chart.getCategoryPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        plot.setDomainGridlinesVisible(false);
        if (plot.getRenderer() instanceof BarRenderer bar) {
            bar.setBarPainter(new StandardBarPainter());
            bar.setShadowVisible(false);
            bar.setItemMargin(0.02);
        }
    }

    private void save(JFreeChart chart, String name) throws IOException {
        ChartUtils.saveChartAsPNG(new File(dir.toFile(), name), chart, W, H);
    }

    /** A grouped bar chart on a log axis, values labelled. */
    private void logBars(String file, String title, String axis, DefaultCategoryDataset data, double lower,
                         String labelFormat, Double marker, String markerLabel) throws IOException {
        JFreeChart chart = ChartFactory.createBarChart(title, null, axis, data, PlotOrientation.VERTICAL, true, false,
                false);
        style(chart);
        CategoryPlot plot = chart.getCategoryPlot();
        LogAxis log = new LogAxis(axis);
        log.setSmallestValue(lower);
        log.setNumberFormatOverride(new DecimalFormat("0.###"));
        log.setBase(10);
        log.setTickUnit(new org.jfree.chart.axis.NumberTickUnit(1.0)); // one tick per power of ten
        log.setMinorTickMarksVisible(true);
        plot.setRangeAxis(log);
        double max = lower;
        for (int row = 0; row < data.getRowCount(); row++) {
            for (int col = 0; col < data.getColumnCount(); col++) {
                Number n = data.getValue(row, col);
                if (n != null && !Double.isNaN(n.doubleValue())) {
                    max = Math.max(max, n.doubleValue());
                }
            }
        }
        log.setRange(lower, max * 3);
        BarRenderer renderer = (BarRenderer) plot.getRenderer();
        renderer.setBase(lower);
        renderer.setDefaultItemLabelGenerator(new StandardCategoryItemLabelGenerator("{2}",
                new DecimalFormat(labelFormat)));
        renderer.setDefaultItemLabelsVisible(true);
        renderer.setDefaultItemLabelFont(new Font("SansSerif", Font.PLAIN, 10));
        CategoryAxis domain = plot.getDomainAxis();
        domain.setCategoryLabelPositions(CategoryLabelPositions.STANDARD);
        domain.setMaximumCategoryLabelLines(2);
        if (marker != null) {
            ValueMarker line = new ValueMarker(marker, Color.RED, new BasicStroke(1.5f));
            line.setLabel(markerLabel);
            line.setLabelFont(new Font("SansSerif", Font.PLAIN, 11));
            line.setLabelAnchor(org.jfree.chart.ui.RectangleAnchor.TOP_RIGHT);
            line.setLabelTextAnchor(org.jfree.chart.ui.TextAnchor.BOTTOM_RIGHT);
            plot.addRangeMarker(line);
        }
        save(chart, file);
    }

    // ================================================================== sections

    private void header() {
        line("# scemu performance report");
        line("");
        line("Generated by `bench/report.sh` from this run's JSON (committed beside this file in `%s`); every figure",
                dir);
        line("below comes from that run.");
        line("Absolute figures on this shared machine move by ±20 %% or more between runs: read the **ratios**, each");
        line("between two figures measured in the same run. Targets are those of `%s`.", goals.file());
        line("");
        line("| | |");
        line("|---|---|");
        line("| date (UTC) | %s → %s |", m("date.start"), m("date.end"));
        line("| commit | %s%s |", m("git.sha"), "true".equals(m("git.dirty")) ? " (with uncommitted changes: `git.dirty=true`)" : "");
        line("| command | `%s` (mode %s) |", m("command"), m("mode"));
        line("| machine | %s vCPU, %s, %s memory |", m("nproc"), m("cpu"), m("memory"));
        line("| JDK | %s |", m("jdk"));
        line("| load average (1/5/15 min) | start %s, end %s |", m("load.start"), m("load.end"));
        line("| JMH | `%s` |", m("jmh.args"));
        line("| fio | %s |", m("fio"));
        line("| parity XOR kernel (raid `XorKernel`) | %s |", m("xor.kernel"));
        line("| duration | %s s |", m("seconds"));
        line("");
    }

    private void stacks() throws IOException {
        line("## 1. Throughput of each layer stack against a memory copy (JMH, `StackThroughputBenchmark`)");
        line("");
        Object json = readJson("stack.json");
        if (json == null) {
            line("_No `stack.json`: the JMH run did not produce results._");
            line("");
            return;
        }
        Map<String, Map<String, double[]>> byStack = new LinkedHashMap<>();
        Map<String, double[]> ceiling = new LinkedHashMap<>();
        for (Object o : (List<?>) json) {
            String bench = Json.str(o, "benchmark");
            String method = bench.substring(bench.lastIndexOf('.') + 1);
            Map<String, Object> primary = Json.obj(o, "primaryMetric");
            double score = Json.num(primary, "score");
            double error = Json.num(primary, "scoreError");
            Map<String, Object> params = Json.obj(o, "params");
            if (params == null || params.get("stack") == null) {
                ceiling.put(method, new double[] {score, error});
            } else {
                byStack.computeIfAbsent((String) params.get("stack"), k -> new LinkedHashMap<>())
                        .put(method, new double[] {score, error});
            }
        }
        line("Each cell: MB/s of the stack, and in brackets its ratio to the plain memory copy of the same size");
        line("(into / out of an off-heap buffer as large as the volume, 96 MiB), measured in the same run.");
        line("");
        StringBuilder head = new StringBuilder("| stack |");
        StringBuilder rule = new StringBuilder("|---|");
        for (String[] op : STACK_OPS) {
            head.append(' ').append(op[2]).append(" |");
            rule.append("---|");
        }
        line("%s", head);
        line("%s", rule);
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (String stack : STACKS) {
            Map<String, double[]> ops = byStack.get(stack);
            if (ops == null) {
                continue;
            }
            StringBuilder row = new StringBuilder("| " + stackLabel(stack) + " |");
            for (String[] op : STACK_OPS) {
                double bytes = op[0].endsWith("1m") ? 1 << 20 : 4096;
                double[] s = ops.get(op[0]);
                double[] c = ceiling.get(op[1]);
                double mbps = s == null ? Double.NaN : s[0] * bytes / 1e6;
                double ratio = s == null || c == null ? Double.NaN : s[0] / c[0];
                row.append(' ').append(f(mbps, 0)).append(" (").append(r(ratio)).append(") |");
                if (!Double.isNaN(ratio)) {
                    data.addValue(ratio, op[2], stackLabel(stack));
                    gaps.put(stackLabel(stack) + ", " + op[2], ratio);
                }
            }
            line("%s", row);
        }
        StringBuilder row = new StringBuilder("| **memory copy (ceiling)** |");
        for (String[] op : STACK_OPS) {
            double bytes = op[0].endsWith("1m") ? 1 << 20 : 4096;
            double[] c = ceiling.get(op[1]);
            row.append(' ').append(c == null ? "–" : f(c[0] * bytes / 1e6, 0)).append(" (1) |");
        }
        line("%s", row);
        line("");
        line("Stacks: MEDIA = one `Media.memory` device; RAID0 / RAID5 = 4 off-heap members, RAID1 = 2, chunk 64 KiB,");
        line("internal bitmap, `assumeClean`; RAID5_SNAPSHOT = RAID-5 of 4 members split into data + snapshot store,");
        line("`SnapshotVolume` with one active snapshot (most measured writes overwrite blocks already copied). All");
        line("volumes 96 MiB, prefilled, seeded offsets; one thread, no flush inside the measured operation.");
        line("UNIT_MAPPED = what `scemu serve` exports: a `StorageControlUnit` as `scemu create --level 5 --disks 4");
        line("--disk-size 64M` makes it, on mapped-file members (fault-injecting, one power domain), its volume with one");
        line("snapshot; UNIT_MEMORY = the same unit on off-heap members (volumes 135 MiB).");
        line("The NBD layer on top of RAID5_SNAPSHOT is measured with fio in section 4.");
        line("");
        logBars("stack-throughput.png", "Layer stacks: throughput / memory copy of the same size (same run)",
                "ratio to memory copy (log)", data, 0.01, "0.000", 1.0, "ceiling = 1");
        line("![stack throughput](stack-throughput.png)");
        line("");
    }

    private static String stackLabel(String stack) {
        return switch (stack) {
            case "MEDIA" -> "media";
            case "RAID0" -> "RAID-0";
            case "RAID1" -> "RAID-1";
            case "RAID5" -> "RAID-5";
            case "RAID5_SNAPSHOT" -> "RAID-5 + snapshot";
            case "UNIT_MEMORY" -> "unit (off-heap)";
            case "UNIT_MAPPED" -> "unit (mapped files, as served)";
            default -> stack;
        };
    }

    private void writeAmplification() throws IOException {
        line("## 2. Write amplification by cause (`WriteAmplificationHarness`, read from the `IoMeter`s)");
        line("");
        Object json = readJson("wa.json");
        if (json == null) {
            line("_No `wa.json`._");
            line("");
            return;
        }
        line("Unit: %s. Physical bytes the array wrote to its members per byte the host wrote, by cause: the", Json.str(json, "unit"));
        line("array's data writes are split by what the snapshot volume issued them for (HOST, COW_COPY, JOURNAL,");
        line("METADATA); PARITY, REBUILD and the array's own METADATA/JOURNAL come from the array meter. \"volume WA\"");
        line("is the snapshot layer alone (block writes it issued per host block, the first-write target of bench/targets.properties).");
        line("");
        StringBuilder head = new StringBuilder("| scenario | host writes |");
        StringBuilder rule = new StringBuilder("|---|---|");
        for (String c : CAUSES) {
            head.append(' ').append(c).append(" |");
            rule.append("---|");
        }
        head.append(" physical total | volume WA | skipped | RAID reads / host byte |");
        rule.append("---|---|---|---|");
        line("%s", head);
        line("%s", rule);
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        Map<String, Double> volumeWa = new LinkedHashMap<>();
        for (Object s : Json.list(json, "scenarios")) {
            String name = Json.str(s, "description");
            Map<String, Object> per = Json.obj(s, "perHostByte");
            double host = Json.num(s, "hostWriteBytes");
            StringBuilder row = new StringBuilder("| " + name + " | " + f(Json.num(s, "hostWriteOps"), 0) + " |");
            for (String c : CAUSES) {
                double v = Json.num(per, c);
                row.append(' ').append(f(v, 4)).append(" |");
                data.addValue(Double.isNaN(v) ? 0 : v, c, shortName(Json.str(s, "name")));
            }
            double unattributed = Json.num(per, "unattributed");
            row.append(' ').append(f(Json.num(s, "physicalPerHostByte"), 4)).append(" | ")
                    .append(f(Json.num(s, "volumeWriteAmplification"), 4)).append(" | ")
                    .append(f(div(Json.num(s, "skippedBytes"), host), 4)).append(" | ")
                    .append(f(Json.num(s, "arrayReadsIssuedPerHostByte"), 4)).append(" |");
            line("%s", row);
            volumeWa.put(Json.str(s, "name"), Json.num(s, "volumeWriteAmplification"));
            if (unattributed != 0 && !Double.isNaN(unattributed)) {
                line("| ↳ unattributed array writes | | %s per host byte | | | | | | | | |", f(unattributed, 4));
            }
            if (s instanceof Map<?, ?> map && map.containsKey("rebuildRanThroughoutHostWrites")) {
                line("| ↳ rebuild still running after the last host write: %s | | | | | | | | | | |",
                        map.get("rebuildRanThroughoutHostWrites"));
            }
        }
        line("");
        double identical = volumeWa.getOrDefault("rewriteIdentical4k", Double.NaN);
        double first16 = volumeWa.getOrDefault("firstWriteAfter16Snapshots", Double.NaN);
        String identicalMax = goals.text("wa.rewriteIdentical.max");
        String first16Max = goals.text("wa.firstWriteAfter16Snapshots.max");
        line("Targets: rewrite of identical data ≤ %s → volume WA **%s** (%s); first 4 KiB write after 16 snapshots",
                identicalMax, f(identical, 4), target("write amplification of a rewrite of identical data ≤ " + identicalMax,
                        f(identical, 4), identical <= goals.value("wa.rewriteIdentical.max")));
        line("≤ %s block writes per host block → volume WA **%s** (%s). REBUILD is the whole rebuild's bytes over",
                first16Max, f(first16, 4), target("first 4 KiB write after 16 snapshots ≤ " + first16Max
                        + " block writes per host block", f(first16, 4),
                        first16 <= goals.value("wa.firstWriteAfter16Snapshots.max")));
        line("the host bytes written while it ran (not caused by them); the other rows exclude it by construction.");
        line("");
        JFreeChart chart = ChartFactory.createStackedBarChart("Write amplification by cause (physical bytes per host byte)",
                null, "physical bytes written per host byte", data, PlotOrientation.VERTICAL, true, false, false);
        style(chart);
        StackedBarRenderer renderer = (StackedBarRenderer) chart.getCategoryPlot().getRenderer();
        renderer.setDefaultItemLabelGenerator(new StandardCategoryItemLabelGenerator("{2}", new DecimalFormat("0.##")) {
            @Override
            public String generateLabel(org.jfree.data.category.CategoryDataset dataset, int row, int column) {
                Number n = dataset.getValue(row, column);
                return n == null || n.doubleValue() < 0.05 ? null : super.generateLabel(dataset, row, column);
            }
        });
        renderer.setDefaultItemLabelsVisible(true);
        renderer.setMaximumBarWidth(0.12);
        chart.getCategoryPlot().getDomainAxis().setMaximumCategoryLabelLines(3);
        save(chart, "wa-by-cause.png");
        line("![write amplification by cause](wa-by-cause.png)");
        line("");
    }

    private static String shortName(String name) {
        return switch (name) {
            case "random4k" -> "random 4 KiB";
            case "sequential1m" -> "sequential 1 MiB";
            case "rewriteIdentical4k" -> "identical rewrite";
            case "firstWriteAfter1Snapshot" -> "first write, 1 snapshot";
            case "firstWriteAfter16Snapshots" -> "first write, 16 snapshots";
            case "firstSequentialAfter1Snapshot" -> "first seq. 1 MiB, 1 snapshot";
            case "duringRebuild" -> "during rebuild";
            default -> name;
        };
    }

    private void latency() throws IOException {
        line("## 3. Host write latency, 4 KiB at QD1 through `StorageControlUnit.host()` (`HostWriteLatencyHarness`)");
        line("");
        Object json = readJson("latency.json");
        if (json == null) {
            line("_No `latency.json`._");
            line("");
            return;
        }
        line("Unit: %s; %s s per phase, HdrHistogram (3 significant digits).", Json.str(json, "unit"),
                f(Json.num(json, "secondsPerPhase"), 1));
        line("");
        line("| phase | writes | writes/s | p50 µs | p99 µs | p99.9 µs | max µs | p99 / baseline p99 | rebuild MB/s (its minimum) |");
        line("|---|---|---|---|---|---|---|---|---|");
        Map<String, Object> byName = new LinkedHashMap<>();
        double baseP99 = Double.NaN;
        double updateP99 = Double.NaN;
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (Object p : Json.list(json, "phases")) {
            String name = Json.str(p, "name");
            double p99 = Json.num(p, "p99Micros");
            if (name.equals("baseline")) {
                baseP99 = p99;
            }
            if (name.equals("firmwareUpdate")) {
                updateP99 = p99;
            }
            byName.put(name, p);
            double speed = Json.num(p, "rebuildBytesPerSecond");
            double min = Json.num(p, "minBytesPerSecond");
            String rebuild = Double.isNaN(speed) ? "" : f(speed / 1e6, 2) + (Double.isNaN(min) ? "" : " (" + f(min / 1e6, 2) + ")");
            line("| %s: %s | %s | %s | %s | %s | %s | %s | %s | %s |", name, Json.str(p, "description"),
                    f(Json.num(p, "count"), 0), f(Json.num(p, "opsPerSecond"), 0), f(Json.num(p, "p50Micros"), 1),
                    f(p99, 1), f(Json.num(p, "p999Micros"), 1), f(Json.num(p, "maxMicros"), 1), r(div(p99, baseP99)),
                    rebuild);
            data.addValue(Json.num(p, "p50Micros"), "p50", name);
            data.addValue(p99, "p99", name);
            data.addValue(Json.num(p, "p999Micros"), "p99.9", name);
            data.addValue(Json.num(p, "maxMicros"), "max", name);
        }
        line("");
        rebuildTargets(byName);
        Map<String, Object> updates = Json.obj(json, "firmwareUpdates");
        if (updates != null) {
            Map<String, Object> pause = Json.obj(updates, "switchPause");
            Map<String, Object> drain = Json.obj(updates, "drain");
            Map<String, Object> total = Json.obj(updates, "stagePlusUpdate");
            double pauseP99 = Json.num(pause, "p99Micros");
            line("Firmware updates during the `firmwareUpdate` phase: %s (outcomes %s, last version %s), flash bytes",
                    f(Json.num(updates, "count"), 0), outcomes(Json.obj(updates, "outcomes")), Json.str(updates, "lastVersion"));
            line("written per update %s.", f(Json.num(updates, "flashBytesWrittenPerUpdate"), 0));
            line("");
            line("| per update (from `UpdateReport`) | p50 µs | p99 µs | max µs |");
            line("|---|---|---|---|");
            line("| switch pause (host I/O held) | %s | %s | %s |", f(Json.num(pause, "p50Micros"), 1), f(pauseP99, 1),
                    f(Json.num(pause, "maxMicros"), 1));
            line("| drain after the switch: requests of the old image finishing (host I/O not held) | %s | %s | %s |",
                    f(Json.num(drain, "p50Micros"), 1), f(Json.num(drain, "p99Micros"), 1),
                    f(Json.num(drain, "maxMicros"), 1));
            line("| stage + update, whole call | %s | %s | %s |", f(Json.num(total, "p50Micros"), 1),
                    f(Json.num(total, "p99Micros"), 1), f(Json.num(total, "maxMicros"), 1));
            line("");
            String pauseMax = goals.text("firmware.switchPauseP99Millis.max");
            line("Target \"longest I/O pause during a firmware update p99 < %s ms\": switch pause p99 **%s ms** (%s; with",
                    pauseMax, f(pauseP99 / 1e3, 2), target("firmware update: host I/O pause (switch) p99 < " + pauseMax + " ms",
                            f(pauseP99 / 1e3, 2) + " ms", pauseP99 < goals.value("firmware.switchPauseP99Millis.max") * 1e3));
            line("%s updates, HdrHistogram's p99 is one of the largest pauses). Host write p99 during updates / without: **%s**.",
                    f(Json.num(updates, "count"), 0), r(div(updateP99, baseP99)));
            line("");
        }
        logBars("latency.png", "4 KiB host write latency at QD1 (µs, log)", "µs (log)", data, 1, "#,##0", 10_000.0,
                "10 ms");
        line("![host write latency](latency.png)");
        line("");
    }

    /**
     * #20's "host write p99 during a rebuild ≤ N× the baseline p99, while the rebuild keeps at
     * least its minimum speed", judged on two pairs of phases of the same run, each a throttled
     * rebuild against the phase without rebuild in the same snapshot state: no snapshot
     * ({@code rebuild-throttled-no-snapshot} / {@code baseline}) and one snapshot
     * ({@code rebuild-throttled} / {@code snapshot-steady}).
     */
    private void rebuildTargets(Map<String, Object> byName) {
        String max = goals.text("rebuild.hostWriteP99VsBaseline.max");
        String[][] pairs = {
                {"rebuild-throttled-no-snapshot", "baseline", "no snapshot"},
                {"rebuild-throttled", "snapshot-steady", "one snapshot"}};
        line("Target \"host write p99 during a rebuild ≤ %s× the baseline p99, while the rebuild keeps at least its", max);
        line("minimum speed\" (md's `speed_limit_min`), each throttled rebuild against the phase of the same snapshot");
        line("state without a rebuild, measured just before it in this run:");
        line("");
        for (String[] pair : pairs) {
            String what = "host write p99 during a rebuild (" + pair[2] + ") ≤ " + max
                    + "× the same state's p99 without one, rebuild ≥ its minimum speed";
            Object rebuild = byName.get(pair[0]);
            Object base = byName.get(pair[1]);
            if (rebuild == null || base == null) {
                line("- %s: _phase `%s` or `%s` missing from `latency.json`_", pair[2], pair[0], pair[1]);
                notMeasured(what, "phase " + (rebuild == null ? pair[0] : pair[1]) + " missing");
                continue;
            }
            double ratio = div(Json.num(rebuild, "p99Micros"), Json.num(base, "p99Micros"));
            double speed = Json.num(rebuild, "rebuildBytesPerSecond");
            double min = Json.num(rebuild, "minBytesPerSecond");
            // progress comes once per rebuild unit, so a speed measured over S seconds is exact to one
            // unit / S: the rebuild kept its minimum unless it fell short by more than that
            double resolution = div(Json.num(rebuild, "rebuildUnitBytes"), Json.num(rebuild, "rebuildMeasuredSeconds"));
            boolean kept = speed >= min - (Double.isNaN(resolution) ? 0 : resolution);
            boolean met = ratio <= goals.value("rebuild.hostWriteP99VsBaseline.max") && kept;
            line("- %s: `%s` p99 %s µs / `%s` p99 %s µs = **%s×**; the rebuild ran at **%s MB/s**, %s× its minimum"
                            + " %s MB/s (%s%s) → %s",
                    pair[2], pair[0], f(Json.num(rebuild, "p99Micros"), 1), pair[1], f(Json.num(base, "p99Micros"), 1),
                    r(ratio), f(speed / 1e6, 3), f(div(speed, min), 3), f(min / 1e6, 3), kept ? "kept" : "NOT kept",
                    Double.isNaN(resolution) ? "" : String.format(Locale.ROOT, "; measured to ±%s: one %s KiB unit over %s s",
                            f(div(resolution, min), 3) + "×", f(Json.num(rebuild, "rebuildUnitBytes") / 1024, 0),
                            f(Json.num(rebuild, "rebuildMeasuredSeconds"), 2)),
                    target(what, r(ratio) + "×, rebuild at " + f(div(speed, min), 3) + "× its minimum", met));
        }
        line("");
    }

    private void concurrency() throws IOException {
        line("## 4. RAID-5 4 KiB random writes, 4 threads against 1 (`ConcurrencyRatio`, same-run ratio)");
        line("");
        String min = goals.text("raid5.randwrite4k.threads4VsThreads1.min");
        String what = "RAID-5 4 KiB random write, 4 threads ≥ " + min + "× one thread";
        Object json = readJson("concurrency.json");
        if (json == null) {
            line("_No `concurrency.json`._");
            line("");
            notMeasured(what, "no concurrency.json");
            return;
        }
        Map<String, Object> ratio = Json.obj(json, "threads4VsThreads1");
        line("%s. %s rounds, each a %s ms slice of 1 writer thread then one of 4 writer threads on the same array",
                Json.str(json, "array"), f(Json.num(json, "rounds"), 0), f(Json.num(json, "sliceMillis"), 0));
        line("in one JVM (so the machine's load hits both alike); the ratio is the median over rounds of the two slices'");
        line("IOPS in the same round. Load average %s at the start, %s at the end.", Json.str(json, "loadStart"),
                Json.str(json, "loadEnd"));
        line("");
        line("| 1 thread, IOPS (median) | 4 threads, IOPS (median) | 4 threads / 1 thread, median of rounds (min..max) |");
        line("|---|---|---|");
        double median = Json.num(ratio, "medianRatio");
        line("| %s | %s | **%s** (%s..%s) |", f(Json.num(ratio, "denominatorMedian"), 0),
                f(Json.num(ratio, "numeratorMedian"), 0), r(median), r(Json.num(ratio, "minRatio")),
                r(Json.num(ratio, "maxRatio")));
        line("");
        line("Target \"%s\": **%s** (%s).", what, r(median),
                target(what, r(median) + "×", median >= goals.value("raid5.randwrite4k.threads4VsThreads1.min")));
        line("");
    }

    static final String[][] SCALE_STACKS = {
            {"RAID5", "RAID-5"}, {"RAID5_SNAPSHOT", "RAID-5 + one snapshot"}, {"RAID0", "RAID-0"}};

    private void scale() throws IOException {
        line("## 5. Cost of a write against the volume's size (`ScaleRatio`, same-run ratios)");
        line("");
        String min = goals.text("scale.spreadVsConfined.min");
        Object json = readJson("scale.json");
        if (json == null) {
            line("_No `scale.json`._");
            line("");
            for (String[] stack : SCALE_STACKS) {
                notMeasured(scaleTarget(stack[1], min), "no scale.json");
            }
            return;
        }
        line("%s; per stack one volume in one JVM, %s rounds, each a %s ms slice of 4 KiB random writes of new data",
                Json.str(json, "members"), f(Json.num(json, "rounds"), 0), f(Json.num(json, "sliceMillis"), 0));
        line("spread over the whole volume, then one confined to its first %s MiB, from %s writer threads each (the issue's",
                f(Json.num(json, "confinedBytes") / (1 << 20), 0), f(Json.num(json, "threads"), 0));
        line("QD16, in process rather than over NBD). The ratio is the median over rounds of the two slices' IOPS in the");
        line("same round. Member files in `%s` (%s), deleted after each stack. Load average %s at the start, %s at the end.",
                Json.str(json, "directory"), Json.str(json, "fileSystem"), Json.str(json, "loadStart"),
                Json.str(json, "loadEnd"));
        line("");
        line("| stack | volume | setting every bitmap bit first, s | spread, IOPS (median) | confined, IOPS (median) | spread / confined, median of rounds (min..max) | close + delete the files, s |");
        line("|---|---|---|---|---|---|---|");
        Map<String, Object> byStack = new LinkedHashMap<>();
        for (Object st : Json.list(json, "stacks")) {
            byStack.put(Json.str(st, "stack"), st);
        }
        List<String> verdicts = new ArrayList<>();
        for (String[] stack : SCALE_STACKS) {
            String what = scaleTarget(stack[1], min);
            Object st = byStack.get(stack[0]);
            if (st == null) {
                line("| %s | _not measured (see scale.log)_ | | | | | |", stack[1]);
                notMeasured(what, "not in scale.json");
                verdicts.add(stack[1] + ": not measured");
                continue;
            }
            double ratio = Json.num(st, "medianRatio");
            line("| %s | %s GiB | %s | %s | %s | **%s** (%s..%s) | %s + %s |", stack[1],
                    f(Json.num(st, "volumeBytes") / (1L << 30), 0), f(Json.num(st, "bitmapTouchSeconds"), 1),
                    f(Json.num(st, "numeratorMedian"), 0), f(Json.num(st, "denominatorMedian"), 0), r(ratio),
                    r(Json.num(st, "minRatio")), r(Json.num(st, "maxRatio")), f(Json.num(st, "closeSeconds"), 1),
                    f(Json.num(st, "deleteSeconds"), 1));
            verdicts.add(String.format(Locale.ROOT, "%s **%s** (%s)", stack[1], r(ratio),
                    target(what, r(ratio) + "×", ratio >= goals.value("scale.spreadVsConfined.min"))));
        }
        line("");
        line("Target \"writes spread over the volume ≥ %s× the same writes confined to 100 MiB\": %s.", min,
                String.join("; ", verdicts));
        line("");
    }

    private void nbdScale() throws IOException {
        line("## 5b. Cost of a write against the volume's size over NBD (`bench/nbd-scale.sh`, same-run ratios)");
        line("");
        String key = "scale.nbd.spreadVsConfined.min";
        String min = goals.text(key);
        Object json = readJson("nbd-scale.json");
        if (json == null) {
            line("_No `nbd-scale.json`._");
            line("");
            for (String[] stack : SCALE_STACKS) {
                notMeasured(nbdScaleTarget(stack[1], min), "no nbd-scale.json");
            }
            return;
        }
        line("Issue #20's wording of section 5's target: per stack `scemu create DIR --level L --disks 4 --disk-size 256G`");
        line("(4 sparse 256 GiB mapped-file members, default snapshot store), `scemu serve DIR`, the first 100 MiB written");
        line("once (untimed), %sfor the snapshot stack then `scemu snapshot create DIR base` while served; then %s rounds, each",
                Boolean.TRUE.equals(((Map<?, ?>) json).get("touch")) ? "one 4 KiB write in every 64 MiB of the export"
                        + " (the touch: it sets the RAID-5 write-intent bitmap's bits, as on a volume in use), " : "",
                f(Json.num(json, "rounds"), 0));
        line("a %s s slice of `%s --ioengine=nbd` 4 KiB random writes at QD%s spread over the whole export (`--norandommap",
                f(Json.num(json, "seconds"), 0), Json.str(json, "fio"), f(Json.num(json, "iodepth"), 0));
        line("--random_generator=tausworthe64`, a new seed each round) then one confined to its first %s MiB. The ratio is",
                f(Json.num(json, "confinedBytes") / (1 << 20), 0));
        line("the median over rounds of the two slices' IOPS in the same round. The confined writes rewrite written blocks");
        line("(with a snapshot, the first pass over the 100 MiB copies them, later ones rewrite copied blocks), while every");
        line("spread write lands on a block never written (a hole in the member files; with a snapshot, a first write since");
        line("it). %s, units in `%s` (%s),", Json.str(json, "scemu"), Json.str(json, "directory"),
                Json.str(json, "fileSystem"));
        line("deleted after each stack (serve stopped with SIG%s); free space kept above %s GiB. Load average %s at the",
                Json.str(json, "stopSignal"), f(Json.num(json, "minFreeBytes") / (1L << 30), 0), Json.str(json, "loadStart"));
        line("start, %s at the end.", Json.str(json, "loadEnd"));
        line("");
        line("| stack | volume | touch, s | spread, IOPS (median) | confined, IOPS (median) | spread / confined, median of rounds (min..max) | member files allocated, MiB before → after | stop serve + delete the files, s |");
        line("|---|---|---|---|---|---|---|---|");
        Map<String, Object> byStack = new LinkedHashMap<>();
        for (Object st : Json.list(json, "stacks")) {
            byStack.put(Json.str(st, "stack"), st);
        }
        List<String> verdicts = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        for (String[] stack : SCALE_STACKS) {
            String what = nbdScaleTarget(stack[1], min);
            Object st = byStack.get(stack[0]);
            if (st != null && Json.str(st, "stopped") != null) {
                notes.add(stack[1] + " stopped early: " + Json.str(st, "stopped"));
            }
            if (st != null) {
                for (Object why : Json.list(st, "invalidRounds")) {
                    notes.add(stack[1] + ", not counted: " + why);
                }
            }
            if (st == null || !(Json.num(st, "roundsMeasured") > 0)) {
                line("| %s | _not measured (see nbd-scale.log)_ | | | | | | |", stack[1]);
                notMeasured(what, st == null ? "not in nbd-scale.json" : "no valid round in nbd-scale.json");
                verdicts.add(stack[1] + ": not measured");
                continue;
            }
            double ratio = Json.num(st, "medianRatio");
            line("| %s | %s GiB | %s | %s | %s | **%s** (%s..%s) | %s → %s | %s + %s |", stack[1],
                    f(Json.num(st, "volumeBytes") / (1L << 30), 0), f(Json.num(st, "touchSeconds"), 1),
                    f(Json.num(st, "numeratorMedian"), 0),
                    f(Json.num(st, "denominatorMedian"), 0), r(ratio), r(Json.num(st, "minRatio")),
                    r(Json.num(st, "maxRatio")), f(Json.num(st, "allocatedBytesBefore") / (1 << 20), 0),
                    f(Json.num(st, "allocatedBytesAfter") / (1 << 20), 0), f(Json.num(st, "stopSeconds"), 1),
                    f(Json.num(st, "deleteSeconds"), 1));
            verdicts.add(String.format(Locale.ROOT, "%s **%s** (%s)", stack[1], r(ratio),
                    target(what, r(ratio) + "×", ratio >= goals.value(key))));
            gaps.put("scale over NBD, " + stack[1] + ": spread / confined (target " + min + ")", ratio);
            Map<String, Object> fresh = Json.obj(st, "fresh");
            if (fresh != null) {
                notes.add(String.format(Locale.ROOT, "%s, diagnostic (not judged): confined instead to a fresh 100 MiB"
                                + " each round, never written before, so that its writes are first writes since the"
                                + " snapshot to never-written blocks as the spread ones are (at most one write per block):"
                                + " %s IOPS (median); spread / fresh **%s** (%s..%s)", stack[1],
                        f(Json.num(fresh, "denominatorMedian"), 0), r(Json.num(fresh, "medianRatio")),
                        r(Json.num(fresh, "minRatio")), r(Json.num(fresh, "maxRatio"))));
            }
        }
        line("");
        for (String note : notes) {
            line("- %s.", note);
        }
        if (!notes.isEmpty()) {
            line("");
        }
        line("Target \"fio over NBD: writes spread over the volume ≥ %s× the same writes confined to 100 MiB\": %s.", min,
                String.join("; ", verdicts));
        line("");
    }

    private static String nbdScaleTarget(String stack, String min) {
        return "scale over NBD (fio QD16, `scemu serve`), " + stack
                + ": 4 KiB random writes spread over 4 sparse 256 GiB members ≥ " + min + "× confined to 100 MiB";
    }

    private static String scaleTarget(String stack, String min) {
        return "scale, " + stack + ": 4 KiB random writes spread over 4 sparse 256 GiB members ≥ " + min
                + "× confined to 100 MiB";
    }

    private static String outcomes(Map<String, Object> outcomes) {
        StringBuilder out = new StringBuilder();
        if (outcomes != null) {
            outcomes.forEach((k, v) -> out.append(out.length() == 0 ? "" : ", ").append(k).append(' ')
                    .append(f(((Number) v).doubleValue(), 0)));
        }
        return out.toString();
    }

    private void nbd() throws IOException {
        line("## 6. scemu over NBD against peers (fio `ioengine=nbd`, 127.0.0.1)");
        line("");
        Properties servers = new Properties();
        Path serversFile = dir.resolve("nbd/servers.properties");
        if (!Files.exists(serversFile)) {
            line("_No NBD results (`nbd/servers.properties` missing)._");
            line("");
            return;
        }
        try (Reader in = Files.newBufferedReader(serversFile)) {
            servers.load(in);
        }
        String[] names = servers.getProperty("servers", "").split(",");
        line("%s", servers.getProperty("setup", ""));
        line("");
        for (String s : names) {
            String note = servers.getProperty(s + ".note");
            if (note != null) {
                line("- **%s**: %s", servers.getProperty(s + ".label", s), note);
            }
        }
        line("");
        Map<String, Map<String, Double>> results = new LinkedHashMap<>();
        List<String> ran = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        for (String s : names) {
            if (!"true".equals(servers.getProperty(s + ".ran"))) {
                continue;
            }
            ran.add(s);
            Map<String, Double> jobs = new LinkedHashMap<>();
            for (String[] job : NBD_JOBS) {
                Object fio = readJson("nbd/" + s + "-" + job[0] + ".json");
                double v = Double.NaN;
                if (fio != null) {
                    Object j = Json.list(fio, "jobs").get(0);
                    boolean read = job[0].startsWith("randread");
                    Map<String, Object> side = Json.obj(j, read ? "read" : "write");
                    v = job[2].equals("iops") ? Json.num(side, "iops") : Json.num(side, "bw_bytes") / 1e6;
                    if (Json.num(j, "error") != 0) {
                        v = Double.NaN;
                        errors.add(servers.getProperty(s + ".label", s) + " " + job[1] + ": fio error "
                                + f(Json.num(j, "error"), 0) + " (see nbd/" + s + "-" + job[0] + ".log)");
                    }
                }
                jobs.put(job[0], v);
            }
            results.put(s, jobs);
        }
        if (ran.isEmpty()) {
            line("_No NBD server ran._");
            line("");
            return;
        }
        StringBuilder head = new StringBuilder("| job (same duration each) |");
        StringBuilder rule = new StringBuilder("|---|");
        for (String s : ran) {
            head.append(' ').append(servers.getProperty(s + ".label", s)).append(" |");
            rule.append("---|");
        }
        // scemu's own stacks: the off-heap bench server ("scemu") and `scemu serve` on mapped files ("serve")
        List<String> ours = ran.stream().filter(s -> s.equals("scemu") || s.equals("serve")).toList();
        List<String> peers = ran.stream().filter(s -> !ours.contains(s)).toList();
        for (String o : ours) {
            for (String p : peers) {
                head.append(' ').append(servers.getProperty(o + ".label", o)).append(" / ")
                        .append(servers.getProperty(p + ".label", p)).append(" |");
                rule.append("---|");
            }
        }
        line("%s", head);
        line("%s", rule);
        DefaultCategoryDataset data = new DefaultCategoryDataset();
        for (String[] job : NBD_JOBS) {
            StringBuilder row = new StringBuilder("| " + job[1] + (job[2].equals("iops") ? ", IOPS" : ", MB/s") + " |");
            for (String s : ran) {
                double v = results.get(s).get(job[0]);
                row.append(' ').append(f(v, 0)).append(" |");
                if (!Double.isNaN(v)) {
                    data.addValue(v, servers.getProperty(s + ".label", s), job[1] + (job[2].equals("iops") ? " (IOPS)" : " (MB/s)"));
                }
            }
            for (String o : ours) {
                for (String p : peers) {
                    row.append(' ').append(r(div(results.get(o).get(job[0]), results.get(p).get(job[0])))).append(" |");
                }
            }
            line("%s", row);
        }
        line("");
        for (String e : errors) {
            line("- failed job: %s", e);
        }
        if (!errors.isEmpty()) {
            line("");
        }
        for (String o : ours) {
            Map<String, Double> sc = results.get(o);
            String stack = servers.getProperty(o + ".label", o);
            List<String> t = new ArrayList<>();
            if (results.containsKey("nbdkit")) {
                Map<String, Double> kit = results.get("nbdkit");
                double w = div(sc.get("randwrite-4k-qd16"), kit.get("randwrite-4k-qd16"));
                double seq = div(sc.get("write-1m-qd8"), kit.get("write-1m-qd8"));
                double rd = div(sc.get("randread-4k-qd16"), kit.get("randread-4k-qd16"));
                String wMin = goals.text("nbd.randwrite4kQd16.vsNbdkitMemory.min");
                String seqMin = goals.text("nbd.write1mQd8.vsNbdkitMemory.min");
                String rMin = goals.text("nbd.randread4kQd16.vsNbdkitMemory.min");
                t.add(String.format(Locale.ROOT, "4 KiB random write QD16 ≥ %s× nbdkit memory → **%s** (%s)", wMin, r(w),
                        target(stack + ": NBD 4 KiB random write QD16 ≥ " + wMin + "× nbdkit memory", r(w) + "×",
                                w >= goals.value("nbd.randwrite4kQd16.vsNbdkitMemory.min"))));
                t.add(String.format(Locale.ROOT, "1 MiB sequential write QD8 ≥ %s× nbdkit memory → **%s** (%s)", seqMin, r(seq),
                        target(stack + ": NBD 1 MiB sequential write QD8 ≥ " + seqMin + "× nbdkit memory", r(seq) + "×",
                                seq >= goals.value("nbd.write1mQd8.vsNbdkitMemory.min"))));
                t.add(String.format(Locale.ROOT, "4 KiB random read QD16 ≥ %s× nbdkit memory → **%s** (%s)", rMin, r(rd),
                        target(stack + ": NBD 4 KiB random read QD16 ≥ " + rMin + "× nbdkit memory", r(rd) + "×",
                                rd >= goals.value("nbd.randread4kQd16.vsNbdkitMemory.min"))));
                gaps.put(stack + ": NBD 4 KiB random write QD16 / nbdkit memory (target " + wMin + ")", w);
                gaps.put(stack + ": NBD 1 MiB sequential write QD8 / nbdkit memory (target " + seqMin + ")", seq);
                gaps.put(stack + ": NBD 4 KiB random read QD16 / nbdkit memory (target " + rMin + ")", rd);
            }
            if (results.containsKey("qcow2")) {
                Map<String, Double> qcow = results.get("qcow2");
                double w = div(sc.get("randwrite-4k-qd16"), qcow.get("randwrite-4k-qd16"));
                double seq = div(sc.get("write-1m-qd8"), qcow.get("write-1m-qd8"));
                String qMin = goals.text("nbd.randwrite4kQd16.vsQemuNbdQcow2Snapshot.min");
                String qSeqMin = goals.text("nbd.write1mQd8.vsQemuNbdQcow2Snapshot.min");
                t.add(String.format(Locale.ROOT, "4 KiB random write QD16 ≥ %s× qemu-nbd qcow2 with a snapshot → **%s** (%s)",
                        qMin, r(w), target(stack + ": NBD 4 KiB random write QD16 ≥ " + qMin + "× qemu-nbd qcow2 with a snapshot",
                                r(w) + "×", w >= goals.value("nbd.randwrite4kQd16.vsQemuNbdQcow2Snapshot.min"))));
                t.add(String.format(Locale.ROOT, "1 MiB sequential write QD8 ≥ %s× qemu-nbd qcow2 with a snapshot → **%s** (%s)",
                        qSeqMin, r(seq), target(stack + ": NBD 1 MiB sequential write QD8 ≥ " + qSeqMin
                                + "× qemu-nbd qcow2 with a snapshot", r(seq) + "×",
                                seq >= goals.value("nbd.write1mQd8.vsQemuNbdQcow2Snapshot.min"))));
            }
            if (!t.isEmpty()) {
                line("Targets, %s: %s.", stack, String.join("; ", t));
                line("");
            }
        }
        logBars("nbd.png", "NBD over 127.0.0.1, fio ioengine=nbd (log)", "IOPS or MB/s (log)", data, 10, "#,##0",
                null, null);
        line("![nbd peers](nbd.png)");
        line("");
    }

    private void summary() {
        line("## 7. Furthest from the ceiling (computed from the figures above)");
        line("");
        if (gaps.isEmpty()) {
            line("_Nothing measured._");
            line("");
            return;
        }
        line("| what | ratio |");
        line("|---|---|");
        gaps.entrySet().stream().filter(e -> !Double.isNaN(e.getValue()))
                .sorted(Map.Entry.comparingByValue()).limit(6)
                .forEach(e -> line("| %s | %s |", e.getKey(), r(e.getValue())));
        line("");
        line("What limits each gap (JFR profiles): see the \"Gaps\" section of `docs/benchmarks.md`.");
        line("");
    }
}
