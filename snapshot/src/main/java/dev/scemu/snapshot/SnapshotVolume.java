package dev.scemu.snapshot;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.Extent;
import dev.scemu.snapshot.internal.SnapshotVolumeImpl;
import java.util.List;

/**
 * A {@link BlockDevice} with copy-on-write snapshots, stacked over a <em>data device</em> (the live
 * blocks, in place) and a <em>snapshot store</em> (superblock, two mapping-table checkpoint
 * regions, the execution log and the pool of preserved old blocks). Geometry = the data device's.
 *
 * <h2>Writes</h2>
 * Each block of a write is compared with the stored block; identical data is skipped (counted
 * with {@link dev.scemu.core.IoMeter#skippedWrite}). A differing block that a snapshot still needs
 * is copied once into a free store block shared by every snapshot of its epoch range; the new data
 * waits in memory (readable) until the batch of copies is journaled, then overwrites in place.
 *
 * <h2>Durability</h2>
 * As for every BlockDevice: a write is durable after {@link #flush()} or with FUA.
 * {@link #createSnapshot}, {@link #deleteSnapshot}, {@link #rollback} and {@link #restoreRange}
 * are durable when they return. After a power cut, {@link #open} replays the journal: every
 * snapshot reads exactly what it read before the cut.
 *
 * <h2>Ownership</h2>
 * The volume does not own the data and store devices: {@link #close()} writes a final checkpoint
 * (unless the volume failed) and releases the volume's off-heap memory; the caller closes the devices.
 */
public interface SnapshotVolume extends BlockDevice {

    /** Formats {@code store} for a new volume over {@code data} (data contents are kept as the live volume). */
    static SnapshotVolume format(BlockDevice data, BlockDevice store, SnapshotConfig config) {
        return SnapshotVolumeImpl.format(data, store, config);
    }

    /** Opens a formatted volume, redoing the journal after a crash. Corrupt metadata: an error, nothing written. */
    static SnapshotVolume open(BlockDevice data, BlockDevice store) {
        return SnapshotVolumeImpl.open(data, store);
    }

    /**
     * Freezes the current contents (implies a flush) under {@code name} (1..64 UTF-8 bytes, unique
     * among the volume's snapshots: an existing name is refused with {@link SnapshotError#DUPLICATE_NAME}).
     */
    SnapshotInfo createSnapshot(String name);

    /** Existing snapshots, oldest first. */
    List<SnapshotInfo> listSnapshots();

    SnapshotInfo snapshotInfo(long snapshotId);

    /** A read-only view of snapshot {@code snapshotId}; reads fail once it is deleted. */
    BlockDevice snapshot(long snapshotId);

    /** Deletes a snapshot and frees the store blocks no other snapshot needs. */
    void deleteSnapshot(long snapshotId);

    /** Makes the live volume read exactly like snapshot {@code snapshotId} (later snapshots are kept). */
    void rollback(long snapshotId);

    /** Copies blocks {@code [lba, lba+blockCount)} of snapshot {@code snapshotId} back into the live volume. */
    void restoreRange(long snapshotId, long lba, long blockCount);

    /** Blocks that may differ between two snapshots, sorted and coalesced (never misses a change). */
    List<Extent> changedBlocks(long fromSnapshotId, long toSnapshotId);

    /** Blocks that may differ between a snapshot and the live volume, sorted and coalesced. */
    List<Extent> changedBlocksSince(long fromSnapshotId);

    /** Usage of the snapshot store. */
    StoreUsage storeUsage();

    /**
     * Store figures.
     *
     * @param storeBlocks blocks in the pool of preserved copies
     * @param usedStoreBlocks of those, in use
     * @param mappingEntries entries of the block mapping table in use
     * @param maxMappingEntries table capacity
     * @param checkpointGeneration generation of the newest durable checkpoint
     */
    record StoreUsage(long storeBlocks, long usedStoreBlocks, long mappingEntries, long maxMappingEntries,
                      long checkpointGeneration) {
    }
}
