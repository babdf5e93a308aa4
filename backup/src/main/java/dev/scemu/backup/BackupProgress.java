package dev.scemu.backup;

import java.time.Duration;

/**
 * A progress report of a running operation.
 *
 * @param operation "backup", "verify" or "restore"
 * @param bytesDone volume bytes processed so far (scanned for a backup, stored data for verify/restore)
 * @param bytesTotal bytes to process in all
 * @param elapsed time since the operation started
 * @param bytesPerSecond average rate so far
 * @param eta estimated time left, or null before the rate is known
 */
public record BackupProgress(String operation, long bytesDone, long bytesTotal, Duration elapsed,
                             double bytesPerSecond, Duration eta) {

    public double fraction() {
        return bytesTotal == 0 ? 1.0 : (double) bytesDone / bytesTotal;
    }
}
