package dev.scemu.raid.internal;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.ExecutionLog;
import dev.scemu.core.Extent;
import dev.scemu.core.IoCause;
import dev.scemu.core.Transaction;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.Condition;
import java.util.function.BooleanSupplier;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
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
 * md's PPL order (drivers/md/raid5-ppl.c: the log entry is durable before the stripe is written; the
 * data disks are flushed before the entry's space is reused), with one sync of the journal's blocks
 * per group of concurrent degraded writes, and a flush of the members' data only every
 * {@link #commitThresholdBlocks} blocks of done transactions:
 * <ol>
 *   <li>BEGIN (row, segment, written-member mask) and STEP records carrying L are appended, and the
 *       writer waits for a log sync that started after its append (the journal's blocks written,
 *       then flushed where the journal lives: a ranged flush of the region, on its home member
 *       alone while the array is degraded, {@link MirroredRegion#flush})
 *       before any data or parity of the segment is written. Syncs are group commits: one writer
 *       syncs for every transaction appended meanwhile, the others wait for it
 *       ({@link #awaitDurable}).</li>
 *   <li>Data and parity are written; no flush follows. The transaction is then <i>done</i> and
 *       waits for its COMMIT: COMMIT is appended only after a whole-member flush
 *       ({@link MirroredRegion#flushMembersWhole}) that <i>started after</i> its writes returned has
 *       completed, so its data is durable before its COMMIT can be (ExecutionLog Ordering 3). That
 *       flush runs at the start of a log sync once the done transactions hold a quarter of the ring
 *       ({@link #commitThresholdBlocks}), or when a writer needs the ring's room or its columns
 *       durable: not per group. Until the eleventh session every log sync flushed the members whole,
 *       and on file members that wrote back every data page the degraded writes had dirtied, on
 *       the writers' path (`scemu serve`, RAID-5 of 4 x 256 MiB, one member failed: 4 KiB random
 *       writes at QD16 ran at 3.3k IOPS against 23k healthy; strace: 0.7 fdatasync per write). A
 *       transaction whose COMMIT is not durable is replayed after a cut; replay is idempotent and in
 *       begin order, and COMMITs are appended in done order, which for writes sharing a column is
 *       their begin order (the engine holds the columns from BEGIN to done): so a durable COMMIT of
 *       a later writer of a column implies the earlier writer's, and a stale L is never replayed
 *       alone over newer data of its columns.</li>
 *   <li>L assumes the data every other member holds in the segment's columns (member lbas), and
 *       a replay after a cut uses it whenever the transaction's records survived, even if its own
 *       sync never completed. So that data must be durable <i>before</i> any of the transaction's
 *       records can reach a member: before its BEGIN, a journaled write waits for a whole-member
 *       flush that started after the last write of any of its columns ended ({@link #columnsWritten}, called
 *       by the engine for every write and trim of a row, journaled or not, with the member lbas
 *       it wrote, before it releases the row). Only the same columns matter: L covers member lbas
 *       {@code [memberLba, +h)} of each member (md's stripe is one block per member at one
 *       offset), and a replay reads nothing outside them. Member lbas are hashed into
 *       {@value #COLUMN_BUCKETS} buckets (a shared bucket costs a sync, never a miss); at start
 *       every bucket counts as written, so the first journaled write flushes first. A run of
 *       small writes through one chunk (a sequential stream) writes new columns each time and
 *       does not wait; rewrites of the same blocks sync once more per write. (Keyed by row until
 *       the tenth session: every degraded 4 KiB write of a sequential stream then synced twice.
 *       Found by {@code DegradedConcurrentCrashTest}: without the rule, a cut during the next
 *       transaction's sync kept its records but lost the previous transaction's data on another
 *       member, and the replay rebuilt the failed member's block from the wrong data.)</li>
 *   <li>{@link #sync()} drains: it waits for every transaction in flight (none begins meanwhile),
 *       flushes, commits every done transaction and syncs the COMMITs. It runs when the array leaves
 *       degraded mode, at stop, and at every rebuild checkpoint before its recovery_offset is
 *       recorded (rows below it are then written without the journal), so no stale unfinished
 *       transaction can be replayed over stripes written later without the journal.</li>
 *   <li>A writer that fails between its log sync and the end of its writes leaves its transaction
 *       unfinished (replayed at the next assembly, as before): it is never committed. If it pins
 *       the ring, a later BEGIN that finds no room syncs first, so that it fails with what failed
 *       the writer when that still holds (POWER_LOST after a cut, DEVICE_FAILED), and with
 *       LOG_FULL only when the members answer.</li>
 *   <li>The written columns of the row ({@link Raid5Engine} Locking 4), then the drain lock (shared
 *       by writers from BEGIN to done, exclusive for {@link #sync()}), then the append lock, then
 *       the sync lock, then the metadata lock: never in another order.</li>
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
    /** Shared by a writer from its BEGIN until its writes are done; exclusive for a drain. */
    private final ReentrantReadWriteLock drain = new ReentrantReadWriteLock(true);
    /** Appends (a transaction's records are appended together) and the done queue. */
    private final ReentrantLock append = new ReentrantLock();
    private final ByteBuffer header = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN);
    /**
     * Done transactions waiting for their COMMIT, oldest first: {txId, {@link #dataFlushesStarted}
     * when done, blocks of L}.
     */
    private final ArrayDeque<long[]> done = new ArrayDeque<>();
    /**
     * Blocks of L of the {@link #done} transactions, their share of the ring: changed under
     * {@link #append} (as {@link #done} is), read by {@link #syncOrWait} without it (a heuristic).
     */
    private volatile long doneBlocks;
    /** Done blocks from which the next log sync flushes the members whole first, so their COMMITs can follow. */
    private final long commitThresholdBlocks;
    /** Transactions appended, under {@link #append}; a writer's ticket is the value after its append. */
    private volatile long appended;
    /** Group-commit state, under {@link #syncLock}. */
    private final ReentrantLock syncLock = new ReentrantLock();
    private final Condition syncEnded = syncLock.newCondition();
    private boolean syncing;
    /** Highest ticket a completed sync covered. */
    private long durableTicket;
    /** Transactions between their append and done (waiters for ring space wait for these). */
    private int inFlight;
    /**
     * Whole-member flushes ({@link MirroredRegion#flushMembersWhole}) started; the one numbered e
     * makes durable every member write that returned before it started. One runs at the start of a
     * log sync that a waiter asked for one ({@link #dataFlushWanted}) or that finds
     * {@link #commitThresholdBlocks} done. Volatile: read without a lock by {@link #columnsWritten}.
     */
    private volatile long dataFlushesStarted;
    /** Number of the newest completed whole-member flush (under {@link #syncLock}). */
    private long dataFlushesCompleted;
    /** A waiter needs a whole-member flush that starts after its request (under {@link #syncLock}). */
    private boolean dataFlushWanted;
    /**
     * Per hashed member lba ({@value #COLUMN_BUCKETS} buckets): {@link #dataFlushesStarted} when a write
     * of a member block of that bucket last ended ({@link #columnsWritten}). Written before the
     * writer releases the row, read by the next writer of those columns after it takes the row;
     * columns sharing a bucket only cost an extra flush (Ordering 3).
     */
    private final AtomicLongArray columnWrittenAt = new AtomicLongArray(COLUMN_BUCKETS);
    static final int COLUMN_BUCKETS = 1 << 16;

    private ParityJournal(MdRaidArray array, MirroredRegion region, ExecutionLog log) {
        this.array = array;
        this.region = region;
        this.log = log;
        long ringBlocks = region.blockCount() - ExecutionLog.HEADER_SLOTS;
        // a transaction alone in the ring always fits (appendTransaction waits for the others when
        // it does not); keep half the ring free for the reopen spare and finishes
        long payloadBlocks = Math.max(1, ringBlocks / 2 - 2);
        long bytes = payloadBlocks * (log.maxPayloadBytes() / 2);
        this.maxSegmentBlocks = (int) Math.max(1, Math.min(array.chunkBlocks, bytes / array.blockSize));
        this.commitThresholdBlocks = Math.max(1, ringBlocks / 4);
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
     * whose present written members are {@code writtenMask}, waits until that is durable and runs
     * {@code writes}; the COMMIT follows after a later flush. See Ordering.
     */
    void protectedWrite(long row, long memberLba, int h, int writtenMask, ByteBuffer l, Runnable writes) {
        drain.readLock().lock();
        try {
            Appended tx = appendTransaction(row, memberLba, h, writtenMask, l);
            boolean finished = false;
            try {
                awaitDurable(tx.ticket());
                writes.run();
                finished = true;
            } finally {
                writesEnded(finished ? tx.txId() : -1, h);
            }
        } finally {
            drain.readLock().unlock();
        }
    }

    /**
     * A write of member lbas {@code [memberLba, +blockCount)} ended (journaled or not, trims
     * included; the engine calls this before it releases the row): until a whole-member flush
     * started after now completes, a journaled write of any of those columns waits for one before
     * its BEGIN (Ordering 3). A bucket already stamped this high is only read: stamps only grow, and
     * while the array is whole no flush of the journal's starts, so every write after a bucket's
     * first leaves its cache line clean (the store of every write was 6 % of the samples of four
     * healthy RAID-5 writers, JFR, eleventh session).
     */
    void columnsWritten(long memberLba, long blockCount) {
        long stamp = dataFlushesStarted;
        for (long lba = memberLba; lba < memberLba + blockCount; lba++) {
            int bucket = bucketOf(lba);
            if (columnWrittenAt.get(bucket) < stamp) {
                // max: a writer of another row whose columns share the bucket may stamp an older count late
                columnWrittenAt.accumulateAndGet(bucket, stamp, Math::max);
            }
        }
    }

    private static int bucketOf(long memberLba) {
        return (int) ((memberLba * 0x9E3779B97F4A7C15L) >>> (64 - 16));
    }

    /**
     * Ordering 3: returns once every write of member lbas {@code [memberLba, +blockCount)} that
     * ended before this call is durable (a whole-member flush that started after it has completed),
     * so that an L computed from that data can be logged; at once when those columns were last
     * written before the newest completed whole-member flush began.
     */
    private void awaitColumnsDurable(long memberLba, long blockCount) {
        long writtenAt = 0;
        for (long lba = memberLba; lba < memberLba + blockCount; lba++) {
            writtenAt = Math.max(writtenAt, columnWrittenAt.get(bucketOf(lba)));
        }
        long last = writtenAt;
        flushUntil(() -> dataFlushesCompleted > last);
    }

    /** A transaction appended: its id, and its ticket (the value of {@link #appended} after its append). */
    private record Appended(long txId, long ticket) {
    }

    /**
     * Appends the transaction's records (after the COMMITs now due) and returns its ticket. When
     * the ring has no room, the records appended so far are aborted and the writer waits for the
     * transactions in flight to finish, syncs so that the done ones can commit, and tries again;
     * with none in flight or done, the LOG_FULL stands (an unfinished transaction of a failed
     * write pins the ring).
     */
    private Appended appendTransaction(long row, long memberLba, int h, int writtenMask, ByteBuffer l) {
        awaitColumnsDurable(memberLba, h);
        while (true) {
            append.lock();
            long tx = -1;
            try {
                appendDueCommits();
                header.clear();
                header.putLong(0, row).putLong(8, memberLba).putInt(16, h);
                header.limit(20);
                tx = log.begin(OP_STRIPE_SEGMENT, header);
                header.clear().limit(4);
                header.putInt(0, writtenMask);
                log.step(tx, 0, header);
                appendPieces(tx, l, h * array.blockSize);
                long ticket = appended + 1;
                appended = ticket;
                syncLock.lock();
                try {
                    inFlight++;
                } finally {
                    syncLock.unlock();
                }
                return new Appended(tx, ticket);
            } catch (CoreException e) {
                if (e.code() != CoreError.LOG_FULL) {
                    throw e;
                }
                if (tx >= 0) {
                    log.abort(tx);
                }
                if (!waitForRoom()) {
                    throw unrelievable(e);
                }
            } finally {
                append.unlock();
            }
        }
    }

    /**
     * The LOG_FULL that waiting cannot cure: only transactions of failed writes pin the ring
     * (Ordering 5). What failed them, a power cut or members gone, usually still holds, and the
     * caller must see that rather than a full log: a whole-member flush reaches every member (a
     * log sync reaches only the home member while the array is degraded) and throws it. When it
     * succeeds, the LOG_FULL stands.
     */
    private CoreException unrelievable(CoreException full) {
        awaitWholeFlushStartedAfterNow();
        return full;
    }

    /**
     * Called holding {@link #append} after a LOG_FULL: releases it while the writers in flight
     * finish, then syncs so that every done transaction can commit. False when nothing is in flight
     * or done, i.e. waiting cannot make room.
     */
    private boolean waitForRoom() {
        syncLock.lock();
        try {
            // decided before letting go of append: a writer that appends once it is released can
            // end, and be done, before this thread looks again; read then, it looked like neither
            // in flight nor done, and the LOG_FULL stood where waiting would have cured it
            // (DegradedConcurrentCrashTest failed so about once in 400 rounds after the members'
            // gate got cheaper, and with the ninth session's sync-epoch variant of this class)
            if (inFlight == 0 && done.isEmpty()) {
                return false;
            }
        } finally {
            syncLock.unlock();
        }
        append.unlock();
        try {
            syncLock.lock();
            try {
                while (inFlight > 0) {
                    syncEnded.awaitUninterruptibly();
                }
            } finally {
                syncLock.unlock();
            }
            awaitWholeFlushStartedAfterNow(); // every done writer has returned: its writes are then durable
            return true;
        } finally {
            append.lock();
        }
    }

    /**
     * Returns once a log sync that started after ticket {@code ticket} was appended has completed:
     * runs that sync itself when none is running (group commit: it covers every transaction appended
     * before it starts), else waits for the running one and checks again.
     */
    private void awaitDurable(long ticket) {
        syncUntil(() -> durableTicket >= ticket);
    }

    /** Returns once a whole-member flush that started after this call has completed (see {@link #syncOrWait}). */
    private void awaitWholeFlushStartedAfterNow() {
        long needed = dataFlushesStarted + 1;
        flushUntil(() -> dataFlushesCompleted >= needed);
    }

    /** Runs or waits for syncs ({@link #syncOrWait}) until {@code reached}, read under {@link #syncLock}, holds. */
    private void syncUntil(BooleanSupplier reached) {
        syncUntil(reached, false);
    }

    /** {@link #syncUntil} for a condition on {@link #dataFlushesCompleted}: each sync it runs or asks for flushes the members whole. */
    private void flushUntil(BooleanSupplier reached) {
        syncUntil(reached, true);
    }

    private void syncUntil(BooleanSupplier reached, boolean wholeMembers) {
        syncLock.lock();
        try {
            while (!reached.getAsBoolean()) {
                dataFlushWanted |= wholeMembers;
                syncOrWait();
            }
        } finally {
            syncLock.unlock();
        }
    }

    /**
     * Holding {@link #syncLock}: runs one log sync when none is running (releasing the lock for its
     * I/O), else waits for the running one to end. Either way the caller checks its condition again.
     * The sync first flushes the members whole when a waiter asked for that or the done
     * transactions hold {@link #commitThresholdBlocks} of the ring (their COMMITs, appended after
     * it, free the ring); otherwise it flushes the journal's blocks only.
     */
    private void syncOrWait() {
        if (syncing) {
            syncEnded.awaitUninterruptibly();
            return;
        }
        syncing = true;
        long covers = appended;
        boolean wholeMembers = dataFlushWanted || doneBlocks >= commitThresholdBlocks;
        long dataEpoch = wholeMembers ? ++dataFlushesStarted : 0;
        if (wholeMembers) {
            dataFlushWanted = false;
        }
        boolean ok = false;
        syncLock.unlock();
        try {
            if (wholeMembers) {
                region.flushMembersWhole();
            }
            log.sync();
            ok = true;
        } finally {
            syncLock.lock();
            syncing = false;
            if (ok) {
                durableTicket = Math.max(durableTicket, covers);
                if (wholeMembers) {
                    dataFlushesCompleted = dataEpoch;
                }
            }
            syncEnded.signalAll();
        }
    }

    /**
     * A writer's data and parity writes returned ({@code tx} done) or failed ({@code tx} = -1). Both
     * counts change together under {@link #append}, so {@link #waitForRoom} never sees a writer
     * neither in flight nor done.
     */
    private void writesEnded(long tx, int blocks) {
        append.lock();
        try {
            syncLock.lock();
            try {
                if (tx >= 0) {
                    done.addLast(new long[] {tx, dataFlushesStarted, blocks});
                    doneBlocks += blocks;
                }
                inFlight--;
                syncEnded.signalAll();
            } finally {
                syncLock.unlock();
            }
        } finally {
            append.unlock();
        }
    }

    /**
     * Appends COMMIT for every done transaction whose writes a completed whole-member flush made
     * durable (holding {@link #append}, which every change of {@link #done} holds).
     */
    private void appendDueCommits() {
        long completed;
        syncLock.lock();
        try {
            completed = dataFlushesCompleted;
        } finally {
            syncLock.unlock();
        }
        while (!done.isEmpty() && done.peekFirst()[1] < completed) {
            long[] committed = done.pollFirst();
            log.commit(committed[0]);
            doneBlocks -= committed[2];
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

    /** Runs {@code action} holding the drain lock exclusively (no journaled write runs meanwhile). */
    void withLock(Runnable action) {
        drain.writeLock().lock();
        try {
            action.run();
        } finally {
            drain.writeLock().unlock();
        }
    }

    /** {@link #sync()} for a caller of {@link #withLock}. */
    void syncLocked() {
        if (!drain.isWriteLockedByCurrentThread()) {
            throw new IllegalStateException("syncLocked without the drain lock");
        }
        region.flushMembersWhole(); // every done transaction's writes are durable
        append.lock();
        try {
            while (!done.isEmpty()) {
                log.commit(done.pollFirst()[0]);
            }
            doneBlocks = 0;
            log.sync();
        } finally {
            append.unlock();
        }
    }

    /**
     * Drains: waits for the journaled writes in flight (none begins meanwhile), then makes every
     * transaction's COMMIT durable (a flush, the COMMITs, a log sync). See Ordering 4.
     */
    void sync() {
        withLock(this::syncLocked);
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
            region.flushMembersWhole(); // the parity just rewritten, before the COMMITs
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
