package dev.scemu.backup.internal;

import dev.scemu.backup.BackupProgress;
import dev.scemu.backup.ProgressListener;
import java.time.Duration;

/** Turns byte counts into {@link BackupProgress} reports (rate and ETA from the average so far). */
final class ProgressMeter {

    private final String operation;
    private final long totalBytes;
    private final ProgressListener listener;
    private final long startNanos = System.nanoTime();
    private final long baseBytes;
    private long doneBytes;

    ProgressMeter(String operation, long totalBytes, long alreadyDoneBytes, ProgressListener listener) {
        this.operation = operation;
        this.totalBytes = totalBytes;
        this.listener = listener;
        this.baseBytes = alreadyDoneBytes;
        this.doneBytes = alreadyDoneBytes;
    }

    void add(long bytes) {
        doneBytes += bytes;
        report();
    }

    long doneBytes() {
        return doneBytes;
    }

    Duration elapsed() {
        return Duration.ofNanos(System.nanoTime() - startNanos);
    }

    void report() {
        Duration elapsed = elapsed();
        double seconds = elapsed.toNanos() / 1e9;
        long thisRun = doneBytes - baseBytes;
        double rate = seconds > 0 ? thisRun / seconds : 0;
        Duration eta = rate > 0 ? Duration.ofNanos((long) (Math.max(0, totalBytes - doneBytes) / rate * 1e9)) : null;
        listener.onProgress(new BackupProgress(operation, doneBytes, totalBytes, elapsed, rate, eta));
    }
}
