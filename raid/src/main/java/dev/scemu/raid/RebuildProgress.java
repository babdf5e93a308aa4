package dev.scemu.raid;

import java.time.Duration;

/**
 * A progress report of a background rebuild or resync.
 *
 * @param kind what runs: {@code "rebuild"} or {@code "resync"}
 * @param memberIndex the member (role) being rebuilt; -1 for a resync
 * @param doneBytes member data bytes processed so far (from data_offset)
 * @param totalBytes member data bytes to process
 * @param bytesPerSecond average rate since the start
 * @param eta estimated time to completion at that rate
 */
public record RebuildProgress(String kind, int memberIndex, long doneBytes, long totalBytes, double bytesPerSecond,
                              Duration eta) {

    /** Fraction done, 0 to 1. */
    public double fraction() {
        return totalBytes == 0 ? 1.0 : (double) doneBytes / totalBytes;
    }
}
