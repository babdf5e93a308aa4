package dev.scemu.testkit.sim.internal;

import dev.scemu.core.IoCause;
import dev.scemu.core.IoMeter;
import dev.scemu.unit.StorageControlUnit;
import java.util.TreeMap;

/**
 * Checks that the unit's meters add up between boots (every meter counts since the last boot):
 *
 * <ol>
 *   <li>bytes the member disks received = bytes the array issued to them, summed over its causes
 *       (host + parity + journal + metadata + rebuild + scrub); a failed disk counts what it had
 *       received when it failed (later writes to it fail and are not issued), a replaced one what
 *       it had received when it was retired;</li>
 *   <li>bytes the array received = bytes the snapshot volume issued (host + COW copy + journal +
 *       metadata) plus the firmware's own writes, which only boot, inspection, staging and update
 *       make ({@link #firmwareWrote()} accepts them);</li>
 *   <li>the volume wrote at most the host bytes it received and did not skip as identical
 *       (a rewrite of data still waiting in its COW batch is absorbed; a rollback writes data no
 *       host sent, {@link #rolledBack()} accepts it).</li>
 * </ol>
 * Setup writes no meter sees (at create and boot) are absorbed by the baselines taken in
 * {@link #booted()}.
 */
public final class MeterLedger {

    private final StorageControlUnit unit;
    private final int diskCount;
    /** Disks failed and not replaced yet: role -> received write bytes when they failed. */
    private final TreeMap<Integer, Long> failedDisks = new TreeMap<>();
    private long retiredDiskWriteBytes;
    private long diskBaseline;
    private long volumeBaseline;
    private long hostBaseline;

    public MeterLedger(StorageControlUnit unit) {
        this.unit = unit;
        this.diskCount = unit.config().diskCount();
    }

    /** After create or any boot: meters restarted, baselines taken. */
    public void booted() {
        retiredDiskWriteBytes = 0;
        failedDisks.replaceAll((role, frozen) -> 0L);
        diskBaseline = diskImbalance();
        volumeBaseline = volumeImbalance();
        hostBaseline = hostImbalance();
    }

    /** Disk {@code role} is about to fail: its count freezes. */
    public void diskFailing(int role) {
        failedDisks.put(role, receivedWriteBytes(role));
    }

    /** Disk {@code role} is about to be replaced: its frozen count is kept apart. */
    public void diskRetiring(int role) {
        Long frozen = failedDisks.remove(role);
        retiredDiskWriteBytes += frozen != null ? frozen : receivedWriteBytes(role);
    }

    public boolean anyDiskFailed() {
        return !failedDisks.isEmpty();
    }

    public int firstFailedDisk() {
        return failedDisks.firstKey();
    }

    /** The firmware wrote to the array (inspection, staging, update): accept it. */
    public void firmwareWrote() {
        volumeBaseline = volumeImbalance();
    }

    /** A rollback wrote host data nobody sent: accept it. */
    public void rolledBack() {
        hostBaseline = hostImbalance();
    }

    /**
     * A restore wrote the volume: its zero runs arrive as trims, which the volume counts as
     * skipped writes where the blocks were zero already (received as trims, not writes): accept it.
     */
    public void restored() {
        hostBaseline = hostImbalance();
    }

    /** Null if the meters add up, else what does not. */
    public String check() {
        long disks = diskImbalance();
        if (disks != diskBaseline) {
            return "meters do not add up: member disks received " + (disks - diskBaseline)
                    + " bytes more than the array issued by cause " + unit.array().meter().snapshot().issuedWrite();
        }
        long volume = volumeImbalance();
        if (volume != volumeBaseline) {
            return "meters do not add up: the array received " + (volume - volumeBaseline)
                    + " bytes more than the snapshot volume issued " + unit.snapshots().meter().snapshot().issuedWrite();
        }
        long host = hostImbalance();
        if (host < hostBaseline) {
            IoMeter.Snapshot meter = unit.snapshots().meter().snapshot();
            return "meters do not add up: the volume received " + meter.receivedWrite() + " host bytes, skipped "
                    + meter.skippedWrite() + " and wrote " + meter.issuedWrite(IoCause.HOST) + " in place: "
                    + (hostBaseline - host) + " bytes more than it was given";
        }
        return null;
    }

    private long receivedWriteBytes(int role) {
        return unit.disk(role).meter().snapshot().receivedWrite().bytes();
    }

    private long diskImbalance() {
        long disks = retiredDiskWriteBytes;
        for (int role = 0; role < diskCount; role++) {
            Long frozen = failedDisks.get(role);
            disks += frozen != null ? frozen : receivedWriteBytes(role);
        }
        return disks - unit.array().meter().snapshot().issuedWriteTotal().bytes();
    }

    private long volumeImbalance() {
        return unit.array().meter().snapshot().receivedWrite().bytes()
                - unit.snapshots().meter().snapshot().issuedWriteTotal().bytes();
    }

    private long hostImbalance() {
        IoMeter.Snapshot volume = unit.snapshots().meter().snapshot();
        return volume.receivedWrite().bytes() - volume.skippedWrite().bytes() - volume.issuedWrite(IoCause.HOST).bytes();
    }
}
