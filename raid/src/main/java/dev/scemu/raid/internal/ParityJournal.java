package dev.scemu.raid.internal;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.CoreException;
import dev.scemu.core.ExecutionLog;
import dev.scemu.core.Extent;
import dev.scemu.core.IoCause;
import dev.scemu.core.Transaction;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Closes the RAID-5 write hole of a degraded array with a partial-parity log (the idea of md's PPL)
 * kept in controller-core's {@link ExecutionLog}, on the tail of every member after
 * data_offset + data_size ({@link MirroredRegion}): md never writes there (its superblock, bitmap,
 * bad-block log and PPL all lie before data_offset, its data before data_offset + data_size), and
 * data_size is the superblock field that reserves the tail.
 *
 * <p>For a write to a stripe segment while some member of the stripe is not readable, the log gets
 * {@code L = new parity XOR new data of the written members that are present}: the parity the
 * stripe must have given whatever the present written members hold. After a crash, for each
 * unfinished transaction, parity is rewritten as {@code L XOR (data of those members as found on
 * disk)}: each data block is old or new (block writes are atomic), and parity then matches it, so
 * the missing member's blocks, never written, reconstruct correctly.
 *
 * <h2>Ordering</h2>
 * <ol>
 *   <li>BEGIN (row, segment, written-member mask) and STEP records carrying L are appended and the
 *       log is synced (written and flushed on every member) before any data or parity of the
 *       segment is written.</li>
 *   <li>Data and parity are written, then every member is flushed, then COMMIT is appended (made
 *       durable by the next sync: recovery is idempotent while the stripe is not written again
 *       without the journal).</li>
 *   <li>The log is synced when the array leaves degraded mode, at stop, and at every rebuild
 *       checkpoint before its recovery_offset is recorded (rows below it are then written without
 *       the journal), so no stale unfinished transaction can be replayed over stripes written
 *       later without the journal.</li>
 *   <li>Row lock (a degraded write holds the whole row; a write already holding its columns when
 *       a member failed, only those: see {@link Raid5Engine} Locking 4), then journal lock, then
 *       metadata lock: never in another order.</li>
 * </ol>
 */
final class ParityJournal {

    private static final Logger LOG = LoggerFactory.getLogger(ParityJournal.class);
    static final int OP_STRIPE_SEGMENT = 1;
    /** Smallest journal region worth having: two header slots and eight ring blocks. */
    static final int MIN_BLOCKS = ExecutionLog.HEADER_SLOTS + 8;
    /** A first piece of L shorter than this does not pay its 16-byte record header: start a new block. */
    static final int MIN_FIRST_PIECE_BYTES = 64;

    private final MdRaidArray array;
    private final MirroredRegion region;
    private final ExecutionLog log;
    private final int maxSegmentBlocks;
    private final ReentrantLock lock = new ReentrantLock();
    private final ByteBuffer header = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN);

    private ParityJournal(MdRaidArray array, MirroredRegion region, ExecutionLog log) {
        this.array = array;
        this.region = region;
        this.log = log;
        long ringBlocks = region.blockCount() - ExecutionLog.HEADER_SLOTS;
        // one transaction at a time; keep half the ring free for the reopen spare and finishes
        long payloadBlocks = Math.max(1, ringBlocks / 2 - 2);
        long bytes = payloadBlocks * (log.maxPayloadBytes() / 2);
        this.maxSegmentBlocks = (int) Math.max(1, Math.min(array.chunkBlocks, bytes / array.blockSize));
    }

    /**
     * Sectors {@link MdArrayStartup#create} reserves for the journal at the end of each member
     * (after data_offset + data_size): 1 MiB on members of 64 MiB or more, else 128 KiB; 0 when
     * that would leave less than one chunk of data.
     */
    static long tailSectors(long capacityBytes, long dataOffsetSectors, long chunkSectors, int blockSize) {
        long sectors = capacityBytes >= (64L << 20) ? 2048 : 256;
        sectors = Math.max(sectors, (long) MIN_BLOCKS * blockSize / 512);
        long left = capacityBytes / 512 - dataOffsetSectors - sectors;
        return left >= chunkSectors ? sectors : 0;
    }

    /**
     * Blocks after data_offset + data_size on every present member (md never writes past
     * data_offset + data_size, so that tail is free for scemu's journal).
     */
    static long tailBlocks(MdSuperblock ref, BlockDevice[] members) {
        long end = Long.MAX_VALUE;
        int blockSize = 0;
        for (BlockDevice d : members) {
            if (d != null) {
                end = Math.min(end, d.blockCount());
                blockSize = d.blockSize();
            }
        }
        if (blockSize == 0) {
            return 0;
        }
        long start = (ref.dataOffsetSectors + ref.dataSizeSectors) * 512 / blockSize;
        return Math.max(0, end - start);
    }

    /**
     * The journal region of an array: the tail after data_offset + data_size common to the
     * present members; null when shorter than {@link #MIN_BLOCKS} (members mdadm made have none).
     */
    static MirroredRegion regionOf(MdRaidArray array) {
        long start = (array.dataOffsetSectors + array.dataSizeSectors) * 512 / array.blockSize;
        long end = Long.MAX_VALUE;
        for (Slot slot : array.slots) {
            if (slot.device != null) {
                end = Math.min(end, slot.device.blockCount());
            }
        }
        long blocks = end == Long.MAX_VALUE ? 0 : end - start;
        return blocks >= MIN_BLOCKS ? new MirroredRegion(array, start, blocks) : null;
    }

    /**
     * Describes a journal of the old format (scemu before the journal moved to the member tail:
     * between the bitmap and data_offset, where md's bad-block log goes), or null when none is
     * found. Such a journal is no longer read; the message says what to do.
     */
    static String oldFormatJournal(MdSuperblock ref, BlockDevice[] members, int blockSize) {
        int magic = dev.scemu.core.ChecksummedRecord.magic("SCLH");
        for (BlockDevice d : members) {
            if (d == null) {
                continue;
            }
            for (long lba = (MdMetadata.BITMAP_START_BYTES + blockSize - 1) / blockSize;
                    lba * blockSize < ref.dataOffsetSectors * 512; lba++) {
                try {
                    byte[] head = MetadataIo.read(d, lba * blockSize, 4);
                    int found = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
                    if (found == magic) {
                        return "member " + d.name() + " has a parity journal of the old layout at byte "
                                + lba * blockSize + " (before data_offset, where md keeps its bad-block log),"
                                + " which this version no longer replays: assemble it with the scemu that wrote it"
                                + " and stop it cleanly";
                    }
                } catch (CoreException e) {
                    MdRaidArray.rethrowIfFatal(e);
                    return null;
                }
            }
        }
        return null;
    }

    static ParityJournal format(MdRaidArray array, MirroredRegion region) {
        return new ParityJournal(array, region, ExecutionLog.format(region, new Extent(0, region.blockCount())));
    }

    /** Opens the journal, or formats a fresh one when the region holds none. */
    static ParityJournal openOrFormat(MdRaidArray array, MirroredRegion region) {
        try {
            return new ParityJournal(array, region, ExecutionLog.open(region, new Extent(0, region.blockCount())));
        } catch (CoreException e) {
            MdRaidArray.rethrowIfFatal(e);
            LOG.warn("array {}: no parity journal found ({}); formatting a new one", array.name(), e.getMessage());
            return format(array, region);
        }
    }

    MirroredRegion region() {
        return region;
    }

    /** Largest segment, in blocks, one transaction may carry. */
    int maxSegmentBlocks() {
        return maxSegmentBlocks;
    }

    /**
     * Logs {@code l} ({@code h} blocks) for member rows {@code [memberLba, +h)} of stripe {@code row}
     * whose present written members are {@code writtenMask}, runs {@code writes}, flushes the
     * members and commits. See Ordering.
     */
    void protectedWrite(long row, long memberLba, int h, int writtenMask, ByteBuffer l, Runnable writes) {
        lock.lock();
        try {
            header.clear();
            header.putLong(0, row).putLong(8, memberLba).putInt(16, h);
            header.limit(20);
            long tx = log.begin(OP_STRIPE_SEGMENT, header);
            header.clear().limit(4);
            header.putInt(0, writtenMask);
            log.step(tx, 0, header);
            appendPieces(tx, l, h * array.blockSize);
            log.sync();
            writes.run();
            region.flush();
            log.commit(tx);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Appends {@code l}'s {@code length} bytes as STEPs 1, 2, ... that fill the log's blocks: the
     * first piece takes what is left of the current block (skipped when that is less than
     * {@value #MIN_FIRST_PIECE_BYTES} bytes), the others a whole block each ({@link ExecutionLog#maxPayloadBytes}),
     * the last what remains. Recovery concatenates the pieces in step order whatever their sizes
     * ({@link #recover}), so journals written with other piece sizes replay the same way.
     *
     * <p>Why: records are never split across blocks. Fixed pieces of half a block (what this class
     * wrote before) never fit two to a block beside the block header, so a 4 KiB transaction filled
     * one block, started a second and ended in a third: three block writes on every present member
     * and an extra flush in {@link ExecutionLog#sync} (the group commit crossed more than one block
     * boundary) per degraded write, and about two ring blocks used per transaction. Packed, a 4 KiB
     * transaction (4,216 bytes of records with the COMMIT of the one before) fills the rest of the
     * current block and ends in the next: two block writes, no extra flush, half the ring.
     */
    private void appendPieces(long tx, ByteBuffer l, int length) {
        int step = 1;
        int offset = 0;
        int room = log.payloadRoomInBlock();
        if (room >= MIN_FIRST_PIECE_BYTES) {
            int first = Math.min(room, length);
            log.step(tx, step++, l.slice(0, first));
            offset = first;
        }
        int piece = log.maxPayloadBytes();
        for (; offset < length; offset += piece) {
            log.step(tx, step++, l.slice(offset, Math.min(piece, length - offset)));
        }
    }

    /** Runs {@code action} holding the journal lock (no journaled write runs meanwhile). */
    void withLock(Runnable action) {
        lock.lock();
        try {
            action.run();
        } finally {
            lock.unlock();
        }
    }

    /** {@link #sync()} for a caller that holds the lock. */
    void syncLocked() {
        log.sync();
    }

    /** Makes every appended record durable (commits included). */
    void sync() {
        lock.lock();
        try {
            log.sync();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Why a journaled stripe segment ({@code begin}: u64 row, u64 member lba, u32 blocks; {@code mask}:
     * u32 written members) cannot describe a segment of this array, or null if it can.
     */
    private String malformed(ByteBuffer begin, ByteBuffer mask) {
        if (begin.remaining() < 20 || mask.remaining() < 4) {
            return "BEGIN payload of " + begin.remaining() + " bytes (20 expected) or mask step of " + mask.remaining()
                    + " bytes (4 expected)";
        }
        long row = begin.getLong(0);
        long memberLba = begin.getLong(8);
        int h = begin.getInt(16);
        int members = mask.getInt(0);
        long chunk = array.chunkBlocks;
        if (row < 0 || memberLba < 0 || h < 1 || h > chunk || memberLba > array.memberDataBlocks - h
                || memberLba / chunk != row || (memberLba + h - 1) / chunk != row
                || (array.raidDisks < 32 && (members & ~((1 << array.raidDisks) - 1)) != 0)) {
            return "stripe " + row + " member lba " + memberLba + " +" + h + " mask 0x" + Integer.toHexString(members)
                    + " is not a segment of one stripe of " + array.memberDataBlocks + " member blocks (chunk " + chunk
                    + " blocks, " + array.raidDisks + " members)";
        }
        return null;
    }

    /**
     * Replays unfinished transactions: parity = L XOR data of the written members as on disk.
     * Returns how many stripes were repaired.
     */
    int recover(Raid5Geometry geometry) {
        int repaired = 0;
        ByteBuffer p = array.pool.acquire();
        ByteBuffer tmp = array.pool.acquire();
        try {
            for (Transaction t : log.unfinished()) {
                if (t.opType() != OP_STRIPE_SEGMENT || t.steps().isEmpty()) {
                    log.abort(t.txId());
                    continue;
                }
                ByteBuffer b = t.beginPayload().slice().order(ByteOrder.LITTLE_ENDIAN);
                ByteBuffer m0 = t.steps().get(0).payload().slice().order(ByteOrder.LITTLE_ENDIAN);
                String malformed = malformed(b, m0);
                if (malformed != null) {
                    LOG.warn("array {}: journal transaction {} cannot be replayed: {}", array.name(), t.txId(), malformed);
                    continue;
                }
                long row = b.getLong(0);
                long memberLba = b.getLong(8);
                int h = b.getInt(16);
                int mask = m0.getInt(0);
                int length = h * array.blockSize;
                int filled = 0;
                for (int i = 1; i < t.steps().size(); i++) {
                    ByteBuffer piece = t.steps().get(i).payload();
                    int n = piece.remaining();
                    if (filled + n > length) {
                        break;
                    }
                    p.put(filled, piece, piece.position(), n);
                    filled += n;
                }
                int parity = geometry.parityMember(row);
                boolean ok = filled == length && array.writable(parity);
                for (int m = 0; m < array.raidDisks && ok; m++) {
                    if ((mask & (1 << m)) != 0) {
                        ok = array.readMember(m, memberLba, h, tmp, 0, IoCause.JOURNAL) == MdRaidArray.IO_OK;
                        Xor.xorInto(p, 0, tmp, 0, length);
                    }
                }
                if (ok && array.writeMember(parity, memberLba, h, p, 0, IoCause.JOURNAL, false)) {
                    repaired++;
                    LOG.info("array {}: parity of stripe {} member lba {} +{} restored from the journal",
                            array.name(), row, memberLba, h);
                } else {
                    LOG.warn("array {}: journal transaction {} for stripe {} cannot be replayed", array.name(),
                            t.txId(), row);
                }
            }
            region.flush();
            for (Transaction t : log.unfinished()) {
                log.commit(t.txId());
            }
            log.sync();
        } finally {
            array.pool.release(tmp);
            array.pool.release(p);
        }
        return repaired;
    }
}
