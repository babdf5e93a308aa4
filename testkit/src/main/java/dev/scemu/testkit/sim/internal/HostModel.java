package dev.scemu.testkit.sim.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reference model of the host volume's first {@code blockCount} blocks (the simulation's working
 * region), as tokens of {@link BlockPattern}.
 *
 * <ul>
 *   <li>{@code latest}: what a read must return now;</li>
 *   <li>{@code durable}: what survives a power cut for a block not written since the last flush
 *       (a flush, a FUA write, a snapshot creation or a rollback makes a version durable);</li>
 *   <li>{@code pending}: the versions written to a block since it was last made durable, oldest
 *       first, recorded <em>before</em> the write is issued (a write in flight at a cut may land).
 *       After a cut such a block may hold its durable version or any pending one, independently
 *       of its neighbours.</li>
 *   <li>snapshots: the {@code latest} array frozen at each snapshot's creation.</li>
 * </ul>
 */
public final class HostModel {

    private final long[] latest;
    private final long[] durable;
    private final TreeMap<Integer, List<Long>> pending = new TreeMap<>();
    private final TreeMap<Long, long[]> snapshots = new TreeMap<>();

    public HostModel(int blockCount) {
        this.latest = new long[blockCount];
        this.durable = new long[blockCount];
    }

    public int blockCount() {
        return latest.length;
    }

    public long latest(int lba) {
        return latest[lba];
    }

    /** Records a write about to be issued. */
    public void beforeWrite(int lba, long[] tokens) {
        for (int i = 0; i < tokens.length; i++) {
            latest[lba + i] = tokens[i];
            pending.computeIfAbsent(lba + i, k -> new ArrayList<>(2)).add(tokens[i]);
        }
    }

    /** A FUA write returned: its blocks are durable. */
    public void fuaWriteDone(int lba, long[] tokens) {
        for (int i = 0; i < tokens.length; i++) {
            durable[lba + i] = tokens[i];
            pending.remove(lba + i);
        }
    }

    /** A flush returned (or a snapshot was created, which implies one): every version is durable. */
    public void flushed() {
        for (int lba : pending.keySet()) {
            durable[lba] = latest[lba];
        }
        pending.clear();
    }

    /** Blocks written since they were last made durable. */
    public int pendingBlockCount() {
        return pending.size();
    }

    /** Whether, after a power cut, block {@code lba} may hold {@code token}. */
    public boolean allowedAfterCut(int lba, long token) {
        if (token == durable[lba]) {
            return true;
        }
        List<Long> versions = pending.get(lba);
        return versions != null && versions.contains(token);
    }

    /** After a cut, the model adopts what block {@code lba} was observed to hold (already checked as allowed). */
    public void adoptAfterCut(int lba, long token) {
        latest[lba] = token;
        durable[lba] = token;
    }

    /** After a cut, once every block was adopted. */
    public void cutReconciled() {
        pending.clear();
    }

    /** Describes what block {@code lba} may hold after a cut (for failure messages). */
    public String allowedDescription(int lba) {
        return "durable " + Long.toHexString(durable[lba]) + ", pending "
                + pending.getOrDefault(lba, List.of()).stream().map(Long::toHexString).toList();
    }

    public void snapshotCreated(long snapshotId) {
        flushed();
        snapshots.put(snapshotId, latest.clone());
    }

    /** A snapshot whose creation a cut interrupted turned out to exist: it froze {@code view}. */
    public void snapshotAdded(long snapshotId, long[] view) {
        snapshots.put(snapshotId, view.clone());
    }

    /** A copy of what reads must return now. */
    public long[] latestCopy() {
        return latest.clone();
    }

    public void snapshotDeleted(long snapshotId) {
        snapshots.remove(snapshotId);
    }

    /** The live volume now reads exactly like the snapshot, durably. */
    public void rolledBack(long snapshotId) {
        long[] view = snapshots.get(snapshotId);
        System.arraycopy(view, 0, latest, 0, latest.length);
        System.arraycopy(view, 0, durable, 0, durable.length);
        pending.clear();
    }

    /** The live volume now reads exactly {@code view} (a restore or a finished rollback), durably. */
    public void replacedDurably(long[] view) {
        System.arraycopy(view, 0, latest, 0, latest.length);
        System.arraycopy(view, 0, durable, 0, durable.length);
        pending.clear();
    }

    /** Snapshot ids of the model, oldest first. */
    public List<Long> snapshotIds() {
        return List.copyOf(snapshots.keySet());
    }

    public long[] snapshotView(long snapshotId) {
        return snapshots.get(snapshotId);
    }

    public Map<Long, long[]> snapshots() {
        return snapshots;
    }

    /** Distinct tokens written so far (for sizing checks). */
    public long nonZeroBlocks() {
        return Arrays.stream(latest).filter(t -> t != 0).count();
    }
}
