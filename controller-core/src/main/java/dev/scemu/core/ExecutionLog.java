package dev.scemu.core;

import dev.scemu.core.internal.ActiveTransactions;
import dev.scemu.core.internal.LittleEndian;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A checksummed, append-only intent log (journal) on an {@link Extent} of any {@link BlockDevice}:
 * the one mechanism scemu uses for multi-step updates (copy-on-write copy + mapping update, RAID
 * parity write hole, firmware update steps, rebuild checkpoints).
 *
 * <p>A transaction is a {@code BEGIN} record (an operation type and a payload), any number of
 * {@code STEP} records and a final {@code COMMIT} or {@code ABORT}. After a power cut,
 * {@link #open} returns the log with {@link #unfinished()}: every transaction whose BEGIN survived
 * but not its COMMIT/ABORT, with the steps that survived. The caller redoes or undoes each one and
 * then commits or aborts it.
 *
 * <h2>Region layout</h2>
 * <pre>
 *  region block  0            1            2        3               N+1
 *               +------------+------------+--------+--------+-...-+--------+
 *               | header     | header     | data 0 | data 1 |     | data   |
 *               | slot 0     | slot 1     |        |        |     | N-1    |
 *               +------------+------------+--------+--------+-...-+--------+
 *                generation g lives in slot g mod 2;     data blocks form a ring:
 *                the valid slot with the highest         the block of sequence s lives
 *                generation is the current header        at data position s mod N
 * </pre>
 * Byte layouts (all little-endian, each block one {@link ChecksummedRecord}):
 * <pre>
 *  header block, magic "SCLH", version 1, record length 56
 *   0       16            24          32           40            48          52          56
 *   +-------+-------------+-----------+------------+-------------+-----------+-----------+
 *   | rec   | generation  | logId     | tailSeq    | nextTxId    | blockSize | N (data   |
 *   | hdr   | u64         | u64       | u64        | u64         | u32       | blocks)u32|
 *   +-------+-------------+-----------+------------+-------------+-----------+-----------+
 *
 *  data block, magic "SCLB", version 1, record length = 40 + bytes of its records
 *   0       16          24          32            36            38          40
 *   +-------+-----------+-----------+-------------+-------------+-----------+----------
 *   | rec   | logId u64 | seq u64   | prevCrc u32 | recordCount | flushMark | records...
 *   | hdr   |           |           |             | u16         | u16       | (packed)
 *   +-------+-----------+-----------+-------------+-------------+-----------+----------
 *
 *  record (16 bytes + payload, never split across blocks)
 *   0      1          2              4                8            16
 *   +------+----------+--------------+----------------+------------+--------------
 *   | type | reserved | opType (BEGIN)| payloadLength | txId u64   | payload ...
 *   | u8   | u8 = 0   | stepIndex    | u32            |            |
 *   |      |          | (STEP) u16   |                |            |
 *   +------+----------+--------------+----------------+------------+--------------
 *   type: BEGIN=1, STEP=2, COMMIT=3, ABORT=4
 * </pre>
 * {@code prevCrc} is the crc32c of the final version of the block written before this one in the
 * ring walk (0 for the first block after the tail at format/empty open); it chains the blocks so
 * that a block whose predecessor's last rewrite was lost in a power cut is not accepted.
 * {@code flushMark} tells a torn tail from a damaged block (see <i>Torn tail or corruption</i>): 0
 * means "not recorded" (blocks written before the mark existed, or a distance above 65534);
 * otherwise {@code 1 + d}, where {@code d} is how many ring positions before this block lies the
 * block <i>F</i> that was the newest block written when the log last completed a flush before
 * writing this version of this block ({@code flushMark = 1}: F is this block itself, an earlier
 * version of it). At that flush F was durable in some version and every block before F in its
 * final version (only the newest block is ever rewritten). After an open, F is the last block the
 * scan accepted (it was read from the medium); on an empty ring it is the position before the
 * first block. {@code nextTxId} in the header is a floor for transaction ids: ids stay monotonic
 * even when every block holding them has been reclaimed. {@code docs/on-disk-format.md} describes the same layout.
 *
 * <h2>Scan on open</h2>
 * Starting at data position {@code tailSeq mod N}, a block is the next valid one iff it verifies
 * as a record, carries this log's {@code logId}, its {@code seq ≡ position (mod N)},
 * {@code seq > } the previous block's seq (the first one: {@code seq >= tailSeq}), its
 * {@code prevCrc} equals the previous block's crc (not checked for the first one) and its records
 * parse (known types, lengths inside the record, BEGIN ids increasing). The scan stops at the first
 * block that is not valid, or after N blocks. Blocks of earlier laps, of earlier formats, or
 * written but lost in a power cut are therefore harmless: the recovered log is always a prefix of
 * what was appended.
 *
 * <p>The first block written after {@link #open} has sequence {@code lastValidSeq + 1 + N} (a
 * whole ring beyond the next one; {@code lastValidSeq = tailSeq - 1} if the scan found nothing),
 * at the position right after the last valid block. A previous session can only have written
 * (possibly unflushed, possibly surviving) blocks with sequences below {@code tailSeq + N}, so
 * every block written from now on has a sequence above every block left on the medium by an
 * earlier session, and a stale survivor after the new end of the log is always rejected.
 *
 * <h2>Torn tail or corruption</h2>
 * Given the ordering below, a power cut can only damage the blocks written after the log's last
 * completed flush: the full blocks written by appends since the last {@link #sync()} (records
 * never acknowledged as durable), the partial block being written by a {@code sync()} that had
 * not returned, and a rewrite of the block that was newest at the last flush (its earlier,
 * durable version then remains, and the chain breaks at the block after it). That set of blocks
 * is the <b>torn tail</b>; losing it loses only records no {@code sync()} acknowledged. So when
 * the scan stops at ring index {@code i} (counted from the tail), it reads the remaining blocks
 * {@code i+1 .. N-1} for a <b>witness</b>: a block that verifies as a record, carries this log's
 * {@code logId}, has {@code seq ≡ position (mod N)} and {@code seq >} the last accepted seq (so it
 * was written by the session that wrote the chain up to {@code i}, or a later one, never by an
 * earlier lap), and whose {@code flushMark} {@code m} (1..N) proves that block {@code i} was
 * durable before the witness was written: {@code i <= j - m + 1}, with {@code j} the witness's
 * ring index. A witness means the block at {@code i} was durable and is now damaged: the open
 * fails with {@link CoreError#LOG_CORRUPTED} naming the ring position, the region block, the
 * last accepted seq, the damage and the witness, instead of silently dropping the records after
 * it. Without a witness, the blocks from {@code i} on are a torn tail and are ignored.
 *
 * <p>Because {@code sync()} flushes the full blocks of its group commit before it writes the
 * group's last (partial) block, that last block witnesses every block before it: damage to any
 * block that a completed {@code sync()} made durable is reported as soon as a later block of the
 * log survives. What remains indistinguishable from a torn tail, and is recovered as one, is
 * damage to a block that no surviving later block of the log vouches for: the newest block of
 * the log, and blocks of a group commit whose {@code sync()} had not returned. Logs written
 * before {@code flushMark} existed carry 0 and are scanned as before (no witnesses).
 *
 * <h2>Space reclaim</h2>
 * The log never fills with finished work. Blocks are counted by ring position from the persisted
 * tail (sequence numbers jump by N at each open, positions do not). Before a new block is
 * started at a position that would reach the tail, the log writes the previous block, flushes the
 * device, and persists a new header (other slot, generation + 1, {@code fua}) whose tail is the
 * block holding the BEGIN of the oldest unfinished transaction, or the new block if there is none.
 *
 * <p>So that an unfinished transaction can always be committed or aborted, BEGIN and STEP
 * records are refused with {@link CoreError#LOG_FULL} (naming the oldest transaction, which pins
 * the tail) unless, after them, room for one COMMIT/ABORT per unfinished transaction remains in
 * the current block and the free blocks, keeping one spare block (the part of the last block
 * lost at a reopen). COMMIT and ABORT are never refused for lack of space. Nothing durable is
 * changed by a refused append. <b>Long-running work checkpoints</b>: rather than appending steps
 * to one transaction for ever, commit it and begin a fresh transaction that carries the checkpoint
 * in its BEGIN payload; a transaction that pins the ring makes every other BEGIN/STEP fail.
 *
 * <h2>Ordering:</h2>
 * <ol>
 *   <li>An appended record is durable once {@link #sync()} has returned after it; {@code sync()}
 *       writes the current partial block and flushes the device (group commit: many appends,
 *       one write and one flush). A block rewritten by several syncs only gains records, and a
 *       block write is atomic, so a rewrite never loses what an earlier sync made durable.</li>
 *   <li>When the group commit filled blocks (full blocks written since the last flush),
 *       {@code sync()} first flushes them and only then writes the partial block with
 *       {@code flushMark = 2}: so the group's last block proves that every earlier block of the
 *       log was durable (an extra flush per group commit that crosses a block boundary, none for a
       group that fits its block; jbd2 orders its journal blocks before the commit block the same
       way, for the same reason).</li>
 *   <li>A caller must {@code sync()} after BEGIN/STEP and before changing the data the
 *       transaction protects (write-ahead), and must make its data changes durable (flush or fua
 *       of its own device) before appending COMMIT. Until a COMMIT is synced, recovery may list
 *       the transaction as unfinished; redo/undo must therefore be idempotent.</li>
 *   <li>The records recovered are a prefix of the records appended: if a record survives, every
 *       record appended before it survives too.</li>
 *   <li>A new header is persisted only after every block before the new tail's successor is
 *       flushed (so no COMMIT that allowed the advance can be lost), and a block is written over a
 *       position only after the header that frees that position is durable ({@code fua}).</li>
 *   <li>Transaction ids are monotonic across reopen for every id that was durable; an id whose
 *       BEGIN was never synced may be reused after a power cut.</li>
 * </ol>
 *
 * <p>Appends never do I/O except when a block fills (write of the full block, and every N blocks a
 * flush and a header write). The hot path allocates nothing beyond copying the payload into the
 * block buffer. Thread-safe: every method is synchronized, except that {@link #sync()} runs its
 * device flushes outside the monitor (appends, even block writes, go on meanwhile; a block written
 * during a flush computes its flushMark from the flush before, which stays true). {@link #close()} syncs pending records
 * and does not close the device. After an I/O error the log should be reopened.
 */
public final class ExecutionLog implements AutoCloseable {

    /** Record types. */
    static final int BEGIN = 1;
    static final int STEP = 2;
    static final int COMMIT = 3;
    static final int ABORT = 4;

    static final int HEADER_MAGIC = ChecksummedRecord.magic("SCLH");
    static final int BLOCK_MAGIC = ChecksummedRecord.magic("SCLB");
    static final int FORMAT_VERSION = 1;

    /** Blocks of the region before the data ring: the two header slots. */
    public static final int HEADER_SLOTS = 2;

    static final int H_GENERATION = 16;
    static final int H_LOG_ID = 24;
    static final int H_TAIL_SEQ = 32;
    static final int H_NEXT_TX_ID = 40;
    static final int H_BLOCK_SIZE = 48;
    static final int H_DATA_BLOCKS = 52;
    static final int HEADER_LENGTH = 56;

    static final int B_LOG_ID = 16;
    static final int B_SEQ = 24;
    static final int B_PREV_CRC = 32;
    static final int B_RECORD_COUNT = 36;
    static final int B_FLUSH_MARK = 38;
    static final int B_RECORDS = 40;
    /** Largest flushMark value; a larger distance is stored as 0 (not recorded). */
    private static final int MAX_FLUSH_MARK = 0xFFFF;

    static final int R_TYPE = 0;
    static final int R_CODE = 2;
    static final int R_PAYLOAD_LENGTH = 4;
    static final int R_TX_ID = 8;
    /** Bytes of a record header; also the size of a COMMIT or ABORT record. */
    public static final int RECORD_HEADER_BYTES = 16;

    private static final int MAX_RECORDS_PER_BLOCK = 0xFFFF;
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0).asReadOnlyBuffer();

    private final BlockDevice device;
    private final Extent region;
    private final String name;
    private final int blockSize;
    private final int dataBlocks;
    private final long logId;
    private final long tailPosition;
    private final IoMeter meter;

    private final ByteBuffer block;
    private final ByteBuffer headerBlock;
    private final long[] seqAtPosition;

    private long generation;
    private long persistedTailSeq;
    private long persistedTailOrdinal;

    /** seq = ordinal + seqOffset for every block written by this session. */
    private long seqOffset;
    private long nextOrdinal;
    private boolean blockStarted;
    private long blockOrdinal;
    private long blockSeq;
    private int blockUsedBytes;
    private int blockRecordCount;
    private boolean blockDirty;
    private int blockCrc;
    private int prevCrc;
    private boolean unflushed;
    /** Ordinal of the newest block written when the device was last flushed (F of the class doc). */
    private long flushedOrdinal;

    private long nextTxId;
    private final ActiveTransactions active = new ActiveTransactions();
    private final Map<Long, Transaction> recovered = new LinkedHashMap<>();

    private long recordsAppended;
    private long recordBytes;
    private long blocksWritten;
    private long bytesWritten;
    private long syncs;
    private long reclaims;
    private boolean closed;

    private ExecutionLog(BlockDevice device, Extent region, long logId, long tailSeq) {
        this.device = device;
        this.region = region;
        this.name = "execution log " + device.name() + region;
        this.blockSize = device.blockSize();
        this.dataBlocks = (int) (region.blockCount() - HEADER_SLOTS);
        this.logId = logId;
        this.tailPosition = Math.floorMod(tailSeq, (long) dataBlocks);
        this.meter = new IoMeter("log:" + device.name() + region);
        this.block = ByteBuffer.allocate(blockSize).order(ByteOrder.LITTLE_ENDIAN);
        this.headerBlock = ByteBuffer.allocate(blockSize).order(ByteOrder.LITTLE_ENDIAN);
        this.seqAtPosition = new long[dataBlocks];
    }

    // ------------------------------------------------------------------ format and open

    /** Formats {@code region} of {@code device} as an empty log (new random log id) and returns it open. */
    public static ExecutionLog format(BlockDevice device, Extent region) {
        checkRegion(device, region);
        long logId = new SecureRandom().nextLong();
        ExecutionLog log = new ExecutionLog(device, region, logId, 0);
        log.nextTxId = 1;
        log.writeHeader(0, 0, false);
        log.writeHeader(1, 0, false);
        device.flush();
        log.generation = 1;
        log.persistedTailSeq = 0;
        log.persistedTailOrdinal = 0;
        log.seqOffset = 0;
        log.nextOrdinal = 0;
        log.prevCrc = 0;
        log.flushedOrdinal = -1;
        return log;
    }

    /**
     * Opens the log on {@code region}: reads the current header, scans the ring from the tail and
     * recovers the {@link #unfinished()} transactions.
     *
     * @throws CoreException {@link CoreError#CORRUPT_RECORD} if neither header slot is valid;
     *                       {@link CoreError#INVALID_ARGUMENT} if the header describes another geometry;
     *                       {@link CoreError#LOG_CORRUPTED} if a damaged data block is followed by a
     *                       block written after it was durable (see <i>Torn tail or corruption</i>)
     */
    public static ExecutionLog open(BlockDevice device, Extent region) {
        checkRegion(device, region);
        int blockSize = device.blockSize();
        ByteBuffer slots = ByteBuffer.allocate(HEADER_SLOTS * blockSize).order(ByteOrder.LITTLE_ENDIAN);
        device.read(region.lba(), HEADER_SLOTS, slots, 0);
        int best = -1;
        long bestGeneration = Long.MIN_VALUE;
        StringBuilder problems = new StringBuilder();
        for (int slot = 0; slot < HEADER_SLOTS; slot++) {
            int offset = slot * blockSize;
            try {
                ChecksummedRecord.verify(slots, offset, HEADER_MAGIC, FORMAT_VERSION, FORMAT_VERSION, blockSize,
                        "execution log header slot " + slot + " of " + device.name() + region);
                long generation = slots.getLong(offset + H_GENERATION);
                if (generation >= 0 && Math.floorMod(generation, 2) == slot && generation > bestGeneration) {
                    best = slot;
                    bestGeneration = generation;
                } else if (generation < 0 || Math.floorMod(generation, 2) != slot) {
                    problems.append("; slot ").append(slot).append(": generation ").append(generation)
                            .append(" does not belong in this slot");
                }
            } catch (CoreException e) {
                problems.append("; ").append(e.getMessage());
            }
        }
        if (best < 0) {
            throw new CoreException(CoreError.CORRUPT_RECORD,
                    "no valid execution log header on " + device.name() + region + problems);
        }
        int offset = best * blockSize;
        long headerBlockSize = Integer.toUnsignedLong(slots.getInt(offset + H_BLOCK_SIZE));
        long headerDataBlocks = Integer.toUnsignedLong(slots.getInt(offset + H_DATA_BLOCKS));
        if (headerBlockSize != blockSize || headerDataBlocks != region.blockCount() - HEADER_SLOTS) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, "execution log on " + device.name() + region
                    + " was formatted for " + headerDataBlocks + " data blocks of " + headerBlockSize
                    + " bytes, the region has " + (region.blockCount() - HEADER_SLOTS) + " of " + blockSize);
        }
        long tailSeq = slots.getLong(offset + H_TAIL_SEQ);
        ExecutionLog log = new ExecutionLog(device, region, slots.getLong(offset + H_LOG_ID), tailSeq);
        log.meter.issuedRead(IoCause.JOURNAL, HEADER_SLOTS * (long) blockSize);
        log.generation = bestGeneration;
        log.persistedTailSeq = tailSeq;
        log.persistedTailOrdinal = 0;
        log.recover(slots.getLong(offset + H_NEXT_TX_ID));
        return log;
    }

    private static void checkRegion(BlockDevice device, Extent region) {
        if (device == null || region == null) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, "device and region are required");
        }
        device.geometry().checkRange(region.lba(), region.blockCount());
        if (region.blockCount() < HEADER_SLOTS + 2 || region.blockCount() - HEADER_SLOTS > Integer.MAX_VALUE) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, "execution log region " + region + " on "
                    + device.name() + " must have 2 header blocks and 2.." + Integer.MAX_VALUE + " data blocks");
        }
    }

    /** Scans the ring from the tail and rebuilds the unfinished transactions. */
    private void recover(long headerNextTxId) {
        Map<Long, RecoveringTx> open = new LinkedHashMap<>();
        long maxTxId = 0;
        long lastSeq = persistedTailSeq - 1;
        int lastCrc = 0;
        long[] lastBeginId = {Long.MIN_VALUE};
        int valid = 0;
        for (; valid < dataBlocks; valid++) {
            int position = positionOf(valid);
            block.clear();
            device.read(dataLba(position), 1, block, 0);
            meter.issuedRead(IoCause.JOURNAL, blockSize);
            String damage = nextBlockDamage(position, valid == 0, lastSeq, lastCrc, lastBeginId);
            if (damage != null) {
                checkTornTail(valid, position, damage, lastSeq);
                break;
            }
            lastSeq = block.getLong(B_SEQ);
            lastCrc = block.getInt(ChecksummedRecord.CRC_OFFSET);
            seqAtPosition[position] = lastSeq;
            maxTxId = Math.max(maxTxId, applyRecords(open, valid));
        }
        nextOrdinal = valid;
        seqOffset = lastSeq + 1 + dataBlocks - valid;
        prevCrc = valid > 0 ? lastCrc : 0;
        flushedOrdinal = valid - 1; // what the scan accepted was read from the medium: durable
        nextTxId = Math.max(Math.max(headerNextTxId, maxTxId + 1), 1);
        for (RecoveringTx tx : open.values()) {
            active.add(tx.txId, tx.beginOrdinal);
            recovered.put(tx.txId, new Transaction(tx.txId, tx.opType, ByteBuffer.wrap(tx.payload), tx.steps));
        }
    }

    /**
     * Why {@link #block}, read at data {@code position}, does not continue the chain (see class
     * javadoc), or null if it does.
     */
    private String nextBlockDamage(int position, boolean first, long lastSeq, int lastCrc, long[] lastBeginId) {
        try {
            ChecksummedRecord.Header header = ChecksummedRecord.verify(block, 0, BLOCK_MAGIC, FORMAT_VERSION,
                    FORMAT_VERSION, blockSize, name + " data block " + position);
            if (header.length() < B_RECORDS) {
                return "record length " + header.length() + " is below the block header's " + B_RECORDS + " bytes";
            }
        } catch (CoreException e) {
            return e.getMessage();
        }
        long seq = block.getLong(B_SEQ);
        if (block.getLong(B_LOG_ID) != logId) {
            return "log id " + Long.toHexString(block.getLong(B_LOG_ID)) + " is not this log's " + Long.toHexString(logId);
        }
        if (seq < 0 || Math.floorMod(seq, (long) dataBlocks) != position) {
            return "seq " + seq + " does not belong at position " + position;
        }
        if (seq <= lastSeq) {
            return "seq " + seq + " is not above the previous block's " + lastSeq + " (an earlier lap)";
        }
        if (!first && block.getInt(B_PREV_CRC) != lastCrc) {
            return "prevCrc " + Integer.toHexString(block.getInt(B_PREV_CRC)) + " is not the previous block's crc "
                    + Integer.toHexString(lastCrc);
        }
        return recordsParse(lastBeginId) ? null : "its records do not parse";
    }

    /**
     * The scan stopped at ring index {@code damagedIndex} (data {@code position}): fails with
     * {@link CoreError#LOG_CORRUPTED} if a later block of this log witnesses that the block was
     * durable (class javadoc, <i>Torn tail or corruption</i>); returns if it is a torn tail.
     * Reads the rest of the ring into {@link #block}.
     */
    private void checkTornTail(int damagedIndex, int position, String damage, long lastSeq) {
        for (int j = damagedIndex + 1; j < dataBlocks; j++) {
            int witnessPosition = positionOf(j);
            block.clear();
            device.read(dataLba(witnessPosition), 1, block, 0);
            meter.issuedRead(IoCause.JOURNAL, blockSize);
            try {
                ChecksummedRecord.verify(block, 0, BLOCK_MAGIC, FORMAT_VERSION, FORMAT_VERSION, blockSize, name);
            } catch (CoreException notABlock) {
                continue;
            }
            long seq = block.getLong(B_SEQ);
            int mark = LittleEndian.getU16(block, B_FLUSH_MARK);
            if (block.getLong(B_LOG_ID) != logId || seq <= lastSeq || Math.floorMod(seq, (long) dataBlocks) != witnessPosition
                    || mark < 1 || mark > dataBlocks) {
                continue;
            }
            if (damagedIndex <= j - mark + 1) {
                throw new CoreException(CoreError.LOG_CORRUPTED, name + ": data block at ring position " + position
                        + " (region block " + (HEADER_SLOTS + position) + ", device lba " + dataLba(position)
                        + ", index " + damagedIndex + " from the tail at seq " + persistedTailSeq + ") is damaged: "
                        + damage + "; it is not a torn tail: the block at position " + witnessPosition + " (seq " + seq
                        + ", flushMark " + mark + ") was written after it was durable, so the records after seq "
                        + lastSeq + " would be lost");
            }
        }
    }

    /**
     * Structural check of the records of the verified block in {@link #block}; BEGIN ids must grow
     * along the chain ({@code lastBeginId[0]} carries the last one and is updated only if the block is valid).
     */
    private boolean recordsParse(long[] lastBeginId) {
        int length = block.getInt(ChecksummedRecord.LENGTH_OFFSET);
        int count = LittleEndian.getU16(block, B_RECORD_COUNT);
        int offset = B_RECORDS;
        long lastBegin = lastBeginId[0];
        for (int i = 0; i < count; i++) {
            if (offset > length - RECORD_HEADER_BYTES) {
                return false;
            }
            int type = LittleEndian.getU8(block, offset + R_TYPE);
            long payloadLength = LittleEndian.getU32(block, offset + R_PAYLOAD_LENGTH);
            if (type < BEGIN || type > ABORT || payloadLength > length - offset - RECORD_HEADER_BYTES) {
                return false;
            }
            if (type == BEGIN) {
                long txId = block.getLong(offset + R_TX_ID);
                if (txId <= lastBegin) {
                    return false;
                }
                lastBegin = txId;
            }
            offset += RECORD_HEADER_BYTES + (int) payloadLength;
        }
        if (offset != length) {
            return false;
        }
        lastBeginId[0] = lastBegin;
        return true;
    }

    /** Applies the records of the valid block in {@link #block}; returns the largest txId seen. */
    private long applyRecords(Map<Long, RecoveringTx> open, long ordinal) {
        int count = LittleEndian.getU16(block, B_RECORD_COUNT);
        int offset = B_RECORDS;
        long maxTxId = 0;
        for (int i = 0; i < count; i++) {
            int type = LittleEndian.getU8(block, offset + R_TYPE);
            int code = LittleEndian.getU16(block, offset + R_CODE);
            int payloadLength = block.getInt(offset + R_PAYLOAD_LENGTH);
            long txId = block.getLong(offset + R_TX_ID);
            byte[] payload = new byte[payloadLength];
            block.get(offset + RECORD_HEADER_BYTES, payload);
            maxTxId = Math.max(maxTxId, txId);
            switch (type) {
                case BEGIN -> {
                    open.put(txId, new RecoveringTx(txId, code, payload, ordinal));
                }
                case STEP -> {
                    RecoveringTx tx = open.get(txId);
                    if (tx != null) {
                        tx.steps.add(new Transaction.Step(code, ByteBuffer.wrap(payload)));
                    }
                }
                default -> open.remove(txId);
            }
            offset += RECORD_HEADER_BYTES + payloadLength;
        }
        return maxTxId;
    }

    private static final class RecoveringTx {
        final long txId;
        final int opType;
        final byte[] payload;
        final long beginOrdinal;
        final List<Transaction.Step> steps = new ArrayList<>();

        RecoveringTx(long txId, int opType, byte[] payload, long beginOrdinal) {
            this.txId = txId;
            this.opType = opType;
            this.payload = payload;
            this.beginOrdinal = beginOrdinal;
        }
    }

    // ------------------------------------------------------------------ appends

    /**
     * Appends a BEGIN record and returns the new transaction's id, above every id this log has
     * handed out or recovered.
     *
     * @param opType the caller's operation type, 0..65535
     * @param payload bytes from its position to its limit (not consumed); may be null for none
     * @throws CoreException {@link CoreError#LOG_FULL} if the oldest unfinished transaction pins the ring,
     *                       {@link CoreError#INVALID_ARGUMENT} if the payload exceeds {@link #maxPayloadBytes()}
     */
    public synchronized long begin(int opType, ByteBuffer payload) {
        checkOpen();
        checkU16("opType", opType);
        long txId = nextTxId;
        append(BEGIN, opType, txId, payload);
        active.add(txId, blockOrdinal);
        nextTxId++;
        return txId;
    }

    /** Appends a STEP record to the unfinished transaction {@code txId}. */
    public synchronized void step(long txId, int stepIndex, ByteBuffer payload) {
        checkOpen();
        checkActive(txId, "step");
        checkU16("stepIndex", stepIndex);
        append(STEP, stepIndex, txId, payload);
    }

    /** Appends a COMMIT record: the transaction is finished (durable after {@link #sync()}). */
    public synchronized void commit(long txId) {
        finish(COMMIT, txId, "commit");
    }

    /** Appends an ABORT record: the transaction is finished (durable after {@link #sync()}). */
    public synchronized void abort(long txId) {
        finish(ABORT, txId, "abort");
    }

    private void finish(int type, long txId, String what) {
        checkOpen();
        checkActive(txId, what);
        append(type, 0, txId, EMPTY);
        active.finish(txId);
        if (!recovered.isEmpty()) {
            recovered.remove(txId);
        }
    }

    /**
     * Makes every record appended before this call durable: writes the current partial block and
     * flushes the device. The flushes run outside the log's monitor, so other threads append
     * (and fill blocks) while one syncs: the next sync's group grows meanwhile instead of queueing
     * behind this one's flush (see Ordering 1).
     */
    public void sync() {
        long fullBlocksEnd;
        synchronized (this) {
            checkOpen();
            // full blocks of this group commit are unflushed: make them durable before the last
            // block, whose flushMark then witnesses them (Ordering 2)
            fullBlocksEnd = blockStarted && blockDirty && blockOrdinal - flushedOrdinal >= 2 ? blockOrdinal - 1 : -2;
        }
        if (fullBlocksEnd != -2) {
            device.flush();
            synchronized (this) {
                flushedOrdinal = Math.max(flushedOrdinal, fullBlocksEnd);
            }
        }
        long written;
        long appendedBefore;
        synchronized (this) {
            checkOpen();
            if (blockStarted && blockDirty) {
                writeBlock();
            }
            written = blockStarted ? blockOrdinal : nextOrdinal - 1;
            appendedBefore = recordsAppended;
        }
        device.flush();
        synchronized (this) {
            // every block up to the one just written is durable, that one in some version
            flushedOrdinal = Math.max(flushedOrdinal, written);
            if (recordsAppended == appendedBefore && !blockDirty) {
                unflushed = false;
            }
            syncs++;
        }
    }

    private void append(int type, int code, long txId, ByteBuffer payload) {
        ByteBuffer data = payload == null ? EMPTY : payload;
        int payloadLength = data.remaining();
        if (payloadLength > maxPayloadBytes()) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, name + ": payload of " + payloadLength
                    + " bytes exceeds the maximum of " + maxPayloadBytes() + " bytes per record (block size "
                    + blockSize + ")");
        }
        int size = RECORD_HEADER_BYTES + payloadLength;
        boolean fits = blockStarted && blockUsedBytes + size <= blockSize && blockRecordCount < MAX_RECORDS_PER_BLOCK;
        if (type == BEGIN || type == STEP) {
            checkReserve(type, size, fits);
        }
        if (!fits) {
            startBlock();
        }
        int offset = blockUsedBytes;
        block.put(offset + R_TYPE, (byte) type);
        block.put(offset + 1, (byte) 0);
        block.putShort(offset + R_CODE, (short) code);
        block.putInt(offset + R_PAYLOAD_LENGTH, payloadLength);
        block.putLong(offset + R_TX_ID, txId);
        block.put(offset + RECORD_HEADER_BYTES, data, data.position(), payloadLength);
        blockUsedBytes += size;
        blockRecordCount++;
        blockDirty = true;
        unflushed = true;
        recordsAppended++;
        recordBytes += size;
        meter.receivedWrite(size);
    }

    /**
     * Refuses a BEGIN or STEP unless, after it, one COMMIT/ABORT per unfinished transaction still
     * fits in the rest of the current block plus the free blocks minus one spare.
     */
    private void checkReserve(int type, int size, boolean fits) {
        if (active.isEmpty()) {
            return;
        }
        long lastOrdinal = blockStarted ? blockOrdinal : nextOrdinal - 1;
        long freeBlocks = dataBlocks - 1L - (lastOrdinal - active.oldestBeginOrdinal());
        long remainingBytes;
        long freeBlocksAfter;
        if (fits) {
            remainingBytes = blockSize - blockUsedBytes - size;
            freeBlocksAfter = freeBlocks;
        } else {
            remainingBytes = blockSize - B_RECORDS - size;
            freeBlocksAfter = freeBlocks - 1;
        }
        long finishSlots = remainingBytes / RECORD_HEADER_BYTES + (freeBlocksAfter - 1) * finishSlotsPerBlock();
        long needed = active.size() + (type == BEGIN ? 1 : 0);
        if (freeBlocksAfter < 1 || finishSlots < needed) {
            throw logFull();
        }
    }

    private long finishSlotsPerBlock() {
        return Math.min((blockSize - B_RECORDS) / RECORD_HEADER_BYTES, MAX_RECORDS_PER_BLOCK);
    }

    private CoreException logFull() {
        long pinning = active.oldestTxId();
        long pinnedSeq = seqOfOrdinal(active.oldestBeginOrdinal());
        return new CoreException(CoreError.LOG_FULL, name + " is full: unfinished transaction " + pinning
                + " (BEGIN in block seq " + pinnedSeq + ") pins the tail of the " + dataBlocks + "-block ring with "
                + active.size() + " unfinished transaction(s); commit or abort it (long-running work should "
                + "checkpoint: commit and begin a fresh transaction)");
    }

    /** Writes the full current block (if needed), reclaims space if needed, and starts the next block. */
    private void startBlock() {
        if (blockStarted && blockDirty) {
            writeBlock();
        }
        long ordinal = blockStarted ? blockOrdinal + 1 : nextOrdinal;
        if (ordinal - persistedTailOrdinal >= dataBlocks) {
            reclaim(ordinal);
        }
        if (blockStarted) {
            prevCrc = blockCrc;
        }
        blockStarted = true;
        blockOrdinal = ordinal;
        blockSeq = ordinal + seqOffset;
        nextOrdinal = ordinal + 1;
        blockUsedBytes = B_RECORDS;
        blockRecordCount = 0;
        blockDirty = false;
        Arrays.fill(block.array(), (byte) 0);
        seqAtPosition[positionOf(ordinal)] = blockSeq;
    }

    /** Moves the persisted tail so that the block of {@code ordinal} can be written. */
    private void reclaim(long ordinal) {
        device.flush();
        markFlushed();
        unflushed = false;
        long tailOrdinal = active.isEmpty() ? ordinal : active.oldestBeginOrdinal();
        if (ordinal - tailOrdinal >= dataBlocks) {
            throw logFull();
        }
        long tailSeq = tailOrdinal == ordinal ? ordinal + seqOffset : seqOfOrdinal(tailOrdinal);
        writeHeader(generation + 1, tailSeq, true);
        generation++;
        persistedTailSeq = tailSeq;
        persistedTailOrdinal = tailOrdinal;
        reclaims++;
    }

    /** Records that every block written so far is durable (the newest one in its current version). */
    private void markFlushed() {
        flushedOrdinal = blockStarted ? blockOrdinal : nextOrdinal - 1;
    }

    private void writeBlock() {
        long mark = blockOrdinal - flushedOrdinal + 1;
        block.putLong(B_LOG_ID, logId);
        block.putLong(B_SEQ, blockSeq);
        block.putInt(B_PREV_CRC, prevCrc);
        block.putShort(B_RECORD_COUNT, (short) blockRecordCount);
        block.putShort(B_FLUSH_MARK, (short) (mark >= 1 && mark <= Math.min(MAX_FLUSH_MARK, dataBlocks) ? mark : 0));
        blockCrc = ChecksummedRecord.seal(block, 0, BLOCK_MAGIC, FORMAT_VERSION, 0, blockUsedBytes);
        device.write(dataLba(positionOf(blockOrdinal)), 1, block, 0, false);
        meter.issuedWrite(IoCause.JOURNAL, blockSize);
        blocksWritten++;
        bytesWritten += blockSize;
        blockDirty = false;
    }

    private void writeHeader(long newGeneration, long tailSeq, boolean fua) {
        Arrays.fill(headerBlock.array(), (byte) 0);
        headerBlock.putLong(H_GENERATION, newGeneration);
        headerBlock.putLong(H_LOG_ID, logId);
        headerBlock.putLong(H_TAIL_SEQ, tailSeq);
        headerBlock.putLong(H_NEXT_TX_ID, nextTxId);
        headerBlock.putInt(H_BLOCK_SIZE, blockSize);
        headerBlock.putInt(H_DATA_BLOCKS, dataBlocks);
        ChecksummedRecord.seal(headerBlock, 0, HEADER_MAGIC, FORMAT_VERSION, 0, HEADER_LENGTH);
        device.write(region.lba() + Math.floorMod(newGeneration, 2), 1, headerBlock, 0, fua);
        meter.issuedWrite(IoCause.JOURNAL, blockSize);
        bytesWritten += blockSize;
    }

    private int positionOf(long ordinal) {
        return (int) Math.floorMod(tailPosition + ordinal, (long) dataBlocks);
    }

    private long seqOfOrdinal(long ordinal) {
        return ordinal >= nextOrdinal ? ordinal + seqOffset : seqAtPosition[positionOf(ordinal)];
    }

    private long dataLba(int position) {
        return region.lba() + HEADER_SLOTS + position;
    }

    private void checkActive(long txId, String what) {
        if (!active.contains(txId)) {
            throw new CoreException(CoreError.UNKNOWN_TRANSACTION, name + ": cannot " + what + " transaction " + txId
                    + ": it is unknown or already finished");
        }
    }

    private static void checkU16(String what, int value) {
        if (value < 0 || value > 0xFFFF) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, what + " " + value + " must be in 0..65535");
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new CoreException(CoreError.CLOSED, name + " is closed");
        }
    }

    // ------------------------------------------------------------------ queries

    /**
     * The transactions recovered by {@link #open} that are still unfinished (not committed or
     * aborted since), in begin order. Transactions begun in this session are not listed. Empty
     * after {@link #format}.
     */
    public synchronized List<Transaction> unfinished() {
        return List.copyOf(recovered.values());
    }

    /** The largest payload one record can carry: block size - 40 (block header) - 16 (record header). */
    public int maxPayloadBytes() {
        return blockSize - B_RECORDS - RECORD_HEADER_BYTES;
    }

    /**
     * The largest payload a record appended now fits into the current block without starting a new
     * one (records are never split across blocks): 0 when no block is started or fewer than
     * {@value #RECORD_HEADER_BYTES} + 1 bytes are left. A caller that splits a large payload over
     * several STEPs can cut its first piece to this size, so its pieces fill blocks instead of
     * leaving the rest of one unused and ending in a partial block. Reading it changes nothing.
     */
    public synchronized int payloadRoomInBlock() {
        if (!blockStarted || blockRecordCount >= MAX_RECORDS_PER_BLOCK) {
            return 0;
        }
        return Math.max(0, blockSize - blockUsedBytes - RECORD_HEADER_BYTES);
    }

    /** Counters since format or open. */
    public synchronized LogStats stats() {
        return new LogStats(recordsAppended, recordBytes, blocksWritten, bytesWritten, syncs, reclaims);
    }

    /**
     * The log's own meter: bytes of records appended (received), and the data blocks and headers it
     * read from and wrote to the device, all as {@link IoCause#JOURNAL}.
     */
    public IoMeter meter() {
        return meter;
    }

    /** Random id chosen at format time, stored in the header and in every block. */
    public long logId() {
        return logId;
    }

    public Extent region() {
        return region;
    }

    public BlockDevice device() {
        return device;
    }

    /** N: the data blocks of the ring. */
    public int dataBlockCount() {
        return dataBlocks;
    }

    /** The transactions begun (this session or recovered) and not yet committed or aborted. */
    public synchronized int activeCount() {
        return active.size();
    }

    /** Syncs pending records (if any) and closes the log; does not close the device. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        try {
            if (blockDirty || unflushed) {
                sync();
            }
        } finally {
            closed = true;
        }
    }

    @Override
    public String toString() {
        return "ExecutionLog[" + device.name() + region + ", " + dataBlocks + " x " + blockSize + " B, logId="
                + Long.toHexString(logId) + "]";
    }
}
