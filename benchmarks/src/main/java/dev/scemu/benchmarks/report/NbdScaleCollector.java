package dev.scemu.benchmarks.report;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * Assembles {@code nbd-scale.json}, the result of {@code bench/nbd-scale.sh} that
 * {@link ReportRenderer} reads, from that script's run directory (nothing typed by hand):
 * <ul>
 *   <li>{@code run.properties}: the run (fio and scemu versions, directory and file system, rounds,
 *       seconds per slice, free-space margin, load averages, free space at start and end);</li>
 *   <li>per stack {@code STACK.properties}: its create command, volume size, member files' allocated
 *       bytes (du) before and after the rounds and after the server stopped, free space, the load
 *       average before each round, the unit's I/O meters ({@code scemu status}) after the rounds,
 *       server stop and unit delete times, and {@code stopped} when the
 *       stack ended early (free space under the margin, a command that failed);</li>
 *   <li>per stack and round {@code STACK-rN-spread.json}, {@code STACK-rN-confined.json} and, on the
 *       snapshot stack, {@code STACK-rN-fresh.json}: fio's JSON output of each slice.</li>
 * </ul>
 * A round counts only when both its slices have a fio result without error; the others are listed
 * under {@code invalidRounds} with the reason, never silently dropped. Per stack the JSON holds the
 * per-round slices and {@link SameRunRatios#ratioJson} of spread over confined IOPS (the judged
 * figure), and on the snapshot stack the same of spread over fresh (the diagnostic).
 *
 * <p>Usage: {@code NbdScaleCollector RUN_DIR OUT_JSON}; prints a markdown summary on stdout.
 */
public final class NbdScaleCollector {

    /** The stacks bench/nbd-scale.sh measures, in its order. */
    static final List<String> STACKS = List.of("RAID5", "RAID5_SNAPSHOT", "RAID0");

    private NbdScaleCollector() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            throw new IllegalArgumentException("usage: NbdScaleCollector RUN_DIR OUT_JSON");
        }
        Map<String, Object> result = collect(Path.of(args[0]));
        Files.writeString(Path.of(args[1]), Json.write(result));
        System.out.print(summary(result));
    }

    /** The result of the run in {@code dir}. */
    static Map<String, Object> collect(Path dir) throws IOException {
        Properties run = properties(dir.resolve("run.properties"));
        if (run == null) {
            throw new IllegalArgumentException("no run.properties in " + dir + " (not a bench/nbd-scale.sh run)");
        }
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("harness", "bench/nbd-scale.sh");
        for (String key : new String[] {"command", "mode", "date", "fio", "scemu", "jar", "kernel", "nproc",
                "directory", "fileSystem", "stopSignal", "loadStart", "loadEnd"}) {
            root.put(key, run.getProperty(key));
        }
        for (String key : new String[] {"rounds", "seconds", "iodepth", "blockBytes", "confinedBytes", "minFreeBytes",
                "freeBytesStart", "freeBytesEnd", "seconds.total"}) {
            root.put(key.equals("seconds.total") ? "totalSeconds" : key, number(run, key));
        }
        root.put("touch", "1".equals(run.getProperty("touch")));
        List<Object> stacks = new ArrayList<>();
        for (String stack : run.getProperty("stacks", String.join(",", STACKS)).split(",")) {
            Properties p = properties(dir.resolve(stack + ".properties"));
            if (p != null) {
                stacks.add(stack(dir, stack, p, (int) number(run, "rounds")));
            }
        }
        root.put("stacks", stacks);
        return root;
    }

    private static Map<String, Object> stack(Path dir, String stack, Properties p, int rounds) throws IOException {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("stack", stack);
        out.put("label", p.getProperty("label", stack));
        out.put("snapshot", Boolean.parseBoolean(p.getProperty("snapshot")));
        out.put("create", p.getProperty("create"));
        for (String key : new String[] {"volumeBytes", "createSeconds", "touchSeconds", "allocatedBytesBefore", "allocatedBytesAfter",
                "allocatedBytesAfterStop", "freeBytesBefore", "freeBytesMin", "freeBytesAfter", "stopSeconds",
                "deleteSeconds", "settleSeconds"}) {
            out.put(key, number(p, key));
        }
        out.put("stopped", p.getProperty("stopped"));
        out.put("stopNote", p.getProperty("stopNote"));
        out.put("meters", p.getProperty("meters"));
        boolean snapshot = Boolean.parseBoolean(p.getProperty("snapshot"));
        List<Object> roundList = new ArrayList<>();
        List<Object> invalid = new ArrayList<>();
        List<Double> spread = new ArrayList<>();
        List<Double> confined = new ArrayList<>();
        List<Double> freshSpread = new ArrayList<>();
        List<Double> fresh = new ArrayList<>();
        for (int r = 1; r <= rounds; r++) {
            Slice s = slice(dir.resolve(stack + "-r" + r + "-spread.json"));
            Slice c = slice(dir.resolve(stack + "-r" + r + "-confined.json"));
            if (s == null && c == null && p.getProperty("round." + r + ".load") == null) {
                continue; // not run (the stack stopped before this round)
            }
            Map<String, Object> round = new LinkedHashMap<>();
            round.put("round", r);
            round.put("load", p.getProperty("round." + r + ".load"));
            round.put("spreadIosCap", number(p, "round." + r + ".spreadIosCap"));
            round.put("freeBytesAfter", number(p, "round." + r + ".freeBytesAfter"));
            put(round, "spread", s);
            put(round, "confined", c);
            String why = s == null ? "spread: no fio result" : s.why() != null ? "spread: " + s.why()
                    : c == null ? "confined: no fio result" : c.why() != null ? "confined: " + c.why() : null;
            if (why == null) {
                round.put("ratio", s.iops() / c.iops());
                spread.add(s.iops());
                confined.add(c.iops());
            } else {
                invalid.add("round " + r + ", " + why);
            }
            if (snapshot) {
                Slice f = slice(dir.resolve(stack + "-r" + r + "-fresh.json"));
                put(round, "fresh", f);
                if (f != null && f.why() == null && s != null && s.why() == null) {
                    round.put("spreadVsFresh", s.iops() / f.iops());
                    freshSpread.add(s.iops());
                    fresh.add(f.iops());
                }
            }
            roundList.add(round);
        }
        out.put("roundsMeasured", spread.size());
        out.put("invalidRounds", invalid);
        if (!spread.isEmpty()) {
            out.putAll(SameRunRatios.ratioJson("spread", array(spread), "confined", array(confined)));
        }
        if (!fresh.isEmpty()) {
            out.put("fresh", SameRunRatios.ratioJson("spread", array(freshSpread), "confined to a fresh 100 MiB",
                    array(fresh)));
        }
        out.put("rounds", roundList);
        return out;
    }

    /** One fio slice: write IOPS, writes done, runtime, and why it does not count (null when it does). */
    record Slice(double iops, double writes, double runtimeMillis, String why) {
    }

    /** The slice in fio's JSON {@code file}; null when there is no such file. */
    static Slice slice(Path file) throws IOException {
        if (!Files.exists(file)) {
            return null;
        }
        String text = Files.readString(file);
        int start = text.indexOf('{'); // fio may print warnings before its JSON
        if (start < 0) {
            return new Slice(Double.NaN, Double.NaN, Double.NaN, "no JSON in " + file.getFileName());
        }
        Object job;
        try {
            job = Json.list(Json.parse(text.substring(start)), "jobs").get(0);
        } catch (RuntimeException e) {
            return new Slice(Double.NaN, Double.NaN, Double.NaN, "unreadable " + file.getFileName() + ": " + e.getMessage());
        }
        Map<String, Object> write = Json.obj(job, "write");
        double iops = Json.num(write, "iops");
        double writes = Json.num(write, "total_ios");
        double runtime = Json.num(job, "job_runtime");
        double error = Json.num(job, "error");
        String why = error != 0 ? String.format(Locale.ROOT, "fio error %.0f", error)
                : !(iops > 0) ? "no writes" : null;
        return new Slice(iops, writes, runtime, why);
    }

    private static void put(Map<String, Object> round, String name, Slice s) {
        if (s == null) {
            return;
        }
        round.put(name + "Iops", s.iops());
        round.put(name + "Writes", s.writes());
        round.put(name + "RuntimeMillis", s.runtimeMillis());
        if (s.why() != null) {
            round.put(name + "Error", s.why());
        }
    }

    private static double[] array(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }

    private static Properties properties(Path file) throws IOException {
        if (!Files.exists(file)) {
            return null;
        }
        Properties p = new Properties();
        try (Reader in = Files.newBufferedReader(file)) {
            p.load(in);
        }
        return p;
    }

    private static double number(Properties p, String key) {
        String v = p.getProperty(key);
        if (v == null || v.isBlank()) {
            return Double.NaN;
        }
        try {
            return Double.parseDouble(v.strip());
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    /** A markdown table of the result, for the script's log. */
    static String summary(Map<String, Object> result) {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "%s, %s rounds x %s s per slice, %s, load %s -> %s%n%n",
                result.get("fio"), ReportRenderer.f(Json.num(result, "rounds"), 0),
                ReportRenderer.f(Json.num(result, "seconds"), 0), result.get("scemu"), result.get("loadStart"),
                result.get("loadEnd")));
        out.append("| stack | spread IOPS (median) | confined IOPS (median) | spread / confined (rounds) | notes |\n");
        out.append("|---|---|---|---|---|\n");
        for (Object st : Json.list(result, "stacks")) {
            StringBuilder notes = new StringBuilder();
            if (Json.str(st, "stopped") != null) {
                notes.append("stopped: ").append(Json.str(st, "stopped")).append(". ");
            }
            for (Object why : Json.list(st, "invalidRounds")) {
                notes.append(why).append(". ");
            }
            Map<String, Object> fresh = Json.obj(st, "fresh");
            if (fresh != null) {
                notes.append(String.format(Locale.ROOT, "spread / fresh 100 MiB %s (fresh %s IOPS). ",
                        ReportRenderer.r(Json.num(fresh, "medianRatio")),
                        ReportRenderer.f(Json.num(fresh, "denominatorMedian"), 0)));
            }
            List<String> ratios = new ArrayList<>();
            for (Object v : Json.list(st, "ratios")) {
                ratios.add(ReportRenderer.r(((Number) v).doubleValue()));
            }
            out.append(String.format(Locale.ROOT, "| %s | %s | %s | **%s** (%s) | %s|%n", Json.str(st, "label"),
                    ReportRenderer.f(Json.num(st, "numeratorMedian"), 0),
                    ReportRenderer.f(Json.num(st, "denominatorMedian"), 0),
                    ReportRenderer.r(Json.num(st, "medianRatio")), String.join(", ", ratios), notes));
        }
        return out.toString();
    }
}
