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
        dev.scemu.core.JvmFlags.require(); // the mapping table lives off-heap
        return SnapshotVolumeImpl.format(data, store, config);
    }

    /** Opens a formatted volume, redoing the journal after a crash. Corrupt metadata: an error, nothing written. */
    static SnapshotVolume open(BlockDevice data, BlockDevice store) {
        dev.scemu.core.JvmFlags.require();
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

    /**
     * Makes the live volume read exactly like snapshot {@code snapshotId} (later snapshots are
     * kept). Crash-atomic: after a power cut at any write, the next {@link #open} finishes the
     * rollback (see {@link #recoveredAtOpen()}), unless the cut came before its journal record
     * was durable, in which case the volume reads as before. Durable on return.
     */
    void rollback(long snapshotId);

    /**
     * Creates a snapshot that does not survive a restart: if it still exists at the next
     * {@link #open} (its user was interrupted, for example a backup killed by a power cut), open
     * deletes it. Deleting it normally forgets it. At most 3 exist at once.
     */
    SnapshotInfo createTemporarySnapshot(String name);

    /** Keeps a temporary snapshot for good (it is no longer removed at open). Durable on return. */
    void makePermanent(long snapshotId);

    /**
     * Durably marks the volume "restore incomplete" ({@code note}, up to 64 UTF-8 bytes, says what
     * is being restored). Call before the first write of a restore; the mark survives power cuts
     * and reopening until {@link #clearRestoreIncomplete()}.
     */
    void markRestoreIncomplete(String note);

    /** Flushes the volume (every restored block durable), then clears the mark. Durable on return. */
    void clearRestoreIncomplete();

    /** The note of the restore-incomplete mark, empty when the volume is not marked. */
    java.util.Optional<String> restoreIncomplete();

    /** What {@link #open} finished or removed for operations a cut interrupted. */
    OpenRecovery recoveredAtOpen();

    /**
     * Work an open completed on behalf of interrupted operations.
     *
     * @param resumedRollback the snapshot an interrupted rollback was finished to, if any
     * @param removedTemporarySnapshots temporary snapshots left by interrupted operations, deleted
     */
    record OpenRecovery(java.util.Optional<SnapshotInfo> resumedRollback, List<SnapshotInfo> removedTemporarySnapshots) {

        public OpenRecovery {
            removedTemporarySnapshots = List.copyOf(removedTemporarySnapshots);
        }

        /** One human-readable line per item, for status reports. */
        public List<String> notices() {
            List<String> lines = new java.util.ArrayList<>();
            resumedRollback.ifPresent(s -> lines.add("rollback to snapshot " + s.id() + " '" + s.name()
                    + "' was interrupted and was finished at open"));
            for (SnapshotInfo s : removedTemporarySnapshots) {
                lines.add("temporary snapshot " + s.id() + " '" + s.name()
                        + "' of an interrupted operation was removed at open");
            }
            return List.copyOf(lines);
        }
    }

    /** Copies blocks {@code [lba, lba+blockCount)} of snapshot {@code snapshotId} back into the live volume. */
    void restoreRange(long snapshotId, long lba, long blockCount);

    /** Blocks that may differ between two snapshots, sorted and coalesced (never misses a change). */
    List<Extent> changedBlocks(long fromSnapshotId, long toSnapshotId);

    /** Blocks that may differ between a snapshot and the live volume, sorted and coalesced. */
    List<Extent> changedBlocksSince(long fromSnapshotId);

    /** Usage of the snapshot store. */
    StoreUsage storeUsage();

    /**
     * The most that overwriting every block of {@code extents} (any order, overlaps counted once)
     * can take from the snapshot store: for a bulk writer such as a restore to ask before its first
     * write. A block costs a mapping entry only if an existing snapshot still reads it from the data
     * device (written before the newest snapshot and not since: {@code birth <= newest snapshot
     * epoch}), and a store block for its copy only if the old block is not all zeros (an old block
     * of zeros becomes an entry without a copy). That is counted from the data device's
     * {@link #mapAllocation} ({@code DATA}) without reading a block, and only when that bound
     * exceeds the free store blocks are the candidate blocks read (a rebuilt member makes every
     * block data). Rewriting identical contents costs nothing, so the figures are upper bounds;
     * they are exact for an overwrite with other, non-zero data. The cost is that of the volume
     * now: blocks a snapshot created later needs are not counted.
     */
    default OverwriteCost overwriteCost(java.util.Collection<Extent> extents) {
        return overwriteCost(extents, java.util.List.of());
    }

    /**
     * {@link #overwriteCost(java.util.Collection)} of a bulk writer that writes data over
     * {@code writes} and zeros (a trim, or zero blocks) over {@code zeroed}, as a restore does with
     * an image's stored extents and its zero runs (a block in both counts as written). A zeroed
     * block costs nothing where it holds zeros already (zeros over zeros are skipped like any
     * identical write), so on a sparse volume only the zeroed blocks the data device reports as
     * {@code DATA} count, and when the bound does not fit, only those that do not read as zeros.
     * A written block over zeros still takes a mapping entry (without a copy).
     */
    OverwriteCost overwriteCost(java.util.Collection<Extent> writes, java.util.Collection<Extent> zeroed);

    /**
     * {@link #overwriteCost} of {@code extents}, refused up front when the store cannot hold it:
     * under {@link StoreFullPolicy#REFUSE_WRITE}, {@link SnapshotError#STORE_FULL} naming
     * {@code what}, the blocks it may need and the free ones, where the writes would otherwise
     * fail one by one once the store ran out, after the first ones changed the volume. Under
     * {@link StoreFullPolicy#INVALIDATE_OLDEST} nothing is refused: the writes delete the oldest
     * snapshots as they need room, as any host write does, and always complete (a volume without
     * snapshots needs no copies). Writes nothing.
     *
     * @return the cost, for a caller that reports it
     */
    default OverwriteCost requireRoomToOverwrite(java.util.Collection<Extent> extents, String what) {
        return requireRoomToOverwrite(extents, java.util.List.of(), what);
    }

    /** {@link #requireRoomToOverwrite(java.util.Collection, String)} of {@link #overwriteCost(java.util.Collection, java.util.Collection)}. */
    OverwriteCost requireRoomToOverwrite(java.util.Collection<Extent> writes, java.util.Collection<Extent> zeroed,
                                         String what);

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

    /**
     * What an overwrite may take from the snapshot store ({@link #overwriteCost}).
     *
     * @param blocks blocks the overwrite writes
     * @param mappingEntriesNeeded of those, blocks an existing snapshot still reads from the data device: each
     *        takes a mapping entry when overwritten with other contents
     * @param storeBlocksNeeded of those, blocks where the data device may hold data (read to tell when that
     *        does not fit: blocks that are not all zeros): each also takes a store block for its copy
     * @param freeMappingEntries mapping entries free now
     * @param freeStoreBlocks store blocks free now
     * @param storeBlocks blocks in the pool of preserved copies
     * @param snapshots snapshots that exist now
     * @param policy what a write does when the store is full
     */
    record OverwriteCost(long blocks, long mappingEntriesNeeded, long storeBlocksNeeded, long freeMappingEntries,
                         long freeStoreBlocks, long storeBlocks, int snapshots, StoreFullPolicy policy) {

        /** Whether the store holds the worst case now, without deleting a snapshot. */
        public boolean fits() {
            return storeBlocksNeeded <= freeStoreBlocks && mappingEntriesNeeded <= freeMappingEntries;
        }
    }
}
