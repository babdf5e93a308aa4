package dev.scemu.snapshot;

/**
 * Format-time settings of a snapshot volume (stored in the store superblock).
 *
 * @param logBlocks blocks of the snapshot store given to the execution log
 * @param maxMappingEntries capacity of the block mapping table in entries; 0 = one per pool block plus one per
 *        data block (at least twice the pool; the checkpoint regions it needs take at most a quarter of the store)
 * @param maxSnapshots most snapshots that may exist at once
 * @param cowBatchBlocks copy-on-write entries gathered before one commit (their journal records + one log sync)
 * @param storeFullPolicy what a write does when the store is full
 */
public record SnapshotConfig(int logBlocks, long maxMappingEntries, int maxSnapshots, int cowBatchBlocks,
                             StoreFullPolicy storeFullPolicy) {

    public static final int MAX_SNAPSHOT_NAME_BYTES = 64;

    public SnapshotConfig {
        if (logBlocks < 8) {
            throw new SnapshotException(SnapshotError.INVALID_CONFIGURATION, "logBlocks " + logBlocks + " < 8");
        }
        if (maxMappingEntries < 0 || maxMappingEntries > Integer.MAX_VALUE - 1) {
            throw new SnapshotException(SnapshotError.INVALID_CONFIGURATION,
                    "maxMappingEntries " + maxMappingEntries + " is out of range [0, " + (Integer.MAX_VALUE - 1) + "]");
        }
        if (maxSnapshots < 1 || maxSnapshots > 65_535) {
            throw new SnapshotException(SnapshotError.INVALID_CONFIGURATION, "maxSnapshots " + maxSnapshots + " not in [1, 65535]");
        }
        if (cowBatchBlocks < 1 || cowBatchBlocks > 4096) {
            throw new SnapshotException(SnapshotError.INVALID_CONFIGURATION, "cowBatchBlocks " + cowBatchBlocks + " not in [1, 4096]");
        }
        if (storeFullPolicy == null) {
            throw new SnapshotException(SnapshotError.INVALID_CONFIGURATION, "storeFullPolicy is null");
        }
    }

    /**
     * 1 MiB-ish log, automatic table size, 256 snapshots, batches of 1,024 copies (a commit, with
     * its two store flushes, per 4 MiB of copies; two batches hold 16 MiB of new and old blocks in
     * memory), refuse writes when full.
     */
    public static SnapshotConfig defaults() {
        return new SnapshotConfig(256, 0, 256, 1024, StoreFullPolicy.REFUSE_WRITE);
    }

    public SnapshotConfig withLogBlocks(int blocks) {
        return new SnapshotConfig(blocks, maxMappingEntries, maxSnapshots, cowBatchBlocks, storeFullPolicy);
    }

    public SnapshotConfig withMaxMappingEntries(long entries) {
        return new SnapshotConfig(logBlocks, entries, maxSnapshots, cowBatchBlocks, storeFullPolicy);
    }

    public SnapshotConfig withMaxSnapshots(int snapshots) {
        return new SnapshotConfig(logBlocks, maxMappingEntries, snapshots, cowBatchBlocks, storeFullPolicy);
    }

    public SnapshotConfig withCowBatchBlocks(int blocks) {
        return new SnapshotConfig(logBlocks, maxMappingEntries, maxSnapshots, blocks, storeFullPolicy);
    }

    public SnapshotConfig withStoreFullPolicy(StoreFullPolicy policy) {
        return new SnapshotConfig(logBlocks, maxMappingEntries, maxSnapshots, cowBatchBlocks, policy);
    }
}
