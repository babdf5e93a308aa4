package dev.scemu.core;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A timeline of a process's phases, for finding where a cold command spends its time: off unless
 * the JVM runs with {@code -Dscemu.trace.phases=true}, and then printed on stderr when the JVM
 * exits, one line per span: its start and end in milliseconds since the JVM started, its length,
 * the thread and the name, sorted by start, then the process's CPU seconds.
 *
 * <p>Off (the default) it costs a read of a static final boolean per call: {@link #begin} returns
 * one shared no-op {@link Span}, {@link #mark} returns at once, and nothing is loaded (no
 * management classes, no shutdown hook).
 *
 * <pre>{@code
 * try (PhaseTrace.Span span = PhaseTrace.begin("unit open")) {
 *     ...
 * }
 * }</pre>
 *
 * <p>Thread-safe: spans are appended under the list's lock (a few dozen per process).
 */
public final class PhaseTrace {

    /** The system property that turns tracing on. */
    public static final String PROPERTY = "scemu.trace.phases";

    private static final boolean ENABLED = Boolean.getBoolean(PROPERTY);
    private static final Span NOOP = () -> { };
    private static final List<Record> RECORDS = new ArrayList<>();
    /** JVM start in {@link System#nanoTime()} terms: 0 when tracing is off. */
    private static final long ORIGIN_NANOS = ENABLED ? origin() : 0;

    private PhaseTrace() {
    }

    /** One traced phase, ended by {@link #close()} (idempotent for the no-op span only). */
    @FunctionalInterface
    public interface Span extends AutoCloseable {
        @Override
        void close();
    }

    private record Record(String name, String thread, long startNanos, long endNanos, long cpuNanos) {
    }

    /** True when {@code -Dscemu.trace.phases=true}. */
    public static boolean enabled() {
        return ENABLED;
    }

    /** Starts a span named {@code name} on the calling thread; close it when the phase ends. */
    public static Span begin(String name) {
        if (!ENABLED) {
            return NOOP;
        }
        long start = System.nanoTime();
        long cpuStart = threadCpuNanos();
        String thread = Thread.currentThread().getName();
        return () -> add(new Record(name, thread, start, System.nanoTime(), threadCpuNanos() - cpuStart));
    }

    /** Records an instant (a span of length zero), e.g. "main" when {@code main} starts. */
    public static void mark(String name) {
        if (ENABLED) {
            long now = System.nanoTime();
            add(new Record(name, Thread.currentThread().getName(), now, now, 0));
        }
    }

    private static void add(Record record) {
        synchronized (RECORDS) {
            RECORDS.add(record);
        }
    }

    /** CPU time of the calling thread (user + system), or 0 if the JVM cannot tell. */
    private static long threadCpuNanos() {
        long cpu = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
        return Math.max(0, cpu);
    }

    private static long origin() {
        long uptimeMillis = ManagementFactory.getRuntimeMXBean().getUptime();
        long origin = System.nanoTime() - uptimeMillis * 1_000_000L;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> print(System.err), "scemu-phase-trace"));
        return origin;
    }

    private static void print(PrintStream out) {
        List<Record> records;
        synchronized (RECORDS) {
            records = new ArrayList<>(RECORDS);
        }
        records.sort(Comparator.comparingLong(Record::startNanos));
        long exit = System.nanoTime();
        StringBuilder text = new StringBuilder("scemu phase trace (ms since the JVM started: start, end, length;"
                + " CPU ms of the span's thread; thread; phase)\n");
        for (Record r : records) {
            text.append(String.format("  %8.1f %8.1f %8.1f %8.1f  %-28s %s%n", ms(r.startNanos - ORIGIN_NANOS),
                    ms(r.endNanos - ORIGIN_NANOS), ms(r.endNanos - r.startNanos), ms(r.cpuNanos), r.thread, r.name));
        }
        double cpu = -1;
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            cpu = os.getProcessCpuTime() / 1e9;
        }
        text.append(String.format("  %8.1f  exit (shutdown hooks); process CPU %.2f s%n", ms(exit - ORIGIN_NANOS), cpu));
        out.print(text);
        out.flush();
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }
}
