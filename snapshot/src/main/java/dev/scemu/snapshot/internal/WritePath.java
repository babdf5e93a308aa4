package dev.scemu.snapshot.internal;

import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.IoCause;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import net.openhft.hashing.LongHashFunction;

/**
 * The write path of the live volume: diff-on-write, copy-on-write into batches, group commit of
 * the batches, and checkpoints (which also commit batches).
 *
 * <h2>Runs</h2>
 * A host write is cut into <b>runs</b>: at most one stripe ({@link StripeLocks}, 64 blocks) and at
 * most one batch's capacity. A run:
 * <ol>
 *   <li>reserves as many batch slots as it has blocks (if any snapshot exists) in the batch being
 *       filled ({@code enterRun}; it waits here, holding nothing, if the batch is full and the
 *       previous batch is still committing, or while runs are paused for a checkpoint);</li>
 *   <li>holds its blocks in its stripe's lock ({@link StripeLocks#lockBlocks}: runs over
 *       disjoint blocks of one stripe proceed side by side, readers of the stripe wait) and reads
 *       the old blocks once;</li>
 *   <li>per block: identical → skipped; pending in a batch → the slot's new data is replaced;
 *       no snapshot needs the old block → written in place with {@code writeOver} (the old data
 *       just read is handed down, so a RAID-5 below does not read it again); else COW: the old
 *       block gets a free pool block (or becomes a zero-block entry), the entry is inserted,
 *       and the new data and the old data wait in the reserved slot: the old data is the copy's
 *       source, written to the pool at commit, not by the run;</li>
 *   <li>releases its blocks, then returns its unused slots ({@code exitRun}).</li>
 * </ol>
 *
 * <h2>Group commit</h2>
 * Two {@link CowBatch}es alternate: one <em>fills</em>, at most one <em>commits</em>. When a run
 * finds no room, and no batch is committing, it <em>seals</em> the filling batch (it becomes the
 * committing one, the other, empty, starts filling: later runs proceed at once), waits until the
 * runs that reserved slots in it have finished, and commits it: the copies of its entries,
 * written from the slots' old data as few large writes as the pool blocks allow
 * ({@link #writeCopies}: consecutive pool blocks in one write, so a RAID-5 store gets full-stripe
 * writes instead of one 4 KiB read-modify-write per copy), then the journal records of its
 * entries and copy hashes (as many as the batch needs, {@code entriesPerRecord} each: 125 at
 * 4 KiB blocks), ONE journal sync (log blocks + store flush: the copies become durable),
 * then the new data goes to the data device, run by run holding the run's blocks, each slot
 * marked written as its data lands. Those writes are announced to the data device first
 * ({@link dev.scemu.core.BlockDevice#announceWrites}, md's plug: a RAID array below sets all
 * their write-intent bits with one bitmap page write instead of one per block whose region was
 * idle), and the announcement is closed after the last of them; it orders nothing. A flush or a FUA write seals and commits the filling batch
 * the same way (after waiting for a commit in progress); writers that wait for the same commit
 * share it.
 *
 * <h2>Ordering rules (proofs)</h2>
 * <ol>
 *   <li><b>copy → journal → overwrite.</b> A slot's new data reaches the data device only in
 *       {@link #writeBatchData}, which the committer calls after the journal sync of the slot's
 *       batch returned, or a checkpoint calls after its header is durable. Between the COW and
 *       that write no other path writes the block: every later run over the lba finds the slot
 *       pending (it holds the lba's block, and a slot stops being pending only while the
 *       committer holds that block)
 *       and replaces the slot's data instead. The copy is written from the slot's old data by
 *       the committer after all the batch's runs ended and before the batch's first journal
 *       record ({@link #commit}), or by a checkpoint before its pages; the sync (or the
 *       checkpoint's store flush) that follows makes it durable before any record or page that
 *       references it can be, and before the new data is written. A cut anywhere before the sync
 *       returned leaves every block of the batch old on the data device, so an entry whose copy
 *       did not survive (recovery checks its hash) is dropped without loss.</li>
 *   <li><b>Only the last batch can be torn.</b> At most one batch commits at a time; the next
 *       seal waits until the previous commit returned, so batch k+1's sync starts after batch
 *       k's sync returned. Within the last batch any subset of its records may have survived a
 *       cut: every record stands alone (each entry is checked against its copy's hash at
 *       recovery), and no block of the batch was overwritten before the sync returned (rule 1),
 *       so a lost record only loses entries whose old blocks are still on the data device.</li>
 *   <li><b>Reads see the latest completed write.</b> A read holds the shared locks of its
 *       stripes, which it gets only while no block of them is held. A completed run left each of
 *       its blocks either on the data device (in place, or written by the committer) or in a
 *       pending slot; the reader reads the data device, then overlays every pending slot. The
 *       committer writes a slot's data and marks it written holding the slot's block, so the
 *       reader sees both steps or neither.</li>
 *   <li><b>Snapshot views stay frozen.</b> An entry is inserted by a run holding its block,
 *       its slot's old data filled in the same run; its copy is written later, at commit. A view
 *       reads its stripes shared and looks its entries up under {@code meta}: an entry whose copy
 *       is still pending ({@link #copyPending}: the batch's {@code lba -> slot} index and the
 *       batch's copied watermark, O(1), no scan) is read from the data device, which still holds
 *       the old block: the slot is pending, and the committer writes it (after the copy, rule 1)
 *       only holding the block, which the view's shared lock keeps out until the
 *       read ends. An entry whose copy is written is read from the pool (the watermark moves
 *       under {@code meta} after the store write returned). So no view reads a pool block before
 *       its copy is there.</li>
 *   <li><b>Writes to one block stay ordered.</b> Runs over one lba hold the same block of the
 *       same stripe lock, so they are serialised in the order they take it; each completes its
 *       diff, COW and slot update before the next reads the block. Runs over disjoint blocks of
 *       one stripe share nothing this path orders: each reads, compares and writes only its own
 *       blocks (its {@code writeOver} hands down old data no one else can change meanwhile, the
 *       contract of {@link dev.scemu.core.BlockDevice#writeOver}), claims its own slots under
 *       {@code meta}, and the device below orders its own concurrent writes to one row (a RAID-5
 *       by column, {@code Raid5Engine} Locking).</li>
 *   <li><b>Checkpoints see a quiet table.</b> A checkpoint pauses runs (new runs wait in
 *       {@code enterRun}, holding nothing) and waits until none is in flight: every entry in the
 *       index then has its slot's old data in place. It writes the pending copies of both
 *       batches first ({@link #writeCopies}), so every entry its pages reference has its copy
 *       written; its store flush makes those copies durable before its header; only then are
 *       the data of both batches written (the checkpoint covers their entries). The committer, which checkpoints when the journal is
 *       half full or full, holds no stripe lock and no run while it waits, so the pause cannot
 *       deadlock.</li>
 *   <li><b>Space.</b> Pool blocks and mapping entries are reserved per host write (as many as it
 *       has blocks, while a snapshot exists) before its first run; a write that cannot reserve
 *       goes to the exclusive path of {@link SnapshotVolumeImpl} (exact count, store-full
 *       policy). So concurrent writers can never find the pool or the table empty half-way.</li>
 *   <li><b>Failures.</b> A run that throws marks the volume failed before it ends (before
 *       {@code exitRun}); a commit or checkpoint that waited for it checks the mark after the wait
 *       and journals nothing, so no entry whose slot may lack its old data is made durable. A
 *       copy write that fails fails the commit (or checkpoint) before its first record (page).</li>
 * </ol>
 *
 * <p>Thread use: any number of writers holding the volume's {@code writeGate} shared; the
 * journal is used by one thread at a time (the committer, or a holder of {@code writeGate}
 * exclusively, which excludes committers because committers hold it shared).
 */
final class WritePath {

    private static final LongHashFunction XX3 = LongHashFunction.xx3();
    private static final int MAX_POOLED_CONTEXTS = 16;
    /** Runs of at least this many blocks are first compared whole (an identical rewrite costs one compare). */
    private static final int RUN_COMPARE_MIN_BLOCKS = 4;

    private final VolumeState s;
    private final int blockSize;
    private final CowBatch[] pair = new CowBatch[2];
    private final ByteBuffer zeros;
    private final ByteBuffer payload;
    /**
     * The pool block of every slot whose copy is being written, and the staging buffer that
     * gathers copies whose pool blocks are consecutive but whose slots are not (zero-block
     * entries between them): used only by the thread using the journal (committer or checkpoint).
     */
    private final long[] copyPoolBlocks;
    private final ByteBuffer copyStaging;
    static final int COPY_STAGING_BLOCKS = StripeLocks.DEFAULT_STRIPE_BLOCKS;
    /** COW entries one journal record holds; a batch's commit writes as many records as it needs. */
    private final int entriesPerRecord;
    /** Idle run contexts (claimed and returned by CAS, no lock). */
    private final AtomicReferenceArray<RunContext> contexts = new AtomicReferenceArray<>(MAX_POOLED_CONTEXTS);
    /**
     * Runs between enterRun and exitRun. Incremented before a run checks {@link #pauseDepth} and
     * read by a pausing checkpoint after it raised pauseDepth (both volatile: one of the two sees
     * the other), so a run without slots needs no monitor.
     */
    private final AtomicInteger runsInFlight = new AtomicInteger();
    /** Checkpoints pausing runs (raised and lowered under meta). */
    private volatile int pauseDepth;

    // ---- guarded by s.meta
    private CowBatch filling;
    private CowBatch committing;
    private int waiters;
    private long reservedPool;
    private long reservedEntries;

    WritePath(VolumeState s) {
        this.s = s;
        this.blockSize = s.blockSize;
        int perRecord = JournalRecords.cowEntriesPerRecord(s.journal.maxPayloadBytes());
        if (perRecord < 1) {
            throw new dev.scemu.snapshot.SnapshotException(dev.scemu.snapshot.SnapshotError.INVALID_CONFIGURATION,
                    "journal payloads of " + s.journal.maxPayloadBytes() + " bytes hold no COW entry");
        }
        this.entriesPerRecord = perRecord;
        int capacity = s.layout.cowBatchBlocks();
        pair[0] = new CowBatch(capacity, blockSize);
        pair[1] = new CowBatch(capacity, blockSize);
        filling = pair[0];
        this.copyPoolBlocks = new long[capacity];
        this.copyStaging = Buffers.allocateAligned(COPY_STAGING_BLOCKS * blockSize);
        this.zeros = Buffers.allocateAligned(s.stripes.stripeBlocks() * blockSize);
        this.payload = ByteBuffer.allocateDirect(s.journal.maxPayloadBytes()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    }

    /** Per-write scratch: the old blocks of a run, views for compares, reservations. */
    private final class RunContext {
        final ByteBuffer scratch = Buffers.allocateAligned(s.stripes.stripeBlocks() * blockSize);
        final ByteBuffer scratchView = scratch.duplicate();
        final ByteBuffer zerosView = zeros.duplicate();
        final ByteBuffer[] batchViews = {pair[0].data().duplicate(), pair[1].data().duplicate()};
        long poolLeft;
        long entriesLeft;
        int slotsUsed;
    }

    private RunContext acquireContext() {
        int start = (int) (Thread.currentThread().getId() & (MAX_POOLED_CONTEXTS - 1));
        for (int i = 0; i < MAX_POOLED_CONTEXTS; i++) {
            RunContext ctx = contexts.getAndSet((start + i) & (MAX_POOLED_CONTEXTS - 1), null);
            if (ctx != null) {
                return ctx;
            }
        }
        return new RunContext();
    }

    private void releaseContext(RunContext ctx) {
        int start = (int) (Thread.currentThread().getId() & (MAX_POOLED_CONTEXTS - 1));
        for (int i = 0; i < MAX_POOLED_CONTEXTS; i++) {
            if (contexts.compareAndSet((start + i) & (MAX_POOLED_CONTEXTS - 1), null, ctx)) {
                return;
            }
        }
    }

    int batchCapacity() {
        return pair[0].capacity();
    }

    // ------------------------------------------------------------------ host writes

    /**
     * A write under {@code writeGate} shared: reserves room for its copies, then writes. Returns
     * false, having written nothing, if the store might not hold its copies (the caller retries
     * exclusively). {@code source} is a private view (its position and limit change).
     */
    boolean tryWriteShared(long lba, int blockCount, ByteBuffer source, int sourceOffset) {
        RunContext ctx = acquireContext();
        try {
            if (s.liveEpochs.length > 0) {
                synchronized (s.meta) {
                    if (s.freeMap.freeCount() - reservedPool < blockCount
                            || s.index.freeEntries() - reservedEntries < blockCount) {
                        return false;
                    }
                    reservedPool += blockCount;
                    reservedEntries += blockCount;
                    ctx.poolLeft = blockCount;
                    ctx.entriesLeft = blockCount;
                }
            }
            writeRuns(ctx, lba, blockCount, source, sourceOffset);
            return true;
        } finally {
            if (ctx.poolLeft > 0 || ctx.entriesLeft > 0) {
                synchronized (s.meta) {
                    reservedPool -= ctx.poolLeft;
                    reservedEntries -= ctx.entriesLeft;
                }
                ctx.poolLeft = 0;
                ctx.entriesLeft = 0;
            }
            releaseContext(ctx);
        }
    }

    /** A write under {@code writeGate} exclusive; the caller made room for its copies. */
    void writeExclusive(long lba, int blockCount, ByteBuffer source, int sourceOffset) {
        RunContext ctx = acquireContext();
        try {
            writeRuns(ctx, lba, blockCount, source, sourceOffset);
        } finally {
            releaseContext(ctx);
        }
    }

    private void writeRuns(RunContext ctx, long lba, int blockCount, ByteBuffer source, int sourceOffset) {
        int done = 0;
        int capacity = batchCapacity();
        while (done < blockCount) {
            long at = lba + done;
            int run = Math.min(Math.min(blockCount - done, s.stripes.blocksToStripeEnd(at)), capacity);
            writeRun(ctx, at, run, source, sourceOffset + done * blockSize);
            done += run;
        }
    }

    private void writeRun(RunContext ctx, long lba, int blockCount, ByteBuffer source, int sourceOffset) {
        int need = s.liveEpochs.length == 0 ? 0 : blockCount;
        CowBatch batch = enterRun(need);
        ctx.slotsUsed = 0;
        s.stripes.lockBlocks(lba, blockCount);
        try {
            s.data.read(lba, blockCount, ctx.scratch, 0);
            s.meter.issuedRead(IoCause.HOST, (long) blockCount * blockSize);
            writeRunBlocks(ctx, batch, lba, blockCount, source, sourceOffset);
        } catch (RuntimeException e) {
            // before the run ends: a commit waiting for it must not journal entries whose copies may be missing
            failed(e);
            throw e;
        } finally {
            s.stripes.unlockBlocks(lba, blockCount);
            exitRun(batch, need - ctx.slotsUsed);
        }
    }

    /** Waits (holding nothing) until the filling batch has {@code need} free slots; returns it (null if need is 0). */
    private CowBatch enterRun(int need) {
        if (need == 0) {
            while (true) {
                runsInFlight.incrementAndGet();
                if (pauseDepth == 0) {
                    if (s.failure != null) {
                        exitRun(null, 0);
                        s.checkNotFailed();
                    }
                    return null;
                }
                exitRun(null, 0); // a checkpoint is pausing runs: wait for it holding nothing
                synchronized (s.meta) {
                    while (pauseDepth > 0) {
                        s.checkNotFailed();
                        await();
                    }
                }
            }
        }
        while (true) {
            CowBatch sealed;
            synchronized (s.meta) {
                while (true) {
                    s.checkNotFailed();
                    if (pauseDepth > 0) {
                        await();
                        continue;
                    }
                    if (filling.room() >= need) {
                        filling.reserved += need;
                        filling.inFlight++;
                        runsInFlight.incrementAndGet();
                        return filling;
                    }
                    if (committing != null) {
                        await();
                        continue;
                    }
                    sealed = seal();
                    break;
                }
            }
            commit(sealed);
        }
    }

    private void exitRun(CowBatch batch, int unusedSlots) {
        if (batch == null) {
            if (runsInFlight.decrementAndGet() == 0 && pauseDepth > 0) {
                synchronized (s.meta) {
                    s.meta.notifyAll(); // the pausing checkpoint rechecks runsInFlight under meta
                }
            }
            return;
        }
        synchronized (s.meta) {
            runsInFlight.decrementAndGet();
            batch.reserved -= unusedSlots;
            batch.inFlight--;
            if (waiters > 0) {
                s.meta.notifyAll();
            }
        }
    }

    /** An I/O failure or broken invariant on the write path: memory and media are out of step, refuse everything after it. */
    private void failed(RuntimeException e) {
        boolean refusal = e instanceof dev.scemu.snapshot.SnapshotException se
                && se.code() != dev.scemu.snapshot.SnapshotError.CORRUPT_METADATA;
        if (!refusal && s.failure == null) {
            s.failure = e;
        }
    }

    /** Caller holds meta. */
    private void await() {
        waiters++;
        try {
            s.meta.wait();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CoreException(CoreError.IO_ERROR, "interrupted while waiting for a snapshot batch commit of " + s.name, e);
        } finally {
            waiters--;
        }
    }

    /** Caller holds meta and no batch is committing: the filling batch becomes the committing one. */
    private CowBatch seal() {
        CowBatch sealed = filling;
        committing = sealed;
        filling = sealed == pair[0] ? pair[1] : pair[0];
        return sealed;
    }

    private void writeRunBlocks(RunContext ctx, CowBatch batch, long lba, int blockCount, ByteBuffer source, int sourceOffset) {
        // Without snapshots no block needs a copy and no batch holds anything (deleting the last
        // snapshot commits the batches first, and only a COW fills them): no bookkeeping per block.
        boolean noSnapshots = s.liveEpochs.length == 0;
        if (blockCount >= RUN_COMPARE_MIN_BLOCKS && identicalRewrite(ctx, lba, blockCount, source, sourceOffset, noSnapshots)) {
            s.meter.skippedWrite((long) blockCount * blockSize);
            return;
        }
        int inPlaceStart = -1;
        for (int i = 0; i < blockCount; i++) {
            long blockLba = lba + i;
            int at = sourceOffset + i * blockSize;
            CowBatch pendingIn = null;
            int slot = -1;
            boolean needsCopy = false;
            if (!noSnapshots) {
                synchronized (s.meta) {
                    if (committing != null) {
                        slot = committing.slotOf(blockLba);
                        pendingIn = committing;
                    }
                    if (slot < 0) {
                        slot = filling.slotOf(blockLba);
                        pendingIn = filling;
                    }
                    if (slot < 0) {
                        needsCopy = s.needsCopy(blockLba);
                    }
                }
            }
            boolean inPlace = false;
            if (slot >= 0) {
                ByteBuffer view = ctx.batchViews[pendingIn == pair[0] ? 0 : 1];
                if (Buffers.equal(source, at, view, pendingIn.dataOffset(slot), blockSize)) {
                    s.meter.skippedWrite(blockSize);
                } else {
                    pendingIn.putData(slot, source.clear(), at);
                }
            } else if (Buffers.equal(source, at, ctx.scratchView, i * blockSize, blockSize)) {
                s.meter.skippedWrite(blockSize);
            } else if (needsCopy) {
                copyOnWrite(ctx, batch, blockLba, i * blockSize, source.clear(), at);
            } else {
                inPlace = true;
            }
            if (inPlace && inPlaceStart < 0) {
                inPlaceStart = i;
            } else if (!inPlace && inPlaceStart >= 0) {
                writeInPlace(ctx, lba + inPlaceStart, i - inPlaceStart, inPlaceStart, source, sourceOffset + inPlaceStart * blockSize);
                inPlaceStart = -1;
            }
        }
        if (inPlaceStart >= 0) {
            writeInPlace(ctx, lba + inPlaceStart, blockCount - inPlaceStart, inPlaceStart, source,
                    sourceOffset + inPlaceStart * blockSize);
        }
    }

    /**
     * Whether the whole run rewrites what the volume holds: one compare of the run (one native
     * {@code memcmp} from 16 KiB, see {@link BlockCompare}) instead of one per block, valid only
     * if no block of the run is pending in a batch (scratch then holds the current contents).
     */
    private boolean identicalRewrite(RunContext ctx, long lba, int blockCount, ByteBuffer source, int sourceOffset,
                                     boolean noSnapshots) {
        if (!Buffers.equal(source, sourceOffset, ctx.scratchView, 0, blockCount * blockSize)) {
            return false;
        }
        if (noSnapshots) {
            return true;
        }
        synchronized (s.meta) {
            for (int i = 0; i < blockCount; i++) {
                if ((committing != null && committing.slotOf(lba + i) >= 0) || filling.slotOf(lba + i) >= 0) {
                    return false;
                }
            }
        }
        return true;
    }

    /** Blocks no snapshot needs and no batch holds: the data device holds exactly scratch there (read while the run holds them). */
    private void writeInPlace(RunContext ctx, long lba, int blockCount, int runIndex, ByteBuffer source, int sourceOffset) {
        source.clear();
        s.data.writeOver(lba, blockCount, source, sourceOffset, ctx.scratch, runIndex * blockSize, false);
        s.meter.issuedWrite(IoCause.HOST, (long) blockCount * blockSize);
    }

    /** Old block at scratch[oldOffset] is preserved; the new block (and the old) wait in a slot of {@code batch}. */
    private void copyOnWrite(RunContext ctx, CowBatch batch, long lba, int oldOffset, ByteBuffer source, int sourceOffset) {
        boolean zero = Buffers.equal(ctx.scratchView, oldOffset, ctx.zerosView, 0, blockSize);
        long hash = zero ? 0 : XX3.hashBytes(ctx.scratch, oldOffset, blockSize);
        long storeBlock = MappingIndex.ZERO_BLOCK;
        int slot;
        synchronized (s.meta) {
            long from = s.index.birthEpoch(lba);
            long to = s.writeEpoch - 1;
            if (!zero) {
                storeBlock = s.freeMap.allocate();
                if (ctx.poolLeft > 0) {
                    ctx.poolLeft--;
                    reservedPool--;
                }
            }
            int entry = s.index.insertNewest(lba, from, to, storeBlock);
            if (ctx.entriesLeft > 0) {
                ctx.entriesLeft--;
                reservedEntries--;
            }
            slot = batch.claim(lba, entry, hash);
            batch.reserved--;
            ctx.slotsUsed++;
        }
        batch.putData(slot, source, sourceOffset);
        batch.putOld(slot, ctx.scratch, oldOffset); // the copy's source: written to the pool at commit
    }

    // ------------------------------------------------------------------ commit

    /**
     * Commits every batch holding a completed write: waits for a commit in progress, then seals
     * and commits the filling batch (if it holds anything). Group commit: concurrent callers
     * share the commits.
     */
    void commitAll() {
        while (true) {
            CowBatch sealed;
            synchronized (s.meta) {
                s.checkNotFailed();
                if (committing != null) {
                    await();
                    continue;
                }
                if (filling.isEmpty()) {
                    return;
                }
                sealed = seal();
            }
            commit(sealed);
            return;
        }
    }

    /** {@link #commitAll}, then the data device is flushed: every write completed before is durable. */
    void flush() {
        commitAll();
        s.data.flush();
    }

    /**
     * Ordering: the batch's runs finished (copies written) → journal record → sync (record and
     * copies durable) → new data to the data device. Falls back to a checkpoint if the journal is
     * full; checkpoints when the journal is half full. Caller sealed {@code batch}.
     */
    private void commit(CowBatch batch) {
        try {
            synchronized (s.meta) {
                while (batch.inFlight > 0) {
                    await();
                }
                s.checkNotFailed(); // a run of this batch failed: its copies may be missing, journal nothing
                if (batch.isEmpty()) {
                    return;
                }
            }
            writeCopies(batch); // before any record of the batch: the sync below makes them durable
            int size = batch.size(); // sealed, no run in flight: stable until cleared below
            List<Long> began = new ArrayList<>((size + entriesPerRecord - 1) / entriesPerRecord);
            for (int first = 0; first < size; first += entriesPerRecord) {
                int count = Math.min(entriesPerRecord, size - first);
                synchronized (s.meta) {
                    JournalRecords.putCowHeader(payload, s.generation, count);
                    for (int k = 0; k < count; k++) {
                        int slot = first + k;
                        int e = batch.entry(slot);
                        JournalRecords.putCowEntry(payload, k, s.index.lba(e), s.index.storeBlock(e),
                                s.index.fromEpoch(e), s.index.toEpoch(e), batch.hash(slot));
                    }
                }
                try {
                    began.add(s.journal.begin(JournalRecords.OP_COW_BATCH, payload));
                } catch (CoreException e) {
                    if (e.code() != CoreError.LOG_FULL) {
                        throw e;
                    }
                    s.openTransactions.addAll(began); // the checkpoint commits the records begun so far
                    checkpoint(); // covers the batch's entries and writes its data
                    return;
                }
            }
            s.syncJournal(); // every record of the batch and every copy durable: one group commit
            s.openTransactions.addAll(began);
            writeBatchData(batch);
            if (s.journalHalfFull()) {
                checkpoint();
            }
        } catch (RuntimeException e) {
            failed(e);
            throw e;
        } finally {
            synchronized (s.meta) {
                batch.clear();
                committing = null;
                s.meta.notifyAll();
            }
        }
    }

    /**
     * Writes the copies of the batch's slots {@code [copiedSlots, size)} to the pool from the
     * slots' old data, then marks them written ({@link CowBatch#copiedSlots}). Slots are claimed
     * and their pool blocks allocated together under {@code meta} ({@link #copyOnWrite}), and
     * {@link StoreFreeMap} allocates from a cursor that only moves forward (until it wraps), so
     * the pool blocks of a batch ascend in slot order and are mostly consecutive: slot order is
     * pool order, no sort is needed. Slots with consecutive pool blocks that are also consecutive
     * slots (their old data is contiguous in memory) go to the store with ONE write straight from
     * the batch's old-data buffer, no byte copied; pool blocks that continue across zero-block
     * slots (no copy, no pool block) are gathered into {@link #copyStaging} (one memory copy per
     * block) and written {@link #COPY_STAGING_BLOCKS} at a time. A RAID-5 store below then gets
     * full-stripe writes (parity computed, no member read) instead of one 4 KiB read-modify-write
     * per copy (2 reads + 2 writes on members), which the runs paid when they wrote each copy.
     *
     * <p>Caller: the committer, after every run of the batch ended (their old data is in the
     * slots: visible through {@code meta}), before the batch's first journal record; or a
     * checkpoint while runs are paused, before its pages. The old data of a slot is written once,
     * by its run, and never changes until the batch is cleared, so no lock is held while it is
     * read. Until the watermark moves a view read finds the copy pending ({@link #copyPending})
     * and reads the data device instead, which still holds the old block.
     */
    private void writeCopies(CowBatch batch) {
        int from;
        int to;
        synchronized (s.meta) {
            from = batch.copiedSlots;
            to = batch.size();
            for (int k = from; k < to; k++) {
                copyPoolBlocks[k] = s.index.storeBlock(batch.entry(k));
            }
        }
        if (from == to) {
            return;
        }
        ByteBuffer old = batch.old().duplicate();
        long poolLba = s.layout.pool().lba();
        long[] pool = copyPoolBlocks;
        int k = from;
        while (k < to) {
            if (pool[k] == MappingIndex.ZERO_BLOCK) {
                k++;
                continue;
            }
            int end = k + 1;
            while (end < to && pool[end] == pool[end - 1] + 1) {
                end++;
            }
            int next = end;
            while (next < to && pool[next] == MappingIndex.ZERO_BLOCK) {
                next++;
            }
            if (next > end && next < to && pool[next] == pool[end - 1] + 1) {
                k = writeGatheredCopies(batch, k, to, poolLba); // the pool run goes on past zero-block slots
                continue;
            }
            writeCopyRun(poolLba + pool[k], end - k, old, batch.dataOffset(k));
            k = end;
        }
        synchronized (s.meta) {
            batch.copiedSlots = to;
        }
    }

    /**
     * Gathers the copies of slots from {@code first} whose pool blocks continue one run (skipping
     * zero-block slots) into {@link #copyStaging}, writing it whenever it is full and at the end
     * of the run; returns the first slot after the run.
     */
    private int writeGatheredCopies(CowBatch batch, int first, int to, long poolLba) {
        long[] pool = copyPoolBlocks;
        ByteBuffer old = batch.old();
        long start = pool[first];
        int staged = 0;
        int k = first;
        for (; k < to; k++) {
            long block = pool[k];
            if (block == MappingIndex.ZERO_BLOCK) {
                continue;
            }
            if (block != start + staged) {
                break;
            }
            copyStaging.put(staged * blockSize, old, batch.dataOffset(k), blockSize);
            if (++staged == COPY_STAGING_BLOCKS) {
                writeCopyRun(poolLba + start, staged, copyStaging, 0);
                start += staged;
                staged = 0;
            }
        }
        if (staged > 0) {
            writeCopyRun(poolLba + start, staged, copyStaging, 0);
        }
        return k;
    }

    /** One store write of {@code blocks} copies at store block {@code storeLba}, metered as COW_COPY. */
    private void writeCopyRun(long storeLba, int blocks, ByteBuffer source, int sourceOffset) {
        s.store.write(storeLba, blocks, source, sourceOffset);
        s.meter.issuedWrite(IoCause.COW_COPY, (long) blocks * blockSize);
    }

    /**
     * Whether {@code entry} (of {@code lba}) is in a batch whose copy is not written to the pool
     * yet. O(1): each batch's {@code lba -> slot} index, never a scan. Such a slot is pending (its
     * new data is not on the data device: {@link #writeBatchData} runs only after the copies),
     * so the data device still holds the old block, the copy's contents. Caller holds meta.
     */
    boolean copyPending(long lba, int entry) {
        return (committing != null && committing.pendingCopySlot(lba, entry) >= 0)
                || filling.pendingCopySlot(lba, entry) >= 0;
    }

    /**
     * Writes a batch's new data, one {@code writeOver} per run of consecutive lbas within one
     * stripe (slots of consecutive lbas are contiguous in the buffers), each holding its blocks
     * in the stripe's lock, marking the slots written before they are released. The batch is either
     * committing with no run in flight, or filling while runs are paused.
     *
     * <p>The runs are announced to the data device first ({@link dev.scemu.core.BlockDevice#announceWrites},
     * md's plug), and the announcement is closed after the last of them: a RAID array below sets
     * the write-intent bits of all of them with one FUA bitmap page write per page, instead of one
     * per run whose region had gone idle. Measured (docs/benchmarks.md, "Scale: spread against
     * confined writes"): on a 576 GiB RAID-5 with spread writes, a commit paid up to one FUA page
     * write on every member per block (JFR: 757 of 2,307 native samples of the writer in
     * {@code msync} under {@code WriteIntentBitmap.persistPage} from here). The announcement
     * changes no ordering: it only makes bits durable earlier, each write still starts its own.
     */
    private void writeBatchData(CowBatch batch) {
        int size = batch.size();
        if (size == 0) {
            return;
        }
        // the runs, as the loop below cuts them (stable: only this method marks slots written)
        int[] runSlot = new int[size];
        long[] runLba = new long[size];
        int[] runBlocks = new int[size];
        int runs = 0;
        int slot = 0;
        while (slot < size) {
            if (batch.isWritten(slot)) {
                slot++; // a checkpoint after the commit: already on the data device (and maybe overwritten since)
                continue;
            }
            long start = batch.lba(slot);
            int run = 1;
            while (slot + run < size && batch.lba(slot + run) == start + run && !batch.isWritten(slot + run)
                    && s.stripes.stripeOf(start + run) == s.stripes.stripeOf(start)) {
                run++;
            }
            runSlot[runs] = slot;
            runLba[runs] = start;
            runBlocks[runs++] = run;
            slot += run;
        }
        if (runs == 0) {
            return;
        }
        ByteBuffer pending = batch.data().duplicate();
        ByteBuffer old = batch.old().duplicate();
        long written = 0;
        try (dev.scemu.core.AnnouncedWrites announced = s.data.announceWrites(runLba, runBlocks, runs)) {
            for (int r = 0; r < runs; r++) {
                int first = runSlot[r];
                long start = runLba[r];
                int run = runBlocks[r];
                s.stripes.lockBlocks(start, run);
                try {
                    s.data.writeOver(start, run, pending, batch.dataOffset(first), old, batch.dataOffset(first), false);
                    synchronized (s.meta) {
                        for (int k = first; k < first + run; k++) {
                            batch.markWritten(k);
                        }
                    }
                } finally {
                    s.stripes.unlockBlocks(start, run);
                }
                written += run;
            }
        }
        s.meter.issuedWrite(IoCause.HOST, written * blockSize);
    }

    /**
     * The second step of a host trim ({@link SnapshotVolumeImpl}): after zeros were written over
     * {@code [lba, lba + blockCount)} through the diff path, passes a trim down to the data device
     * for the blocks that no existing snapshot sees ({@link VolumeState#needsCopy} false) and that
     * have no slot in a batch (committing or filling, written or not). Window by window
     * (a group of {@value StripeLocks#LOCKS} stripes, {@link StripeLocks#blocksToWindowEnd}: one
     * trim call per free run of a window, so a RAID-5 below sees whole stripe rows, not pieces cut
     * at each stripe, which would leave a partial row, written zeros, at each cut) holding every block of the window's stripes, taken in
     * ascending order like a reader's shared ones, so no run or committer works on those blocks meanwhile (a run reads
     * the old blocks and hands them to {@code writeOver}; a trim in between would make a RAID-5
     * below compute parity from stale old data). Caller holds {@code writeGate} shared, so no
     * snapshot is created, deleted or rolled back meanwhile.
     *
     * <p>Why it is safe: such a block holds zeros on the data device (the first step wrote them
     * in place, or a later concurrent write replaced them, which a concurrent trim may legally
     * erase), and no snapshot reads the data device there, so trimming changes no snapshot's view
     * and the live block reads zeros before and after. A crash between the steps, or before the
     * next flush, leaves the block holding its old contents or zeros, exactly what an unflushed
     * trim promises. Blocks whose old data a snapshot still needs keep the first step only: the
     * preserved copy, then written zeros (data).
     */
    void trimUnneeded(long lba, long blockCount) {
        long done = 0;
        boolean[] free = new boolean[(int) Math.min(blockCount, (long) StripeLocks.LOCKS * s.stripes.stripeBlocks())];
        while (done < blockCount) {
            long at = lba + done;
            int window = (int) Math.min(blockCount - done, s.stripes.blocksToWindowEnd(at));
            s.stripes.lockExclusive(at, window);
            try {
                synchronized (s.meta) {
                    for (int i = 0; i < window; i++) {
                        long blockLba = at + i;
                        free[i] = !s.needsCopy(blockLba) && filling.slotOf(blockLba) < 0
                                && (committing == null || committing.slotOf(blockLba) < 0);
                    }
                }
                int i = 0;
                while (i < window) {
                    if (!free[i]) {
                        i++;
                        continue;
                    }
                    int j = i;
                    while (j < window && free[j]) {
                        j++;
                    }
                    s.data.trim(at + i, j - i);
                    i = j;
                }
            } finally {
                s.stripes.unlockExclusive(at, window);
            }
            done += window;
        }
    }

    /** The blocks of {@code [lba, lba + blockCount)} whose new data waits in a batch, ascending. */
    long[] pendingIn(long lba, long blockCount) {
        long end = lba + blockCount;
        java.util.TreeSet<Long> found = new java.util.TreeSet<>();
        synchronized (s.meta) {
            for (CowBatch batch : new CowBatch[] {committing, filling}) {
                if (batch == null) {
                    continue;
                }
                for (int slot = 0; slot < batch.size(); slot++) {
                    long pendingLba = batch.lba(slot);
                    if (pendingLba >= lba && pendingLba < end) {
                        found.add(pendingLba);
                    }
                }
            }
        }
        return found.stream().mapToLong(Long::longValue).toArray();
    }

    /** Whether {@code lba} has new data waiting in a batch. */
    boolean isPending(long lba) {
        synchronized (s.meta) {
            return (committing != null && committing.slotOf(lba) >= 0) || filling.slotOf(lba) >= 0;
        }
    }

    /**
     * Copies the pending new data of {@code [lba, lba + blockCount)} over {@code buffer} (which
     * holds what the data device returned). Caller holds the range's stripes shared.
     */
    void overlayPending(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        synchronized (s.meta) {
            overlay(committing, lba, blockCount, buffer, bufferOffset);
            overlay(filling, lba, blockCount, buffer, bufferOffset);
        }
    }

    private void overlay(CowBatch batch, long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        if (batch == null || batch.isEmpty()) {
            return;
        }
        for (int i = 0; i < blockCount; i++) {
            int slot = batch.slotOf(lba + i);
            if (slot >= 0) {
                buffer.put(bufferOffset + i * blockSize, batch.data(), batch.dataOffset(slot), blockSize);
            }
        }
    }

    // ------------------------------------------------------------------ checkpoint

    /**
     * Whether a checkpoint now would hold anything the newest one does not: every change of the
     * checkpointed state (mapping entries, snapshots, epochs, a running rollback) is either
     * journaled (its transaction stays open until a checkpoint commits it) or checkpointed at once
     * (deletion, rollback's end, a full journal), or still waits in a COW batch. So no open
     * transaction and no batch holding anything means the newest checkpoint is the state, and
     * {@link SnapshotVolumeImpl#close()} has nothing to write. Caller is the only thread using the
     * journal (holds writeGate exclusively).
     */
    boolean changedSinceCheckpoint() {
        synchronized (s.meta) {
            return !s.openTransactions.isEmpty() || committing != null || !filling.isEmpty();
        }
    }

    /**
     * Pauses runs, writes a checkpoint, resumes. Caller is the only thread using the journal (the
     * committer, or a holder of writeGate exclusively) and holds no stripe lock and no run.
     * Ordering: every page, flush, header with FUA (checkpoint durable) → commit the journal
     * transactions it covers → write the data waiting in both batches (their entries are covered).
     */
    void checkpoint() {
        synchronized (s.meta) {
            pauseDepth++;
            while (runsInFlight.get() > 0) {
                await();
            }
        }
        try {
            s.checkNotFailed(); // a run failed: its slot's old data may be missing, checkpoint nothing
            // Stable until the end: no batch is sealed meanwhile. A seal needs committing == null and
            // runs only in enterRun (which waits while pauseDepth > 0) or commitAll (a flush, holding
            // writeGate shared): the committer calls this with its own batch committing, a holder of
            // writeGate exclusively with no writer or flush in flight.
            CowBatch batchCommitting;
            CowBatch batchFilling;
            synchronized (s.meta) {
                batchCommitting = committing;
                batchFilling = filling;
            }
            // every entry the pages reference has its copy written first: Checkpoint.write flushes
            // the store before the header, which makes the copies durable with the pages
            if (batchCommitting != null) {
                writeCopies(batchCommitting);
            }
            writeCopies(batchFilling);
            int region = 1 - s.activeRegion;
            long next = s.generation + 1;
            Checkpoint.write(s.store, s.layout, region, new Checkpoint.State(next, s.writeEpoch, s.nextSnapshotId,
                    List.copyOf(s.snapshots.values()), s.rollbackTarget), s.index, s.freeMap, s.meter);
            s.generation = next;
            s.activeRegion = region;
            if (!s.openTransactions.isEmpty()) {
                for (long txId : s.openTransactions) {
                    s.journal.commit(txId);
                }
                s.openTransactions.clear();
                s.syncJournal();
            }
            s.journalRecordBytesAtCheckpoint = s.journal.recordBytes();
            if (batchCommitting != null) {
                writeBatchData(batchCommitting);
            }
            writeBatchData(batchFilling);
            synchronized (s.meta) {
                batchFilling.clear();
            }
        } finally {
            synchronized (s.meta) {
                pauseDepth--;
                s.meta.notifyAll();
            }
        }
    }
}
