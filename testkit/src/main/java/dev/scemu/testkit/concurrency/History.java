package dev.scemu.testkit.concurrency;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Everything a concurrency run did and saw, for {@link HistoryChecker}: every operation with its
 * start and end on one monotonic clock, and, when power was cut, what the volume and its snapshots
 * held after the reboot.
 *
 * <h2>The clock</h2>
 * One {@link AtomicLong}: a worker takes {@link #tick()} just before it calls the target and again
 * just after the call returns. If operation A's end tick is below B's start tick, A returned before
 * B was called (real-time order); overlapping intervals are concurrent and may take effect in
 * either order. Thread safe: workers record concurrently.
 */
public final class History {

    private final int blockSize;
    private final long regionBlocks;
    private final AtomicLong clock = new AtomicLong();
    private final AtomicLong ids = new AtomicLong();
    private final ConcurrentLinkedQueue<Op> ops = new ConcurrentLinkedQueue<>();
    private volatile long cutTick = -1;
    private volatile String cutNote = "no cut";
    private volatile long[] afterCut;
    private volatile Map<String, Long> snapshotsAfterCut;
    private final Map<String, long[]> snapshotContentsAfterCut = new HashMap<>();

    public History(int blockSize, long regionBlocks) {
        this.blockSize = blockSize;
        this.regionBlocks = regionBlocks;
    }

    public int blockSize() {
        return blockSize;
    }

    /** The checked blocks are {@code [0, regionBlocks)}. */
    public long regionBlocks() {
        return regionBlocks;
    }

    /** The next instant of the clock. */
    public long tick() {
        return clock.incrementAndGet();
    }

    /** A new operation id (also the write id stamped into a write's blocks). */
    public long nextId() {
        return ids.incrementAndGet();
    }

    public void record(Op op) {
        ops.add(op);
    }

    /** Power was cut (or found cut) at {@code tick}; {@code note} says how. */
    public void cut(long tick, String note) {
        this.cutTick = tick;
        this.cutNote = note;
    }

    public boolean wasCut() {
        return cutTick >= 0;
    }

    public String cutNote() {
        return cutNote;
    }

    /** After the reboot: the decoded write id of each block of the region. */
    public void volumeAfterCut(long[] decoded) {
        this.afterCut = decoded.clone();
    }

    public long[] volumeAfterCut() {
        return afterCut;
    }

    /** After the reboot: the snapshots that exist (name to id) and the decoded region of each (by name). */
    public synchronized void snapshotsAfterCut(Map<String, Long> list, Map<String, long[]> contents) {
        this.snapshotsAfterCut = Map.copyOf(list);
        snapshotContentsAfterCut.clear();
        snapshotContentsAfterCut.putAll(contents);
    }

    public Map<String, Long> snapshotsAfterCut() {
        return snapshotsAfterCut;
    }

    public synchronized Map<String, long[]> snapshotContentsAfterCut() {
        return Map.copyOf(snapshotContentsAfterCut);
    }

    /** Every operation, in start order. */
    public List<Op> ops() {
        List<Op> all = new ArrayList<>(ops);
        all.sort(Comparator.comparingLong(Op::start));
        return all;
    }

    /** The operations that touched {@code block} (reads, writes, snapshot reads) plus flushes and snapshot events, in start order. */
    public List<Op> opsAround(long block) {
        List<Op> around = new ArrayList<>();
        for (Op op : ops()) {
            boolean blockOp = op.kind() == Op.Kind.READ || op.kind() == Op.Kind.WRITE || op.kind() == Op.Kind.SNAPSHOT_READ;
            if (!blockOp || op.covers(block)) {
                around.add(op);
            }
        }
        return around;
    }
}
