package dev.scemu.cli;

import java.io.PrintWriter;
import me.tongfei.progressbar.DelegatingProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A progress bar (bytes, rate, ETA) drawn on the error stream with carriage returns. */
final class Progress implements AutoCloseable {

    private final ProgressBar bar;
    private final PrintWriter err;

    Progress(PrintWriter err, String task, long totalBytes) {
        this.err = err;
        this.bar = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(Math.max(1, totalBytes))
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
        if (totalBytes > 0 && totalBytes != bar.getMax()) {
            bar.maxHint(totalBytes);
        }
        bar.stepTo(doneBytes);
    }

    @Override
    public void close() {
        bar.close();
        synchronized (err) {
            err.println();
            err.flush();
        }
    }
}
