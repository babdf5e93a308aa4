package dev.scemu.snapshot.internal;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.IoMeter;
import dev.scemu.snapshot.SnapshotError;
import dev.scemu.snapshot.SnapshotException;
import dev.scemu.snapshot.SnapshotInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The state one snapshot volume's loader, write path, read path and snapshot operations share,
 * with the lock that guards each piece declared beside it. Three locks, always taken in this
 * order (a thread may skip any of them):
 * <ol>
 *   <li>{@code writeGate} and {@code viewGate} of {@link SnapshotVolumeImpl} (volume-wide
 *       read-write locks; host writes and view reads take them shared, snapshot operations
 *       exclusive: writeGate before viewGate);</li>
 *   <li>{@link #stripes}: block-range locks of the live volume ({@link StripeLocks});</li>
 *   <li>{@link #meta}: a monitor held only for in-memory bookkeeping, never across I/O except the
 *       4 KiB copies into and out of batch slots.</li>
 * </ol>
 */
final class VolumeState {

    final String name;
    final BlockDevice data;
    final BlockDevice store;
    final StoreLayout layout;
    final MappingJournal journal;
    final IoMeter meter;
    final int blockSize;
    final StripeLocks stripes;

    /**
     * Guards {@link #index}, {@link #freeMap}, the batches' slot tables and the write path's run
     * accounting. Mutations of the index and free map happen under it; reads that race with no
     * mutator (a checkpoint while runs are paused, snapshot operations holding writeGate
     * exclusively) may skip it.
     */
    final Object meta = new Object();
    /** Guarded by {@link #meta}. */
    final MappingIndex index;
    /** Guarded by {@link #meta}. */
    final StoreFreeMap freeMap;

    /** Snapshots by id: changed only under writeGate exclusive; readable without a lock. */
    final ConcurrentSkipListMap<Long, SnapshotInfo> snapshots = new ConcurrentSkipListMap<>();
    /** Sorted epochs of {@link #snapshots}: replaced (never changed) under writeGate exclusive. */
    volatile long[] liveEpochs = new long[0];
    /**
     * The epoch writes land in, the next snapshot id, the checkpoint generation and region, the
     * running rollback: changed under writeGate exclusive, at load, or by the committer (which
     * holds writeGate shared and is the only thread touching the journal then).
     */
    long writeEpoch;
    long nextSnapshotId = 1;
    volatile long generation;
    int activeRegion;
    long rollbackTarget;

    /** Journal bookkeeping: touched only by the one thread using the journal (committer or writeGate holder). */
    final List<Long> openTransactions = new ArrayList<>();
    long journalRecordBytesAtCheckpoint;
    long journalBytesReported;
    final long journalBytesPerCheckpoint;

    /** The first I/O failure or broken invariant: the volume refuses everything after it. */
    volatile RuntimeException failure;

    VolumeState(String name, BlockDevice data, BlockDevice store, StoreLayout layout, MappingJournal journal, IoMeter meter) {
        this.name = name;
        this.data = data;
        this.store = store;
        this.layout = layout;
        this.journal = journal;
        this.meter = meter;
        this.blockSize = data.blockSize();
        this.stripes = StripeLocks.following(data.optimalWrite());
        MappingIndex createdIndex = new MappingIndex(layout.maxMappingEntries());
        try {
            this.freeMap = new StoreFreeMap(layout.pool().blockCount());
        } catch (RuntimeException e) {
            createdIndex.release();
            throw e;
        }
        this.index = createdIndex;
        // checkpoint when the records since the last checkpoint fill half of the ring
        this.journalBytesPerCheckpoint = Math.max(1, (layout.log().blockCount() - 2) / 2) * (long) (blockSize - 40);
    }

    void refreshLiveEpochs() {
        liveEpochs = snapshots.values().stream().mapToLong(SnapshotInfo::epoch).sorted().toArray();
    }

    /** Whether the live block at {@code lba} is seen by an existing snapshot. Caller holds {@link #meta}. */
    boolean needsCopy(long lba) {
        long[] epochs = liveEpochs;
        int count = epochs.length;
        return count > 0 && index.birthEpoch(lba) <= epochs[count - 1];
    }

    SnapshotInfo existing(long snapshotId) {
        SnapshotInfo info = snapshots.get(snapshotId);
        if (info == null) {
            throw new SnapshotException(SnapshotError.UNKNOWN_SNAPSHOT, "no snapshot with id " + snapshotId
                    + " (existing: " + snapshots.keySet() + ")");
        }
        return info;
    }

    /** Throws {@code VOLUME_FAILED} if the volume failed earlier. */
    void checkNotFailed() {
        RuntimeException failed = failure;
        if (failed != null) {
            throw new SnapshotException(SnapshotError.VOLUME_FAILED, "volume " + name
                    + " failed earlier and must be reopened: " + failed.getMessage(), failed);
        }
    }

    void syncJournal() {
        journal.sync();
        long written = journal.bytesWritten();
        meter.issuedWrite(dev.scemu.core.IoCause.JOURNAL, written - journalBytesReported);
        journalBytesReported = written;
    }

    boolean journalHalfFull() {
        return journal.recordBytes() - journalRecordBytesAtCheckpoint >= journalBytesPerCheckpoint;
    }

    void releaseMemory() {
        index.release();
        freeMap.release();
    }
}
