package dev.scemu.cli;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.function.LongSupplier;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress of a long command (bytes, rate) on the error stream. On a terminal: a bar redrawn with
 * carriage returns. Anywhere else (a log file, a pipe, CI, a live command's socket): no control
 * characters, one plain line every {@link #LINE_INTERVAL_NANOS} at most
 * ({@code backup: 512 of 2048 MiB (25%), 96.0 MiB/s}), and a last line when the work is complete.
 */
final class Progress implements AutoCloseable {

    /** The error stream of this process when it is a terminal (set by {@link Main#main}); else null. */
    static volatile PrintWriter terminalErr;

    static final long LINE_INTERVAL_NANOS = 5_000_000_000L;

    private final PrintWriter err;
    private final String task;
    private final ProgressBar bar;         // terminal only
    private final LongSupplier clock;
    private final long intervalNanos;
    private final long startNanos;
    private long lastLineNanos;
    private long totalBytes;
    private long doneBytes;
    private int linesPrinted;

    Progress(PrintWriter err, String task, long totalBytes) {
        this(err, task, totalBytes, err != null && err == terminalErr, LINE_INTERVAL_NANOS, System::nanoTime);
    }

    Progress(PrintWriter err, String task, long totalBytes, boolean terminal, long intervalNanos, LongSupplier clock) {
        this.err = err;
        this.task = task;
        this.totalBytes = Math.max(1, totalBytes);
        this.clock = clock;
        this.intervalNanos = intervalNanos;
        this.startNanos = clock.getAsLong();
        this.lastLineNanos = startNanos;
        this.bar = !terminal ? null : new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(this.totalBytes)
                .setUnit(" MiB", 1L << 20)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(200)
                .showSpeed()
                .setConsumer(new DelegatingProgressBarConsumer(line -> {
                    synchronized (err) {
                        err.print('\r');
                        err.print(line);
                        err.flush();
                    }
                }, 100))
                .build();
    }

    void update(long doneBytes, long totalBytes) {
        if (bar != null) {
            if (totalBytes > 0 && totalBytes != bar.getMax()) {
                bar.maxHint(totalBytes);
            }
            bar.stepTo(doneBytes);
            return;
        }
        synchronized (this) {
            if (totalBytes > 0) {
                this.totalBytes = totalBytes;
            }
            this.doneBytes = doneBytes;
            long now = clock.getAsLong();
            if (now - lastLineNanos >= intervalNanos) {
                lastLineNanos = now;
                line(now, "");
            }
        }
    }

    private void line(long now, String suffix) {
        double seconds = Math.max(1e-9, (now - startNanos) / 1e9);
        String text = String.format(Locale.ROOT, "%s: %d of %d MiB (%d%%), %.1f MiB/s%s", task, doneBytes >> 20,
                totalBytes >> 20, Math.min(100, doneBytes * 100 / totalBytes), (doneBytes / 1048576.0) / seconds, suffix);
        synchronized (err) {
            err.println(text);
            err.flush();
        }
        linesPrinted++;
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
            synchronized (err) {
                err.println();
                err.flush();
            }
            return;
        }
        synchronized (this) {
            if (linesPrinted > 0 && doneBytes >= totalBytes) { // a log that showed progress also shows the end
                long now = clock.getAsLong();
                line(now, String.format(Locale.ROOT, ", done in %.1f s", (now - startNanos) / 1e9));
            }
        }
    }
}
