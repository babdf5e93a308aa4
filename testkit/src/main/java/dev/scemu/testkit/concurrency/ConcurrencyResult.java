package dev.scemu.testkit.concurrency;

/**
 * What a passing run checked, so that a test can require it was not vacuous.
 *
 * @param ops operations recorded
 * @param reads volume reads checked (completed)
 * @param writes writes completed
 * @param rewrites of those, rewrites of an earlier write's bytes
 * @param flushes flushes completed
 * @param failedOps operations that failed because of the cut
 * @param snapshotsCreated snapshot creations that completed
 * @param snapshotReads snapshot reads checked
 * @param durableWrites writes that had to survive the cut (FUA or before a completed barrier)
 * @param cut how the cut went ("cut armed after op 412 at write #3107, fired inside a WRITE", "no cut")
 */
public record ConcurrencyResult(long seed, int ops, int reads, int writes, int rewrites, int flushes, int failedOps,
                                int snapshotsCreated, int snapshotReads, int durableWrites, String cut) {

    /** One line for logs. */
    public String summary() {
        return "seed " + seed + ": " + ops + " ops (" + writes + " writes of which " + rewrites + " rewrites, " + reads + " reads, " + flushes + " flushes, "
                + snapshotsCreated + " snapshots, " + snapshotReads + " snapshot reads), " + failedOps
                + " failed at the cut, " + durableWrites + " writes had to survive; " + cut;
    }
}
