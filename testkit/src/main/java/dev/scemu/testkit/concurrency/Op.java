package dev.scemu.testkit.concurrency;

import java.util.Arrays;

/**
 * One recorded operation of a {@link History}: what was asked, when it started and ended on the
 * history's clock, and what it returned.
 *
 * <p>{@code start} is taken just before the call, {@code end} just after it returned; an operation
 * that failed (power cut, error reply) has {@code end == }{@link #UNKNOWN}: it may have taken effect
 * at any time after its start. {@code observed} holds, for a read, the write id decoded from each
 * block ({@code 0}: zeros, {@link BlockStamp#TORN}: neither zeros nor a whole stamp of that block).
 *
 * @param id unique, from 1; a write's id is stamped into every block it writes, unless it rewrites
 * @param stamp for a write, the write id its blocks carry: its own id, or for a <em>rewrite</em> the id
 *        of an earlier write of the same range whose bytes it writes again (identical data, which the
 *        snapshot volume may skip); 0 for other operations
 * @param worker the worker (thread or connection) that issued it; -1 for the checker's own operations
 * @param snapshotId the snapshot of a snapshot operation, else -1
 * @param name the snapshot's name for {@link Kind#SNAPSHOT_CREATE}, else null
 * @param error the failure's message, or null
 */
public record Op(long id, long stamp, Kind kind, int worker, long lba, int blocks, boolean fua, long start, long end,
                 long[] observed, long snapshotId, String name, String error) {

    /** An operation whose stamp is its own id for a write (not a rewrite), 0 otherwise. */
    public Op(long id, Kind kind, int worker, long lba, int blocks, boolean fua, long start, long end,
              long[] observed, long snapshotId, String name, String error) {
        this(id, kind == Kind.WRITE ? id : 0, kind, worker, lba, blocks, fua, start, end, observed, snapshotId, name,
                error);
    }

    /** A write that writes the bytes of the earlier write {@code stamp} again. */
    public boolean isRewrite() {
        return kind == Kind.WRITE && stamp != id;
    }

    /** {@code end} of an operation that did not complete (it failed, or the cut caught it). */
    public static final long UNKNOWN = Long.MAX_VALUE;

    /** What an operation does. */
    public enum Kind { READ, WRITE, FLUSH, SNAPSHOT_CREATE, SNAPSHOT_DELETE, SNAPSHOT_READ }

    public boolean completed() {
        return end != UNKNOWN;
    }

    /** True if the operation covers {@code block}. */
    public boolean covers(long block) {
        return block >= lba && block < lba + blocks;
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder().append('#').append(id).append(' ').append(kind);
        if (kind == Kind.READ || kind == Kind.WRITE || kind == Kind.SNAPSHOT_READ) {
            text.append(" lba ").append(lba).append('+').append(blocks);
        }
        if (fua) {
            text.append(" FUA");
        }
        if (isRewrite()) {
            text.append(" (rewrites w").append(stamp).append(')');
        }
        if (snapshotId >= 0 || name != null) {
            text.append(" snapshot ").append(snapshotId).append(name == null ? "" : " '" + name + "'");
        }
        text.append(" by ").append(worker < 0 ? "checker" : "worker " + worker).append(" [").append(start).append(", ")
                .append(completed() ? Long.toString(end) : "failed").append(']');
        if (observed != null) {
            text.append(" saw ").append(Arrays.toString(Arrays.stream(observed).mapToObj(BlockStamp::describe).toArray()));
        }
        if (error != null) {
            text.append(" error: ").append(error);
        }
        return text.toString();
    }
}
