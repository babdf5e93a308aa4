package dev.scemu.snapshot.internal;

import dev.scemu.core.Extent;
import dev.scemu.snapshot.SnapshotConfig;
import dev.scemu.snapshot.SnapshotError;
import dev.scemu.snapshot.SnapshotException;
import dev.scemu.snapshot.StoreFullPolicy;
import dev.scemu.core.ChecksummedRecord;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Where everything lives on the snapshot store, and the superblock (store block 0) that records it.
 *
 * <pre>
 * store:  | 0: superblock | log (logBlocks) | checkpoint A | checkpoint B | copy pool (rest) |
 *
 * superblock (one block, little-endian)
 * 0   ChecksummedRecord header: magic "SNSB", version 1, flags 0, length = blockSize (crc over the whole block)
 * 16  u32 blockSize                 20  u32 maxSnapshots
 * 24  u64 dataBlockCount            32  u64 storeBlockCount
 * 40  u64 logLba                    48  u64 logBlocks
 * 56  u64 checkpointALba            64  u64 checkpointBLba
 * 72  u64 checkpointBlocks          80  u64 poolLba
 * 88  u64 poolBlocks                96  u64 maxMappingEntries
 * 104 u32 cowBatchBlocks            108 u32 storeFullPolicy (0 REFUSE_WRITE, 1 INVALIDATE_OLDEST)
 * 112 u64 volumeIdHigh              120 u64 volumeIdLow
 * 128 u64 formattedAtMillis         136 u64 reserved
 * 144 intents: restore-incomplete mark and temporary snapshots ({@link VolumeIntents}), up to 480
 * 480 end (rest of the block zero)
 * </pre>
 */
record StoreLayout(int blockSize, long dataBlockCount, long storeBlockCount, Extent log, long checkpointALba,
                   long checkpointBLba, long checkpointBlocks, Extent pool, long maxMappingEntries, int maxSnapshots,
                   int cowBatchBlocks, StoreFullPolicy storeFullPolicy, long volumeIdHigh, long volumeIdLow,
                   long formattedAtMillis) {

    static final int MAGIC = ChecksummedRecord.magic("SNSB");
    static final int VERSION = 1;

    /** Bytes of one checkpoint page before its items: seal + u64 generation + u32 page index + u32 item count. */
    static final int PAGE_HEADER_BYTES = PageSeal.HEADER_BYTES + 16;
    static final int SNAPSHOT_RECORD_BYTES = 96;
    static final int ENTRY_RECORD_BYTES = 24;

    static StoreLayout compute(int blockSize, long dataBlockCount, long storeBlockCount, SnapshotConfig config,
                               long volumeIdHigh, long volumeIdLow, long nowMillis) {
        long fixed = 1 + (long) config.logBlocks();
        long pool = storeBlockCount - fixed;
        long checkpointBlocks = 0;
        long maxEntries = 0;
        for (int round = 0; round < 8; round++) {
            maxEntries = config.maxMappingEntries() > 0 ? config.maxMappingEntries()
                    : defaultMaxEntries(blockSize, dataBlockCount, storeBlockCount, config.maxSnapshots(), Math.max(pool, 1));
            checkpointBlocks = checkpointBlocks(blockSize, config.maxSnapshots(), maxEntries, Math.max(pool, 1));
            pool = storeBlockCount - fixed - 2 * checkpointBlocks;
        }
        if (pool < 1) {
            throw new SnapshotException(SnapshotError.INVALID_CONFIGURATION, "store of " + storeBlockCount
                    + " blocks is too small: superblock 1 + log " + config.logBlocks() + " + 2 checkpoints of "
                    + checkpointBlocks + " blocks leave no copy pool");
        }
        long logLba = 1;
        long checkpointA = logLba + config.logBlocks();
        long checkpointB = checkpointA + checkpointBlocks;
        long poolLba = checkpointB + checkpointBlocks;
        return new StoreLayout(blockSize, dataBlockCount, storeBlockCount, new Extent(logLba, config.logBlocks()),
                checkpointA, checkpointB, checkpointBlocks, new Extent(poolLba, storeBlockCount - poolLba), maxEntries,
                config.maxSnapshots(), config.cowBatchBlocks(), config.storeFullPolicy(), volumeIdHigh, volumeIdLow,
                nowMillis);
    }

    /**
     * The mapping table's capacity when the config leaves it to the layout: one entry per pool
     * block (a copy) plus one per data block (the zero-block entry a snapshot of a never-written
     * block needs when the block is first written: it takes an entry but no pool block), at least
     * twice the pool, and at most what checkpoint regions of an eighth of the store each can hold.
     * Sized by the pool alone (the old rule, 2 x pool), a snapshot of a mostly empty volume ran out
     * of entries, and the host got ENOSPC, once a fifth of a default unit's volume had been
     * written after the snapshot, with four fifths of the pool still free. Entries cost 24 bytes of
     * checkpoint per entry on the store (1.2 % of the volume's size over both regions) and nothing
     * in memory until used ({@link MappingIndex} allocates as it fills).
     */
    static long defaultMaxEntries(int blockSize, long dataBlockCount, long storeBlockCount, int maxSnapshots,
                                  long poolBlocks) {
        long wanted = Math.max(2 * poolBlocks, poolBlocks + dataBlockCount);
        long regionBudget = storeBlockCount / 8 - 1 - ceil(maxSnapshots, snapshotsPerPage(blockSize))
                - ceil(poolBlocks, freeMapBitsPerPage(blockSize));
        long fitting = Math.max(0, regionBudget) * entriesPerPage(blockSize);
        long entries = Math.max(2 * poolBlocks, Math.min(wanted, fitting));
        return Math.min(1L << 29, Math.max(16, entries));
    }

    static long checkpointBlocks(int blockSize, int maxSnapshots, long maxEntries, long poolBlocks) {
        return 1 + ceil(maxSnapshots, snapshotsPerPage(blockSize)) + ceil(maxEntries, entriesPerPage(blockSize))
                + ceil(poolBlocks, freeMapBitsPerPage(blockSize));
    }

    static int snapshotsPerPage(int blockSize) {
        return (blockSize - PAGE_HEADER_BYTES) / SNAPSHOT_RECORD_BYTES;
    }

    static int entriesPerPage(int blockSize) {
        return (blockSize - PAGE_HEADER_BYTES) / ENTRY_RECORD_BYTES;
    }

    static long freeMapBitsPerPage(int blockSize) {
        // whole 64-bit words only
        return ((blockSize - PAGE_HEADER_BYTES) / 8) * 64L;
    }

    private static long ceil(long count, long perPage) {
        return (count + perPage - 1) / perPage;
    }

    long checkpointLba(int region) {
        return region == 0 ? checkpointALba : checkpointBLba;
    }

    void encode(ByteBuffer target) {
        encode(target, VolumeIntents.NONE);
    }

    /** The superblock with {@code intents}: one block, sealed. */
    void encode(ByteBuffer target, VolumeIntents intents) {
        ByteBuffer block = target.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < blockSize; i += 8) {
            block.putLong(i, 0);
        }
        block.putInt(16, blockSize);
        block.putInt(20, maxSnapshots);
        block.putLong(24, dataBlockCount);
        block.putLong(32, storeBlockCount);
        block.putLong(40, log.lba());
        block.putLong(48, log.blockCount());
        block.putLong(56, checkpointALba);
        block.putLong(64, checkpointBLba);
        block.putLong(72, checkpointBlocks);
        block.putLong(80, pool.lba());
        block.putLong(88, pool.blockCount());
        block.putLong(96, maxMappingEntries);
        block.putInt(104, cowBatchBlocks);
        block.putInt(108, storeFullPolicy.ordinal());
        block.putLong(112, volumeIdHigh);
        block.putLong(120, volumeIdLow);
        block.putLong(128, formattedAtMillis);
        intents.encode(block);
        PageSeal.seal(block, 0, MAGIC, VERSION, blockSize);
    }

    /** Decodes and checks a superblock read from a store of {@code storeBlocks} blocks of {@code blockSize}. */
    static StoreLayout decode(ByteBuffer source, int blockSize, long storeBlocks) {
        ByteBuffer block = source.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (block.limit() < blockSize || blockSize < 144) {
            throw PageSeal.corrupt("snapshot store superblock of " + block.limit() + " bytes is shorter than its block of "
                    + blockSize + " bytes (at least 144)");
        }
        if (block.getInt(0) != MAGIC) {
            throw new SnapshotException(SnapshotError.NOT_FORMATTED,
                    "store holds no snapshot volume: superblock magic 0x" + Integer.toHexString(block.getInt(0)));
        }
        PageSeal.verify(block, 0, MAGIC, VERSION, blockSize, "snapshot store superblock");
        int policy = block.getInt(108);
        if (policy < 0 || policy >= StoreFullPolicy.values().length) {
            throw PageSeal.corrupt("superblock store-full policy " + policy);
        }
        StoreLayout layout;
        try {
            layout = new StoreLayout(block.getInt(16), block.getLong(24), block.getLong(32),
                    new Extent(block.getLong(40), block.getLong(48)), block.getLong(56), block.getLong(64),
                    block.getLong(72), new Extent(block.getLong(80), block.getLong(88)), block.getLong(96),
                    block.getInt(20), block.getInt(104), StoreFullPolicy.values()[policy], block.getLong(112),
                    block.getLong(120), block.getLong(128));
        } catch (RuntimeException e) {
            throw new SnapshotException(SnapshotError.CORRUPT_METADATA, "superblock fields are invalid: " + e.getMessage(), e);
        }
        if (layout.blockSize != blockSize || layout.storeBlockCount != storeBlocks
                || layout.pool.endLba() != storeBlocks || layout.checkpointBLba + layout.checkpointBlocks != layout.pool.lba()
                || layout.log.lba() != 1 || layout.checkpointALba != layout.log.endLba() || layout.checkpointBlocks < 1
                || layout.checkpointBLba != layout.checkpointALba + layout.checkpointBlocks
                || layout.log.blockCount() < 8 || layout.maxSnapshots < 1 || layout.maxSnapshots > 65_535
                || layout.cowBatchBlocks < 1 || layout.cowBatchBlocks > 4096 || layout.pool.blockCount() < 1
                || layout.maxMappingEntries < 1 || layout.maxMappingEntries > (1L << 29)) {
            throw PageSeal.corrupt("superblock layout " + layout + " does not fit a store of " + storeBlocks
                    + " blocks of " + blockSize + " bytes");
        }
        long needed = checkpointBlocks(blockSize, layout.maxSnapshots, layout.maxMappingEntries, layout.pool.blockCount());
        if (layout.checkpointBlocks < needed) {
            throw PageSeal.corrupt("superblock checkpoint regions of " + layout.checkpointBlocks + " blocks are smaller than the "
                    + needed + " blocks " + layout.maxSnapshots + " snapshots and " + layout.maxMappingEntries
                    + " mapping entries need");
        }
        return layout;
    }
}
