package dev.scemu.snapshot.internal;

import dev.scemu.snapshot.SnapshotError;
import dev.scemu.snapshot.SnapshotException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Payloads of the snapshot layer's execution-log transactions (the log adds its own framing and
 * checksum). Little-endian.
 *
 * <pre>
 * COW batch (opType {@link #OP_COW_BATCH})
* 0   u32 magic "SNJC"              4  u16 version 1   6  u16 reserved
 * 8   u64 baseGeneration (checkpoint generation the batch builds on)
 * 16  u32 entryCount                20 u32 reserved
 * 24  entryCount x 32 bytes:
 *     0 u64 lba   8 i64 storeBlock (-1 = zero block)   16 u32 fromEpoch   20 u32 toEpoch
 *     24 u64 xxHash3 of the copied block (0 for the zero block)
 *
 * snapshot created (opType {@link #OP_SNAPSHOT})
 * 0   u32 magic "SNJS"              4  u16 version 1   6  u16 nameLength (bytes, <= 64)
 * 8   u64 baseGeneration            16 u64 snapshotId
 * 24  u64 epoch                     32 u64 createdAtMillis
 * 40  nameLength bytes of UTF-8
 *
 * rollback begun (opType {@link #OP_ROLLBACK}), 32 bytes
 * 0   u32 magic "SNJR"              4  u16 version 1   6  u16 reserved
 * 8   u64 baseGeneration            16 u64 snapshotId (the rollback's target)
 * 24  u64 epoch of that snapshot
 * </pre>
 * A rollback record is synced before the rollback's first data write; while it (or a checkpoint
 * header naming the same rollback) is in force, the next open finishes the rollback.
 */
final class JournalRecords {

    static final int OP_COW_BATCH = 0x5301;
    static final int OP_SNAPSHOT = 0x5302;
    static final int OP_ROLLBACK = 0x5303;
    static final int ROLLBACK_MAGIC = dev.scemu.core.ChecksummedRecord.magic("SNJR");
    static final int ROLLBACK_BYTES = 32;
    static final int COW_MAGIC = dev.scemu.core.ChecksummedRecord.magic("SNJC");
    static final int SNAPSHOT_MAGIC = dev.scemu.core.ChecksummedRecord.magic("SNJS");
    static final int VERSION = 1;
    static final int COW_HEADER_BYTES = 24;
    static final int COW_ENTRY_BYTES = 32;
    static final int SNAPSHOT_BYTES = 40;

    private JournalRecords() {
    }

    /** How many COW entries fit a payload of {@code maxPayloadBytes}. */
    static int cowEntriesPerRecord(int maxPayloadBytes) {
        return (maxPayloadBytes - COW_HEADER_BYTES) / COW_ENTRY_BYTES;
    }

    static void putCowHeader(ByteBuffer payload, long baseGeneration, int entryCount) {
        payload.putInt(0, COW_MAGIC);
        payload.putShort(4, (short) VERSION);
        payload.putShort(6, (short) 0);
        payload.putLong(8, baseGeneration);
        payload.putInt(16, entryCount);
        payload.putInt(20, 0);
        payload.limit(COW_HEADER_BYTES + entryCount * COW_ENTRY_BYTES).position(0);
    }

    static void putCowEntry(ByteBuffer payload, int index, long lba, long storeBlock, long fromEpoch, long toEpoch, long hash) {
        int at = COW_HEADER_BYTES + index * COW_ENTRY_BYTES;
        payload.putLong(at, lba);
        payload.putLong(at + 8, storeBlock);
        payload.putInt(at + 16, (int) fromEpoch);
        payload.putInt(at + 20, (int) toEpoch);
        payload.putLong(at + 24, hash);
    }

    static long baseGeneration(ByteBuffer payload) {
        return payload.getLong(payload.position() + 8);
    }

    /** Checks a COW payload's framing; returns its entry count. */
    static int checkCow(ByteBuffer payload, long txId) {
        int base = payload.position();
        int length = payload.remaining();
        if (length < COW_HEADER_BYTES || payload.getInt(base) != COW_MAGIC || payload.getShort(base + 4) != VERSION) {
            throw corrupt(txId, "is not a version-" + VERSION + " COW batch");
        }
        int count = payload.getInt(base + 16);
        if (count < 0 || COW_HEADER_BYTES + (long) count * COW_ENTRY_BYTES != length) {
            throw corrupt(txId, "has " + count + " entries but " + length + " payload bytes");
        }
        return count;
    }

    static long cowLba(ByteBuffer p, int i) {
        return p.getLong(p.position() + COW_HEADER_BYTES + i * COW_ENTRY_BYTES);
    }

    static long cowStoreBlock(ByteBuffer p, int i) {
        return p.getLong(p.position() + COW_HEADER_BYTES + i * COW_ENTRY_BYTES + 8);
    }

    static long cowFromEpoch(ByteBuffer p, int i) {
        return p.getInt(p.position() + COW_HEADER_BYTES + i * COW_ENTRY_BYTES + 16) & 0xFFFF_FFFFL;
    }

    static long cowToEpoch(ByteBuffer p, int i) {
        return p.getInt(p.position() + COW_HEADER_BYTES + i * COW_ENTRY_BYTES + 20) & 0xFFFF_FFFFL;
    }

    static long cowHash(ByteBuffer p, int i) {
        return p.getLong(p.position() + COW_HEADER_BYTES + i * COW_ENTRY_BYTES + 24);
    }

    static ByteBuffer snapshotPayload(long baseGeneration, long id, long epoch, long createdAtMillis, String name) {
        byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer payload = ByteBuffer.allocate(SNAPSHOT_BYTES + nameBytes.length).order(ByteOrder.LITTLE_ENDIAN);
        payload.putInt(0, SNAPSHOT_MAGIC);
        payload.putShort(4, (short) VERSION);
        payload.putShort(6, (short) nameBytes.length);
        payload.putLong(8, baseGeneration);
        payload.putLong(16, id);
        payload.putLong(24, epoch);
        payload.putLong(32, createdAtMillis);
        payload.put(SNAPSHOT_BYTES, nameBytes);
        return payload;
    }

    /** Decoded snapshot record. */
    record SnapshotRecord(long id, long epoch, long createdAtMillis, String name) {
    }

    static SnapshotRecord decodeSnapshot(ByteBuffer payload, long txId) {
        int base = payload.position();
        int length = payload.remaining();
        if (length < SNAPSHOT_BYTES || payload.getInt(base) != SNAPSHOT_MAGIC || payload.getShort(base + 4) != VERSION) {
            throw corrupt(txId, "is not a version-" + VERSION + " snapshot record");
        }
        int nameLength = payload.getShort(base + 6) & 0xFFFF;
        if (nameLength > 64 || SNAPSHOT_BYTES + nameLength != length) {
            throw corrupt(txId, "has name length " + nameLength + " in " + length + " payload bytes");
        }
        byte[] name = new byte[nameLength];
        payload.get(base + SNAPSHOT_BYTES, name);
        return new SnapshotRecord(payload.getLong(base + 16), payload.getLong(base + 24), payload.getLong(base + 32),
                new String(name, StandardCharsets.UTF_8));
    }

    static ByteBuffer rollbackPayload(long baseGeneration, long snapshotId, long epoch) {
        ByteBuffer payload = ByteBuffer.allocate(ROLLBACK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        payload.putInt(0, ROLLBACK_MAGIC);
        payload.putShort(4, (short) VERSION);
        payload.putShort(6, (short) 0);
        payload.putLong(8, baseGeneration);
        payload.putLong(16, snapshotId);
        payload.putLong(24, epoch);
        return payload;
    }

    /** Decoded rollback record. */
    record RollbackRecord(long snapshotId, long epoch) {
    }

    static RollbackRecord decodeRollback(ByteBuffer payload, long txId) {
        int base = payload.position();
        if (payload.remaining() != ROLLBACK_BYTES || payload.getInt(base) != ROLLBACK_MAGIC
                || payload.getShort(base + 4) != VERSION) {
            throw corrupt(txId, "is not a version-" + VERSION + " rollback record (" + payload.remaining() + " bytes)");
        }
        return new RollbackRecord(payload.getLong(base + 16), payload.getLong(base + 24));
    }

    static SnapshotException corrupt(long txId, String what) {
        return new SnapshotException(SnapshotError.CORRUPT_METADATA, "journal transaction " + txId + " " + what);
    }
}
