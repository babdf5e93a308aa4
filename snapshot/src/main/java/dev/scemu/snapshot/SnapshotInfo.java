package dev.scemu.snapshot;

import java.time.Instant;

/**
 * One snapshot of a {@link SnapshotVolume}.
 *
 * @param id unique, increasing, never reused
 * @param name the name given at creation
 * @param createdAt wall-clock time of creation (millisecond precision)
 * @param epoch the write epoch it froze: the snapshot sees every write of epoch {@code <= epoch}
 */
public record SnapshotInfo(long id, String name, Instant createdAt, long epoch) {
}
