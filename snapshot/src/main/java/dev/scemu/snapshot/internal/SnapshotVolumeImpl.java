package dev.scemu.snapshot.internal;

import dev.scemu.core.AbstractBlockDevice;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.Extent;
import dev.scemu.core.IoCause;
import dev.scemu.core.IoMeter;
import dev.scemu.snapshot.SnapshotConfig;
import dev.scemu.snapshot.SnapshotError;
import dev.scemu.snapshot.SnapshotException;
import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.snapshot.SnapshotVolume;
import dev.scemu.snapshot.StoreFullPolicy;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongSupplier;
import net.openhft.hashing.LongHashFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The snapshot volume: epochs, diff-on-write, batched copy-on-write, checkpoints and recovery.
 *
 * <h2>Model</h2>
 * The volume writes at epoch {@code E = writeEpoch}; snapshot k freezes epoch {@code E} and the
 * volume moves on to {@code E + 1}. A preserved old block is one mapping entry
 * {@code (lba, from, to, storeBlock)} shared by every snapshot in {@code [from, to]}. A snapshot
 * {@code s} reads {@code lba} from the entry whose range holds {@code s}, else from the data device.
 * Invariant: for every existing snapshot {@code s} and block, either an entry holds {@code s}, or
 * the data device block has not changed since {@code s} was created.
 *
 * <h2>Ordering</h2>
 * <ol>
 *   <li>A write of a block some snapshot still needs (its birth epoch {@code <=} the newest
 *       snapshot's epoch): the old block is copied to a free pool block (store, not flushed); the
 *       entry joins the current batch; the new data waits in the batch, readable.</li>
 *   <li>When the batch is full, or on flush/FUA/snapshot/delete/close: ONE journal record with
 *       every entry of the batch (and the xxHash3 of each copy) is begun, then ONE
 *       {@code sync()} writes it and flushes the store, which also makes the copies durable.</li>
 *   <li>Only after that sync returns are the waiting new blocks written to the data device.
 *       Hence on recovery, a journaled entry whose copy does not match its hash was never
 *       followed by its overwrite: it is dropped, and the data device still holds the old block.</li>
 *   <li>Writes no snapshot cares about go straight to the data device.</li>
 *   <li>createSnapshot first commits the batch and flushes the data device, then journals the
 *       snapshot (one record + sync). deleteSnapshot drops dead entries, then writes a checkpoint;
 *       freed pool blocks are reused only after that checkpoint is durable, so no journal record
 *       or checkpoint that still references them can come back.</li>
 *   <li>A checkpoint (delete, close, journal half full) writes the whole mapping state to the
 *       other checkpoint region, flushes, writes its header with FUA, and only then commits the
 *       journal transactions it covers. Journal records carry the checkpoint generation they were
 *       written after; recovery redoes only those of the loaded generation.</li>
 *   <li>Rollback (roll forward after a cut): room for the copies is reserved first (so nothing
 *       can refuse it half-way), then ONE rollback record naming the snapshot is journaled and
 *       synced, and only then is the first block written. While a rollback runs, every
 *       checkpoint carries its snapshot id. After the last block, the data device is flushed and
 *       a checkpoint without the id is written: that checkpoint is the rollback's commit point.
 *       An open that finds a rollback record of the loaded generation, or a checkpoint naming a
 *       rollback, finishes it before anything else (the snapshot's blocks are durable, and
 *       rewriting a block that already holds the snapshot's data is skipped as identical), so
 *       the volume reads as before the rollback or as the snapshot, never a mix.</li>
 *   <li>Intents ({@link VolumeIntents}, in the superblock, one FUA block write each): the
 *       restore-incomplete mark is durable before a restore's first write and cleared only after
 *       the data device was flushed; a temporary snapshot's slot is durable before its snapshot
 *       record and cleared after its deletion's checkpoint; open deletes what the slots name.</li>
 * </ol>
 *
 * <h2>Threads</h2>
 * One read-write lock: reads of the volume and of snapshot views share it; writes and snapshot
 * operations take it exclusively.
 */
public final class SnapshotVolumeImpl extends AbstractBlockDevice implements SnapshotVolume {

    private static final Logger LOG = LoggerFactory.getLogger(SnapshotVolumeImpl.class);
    private static final LongHashFunction XX3 = LongHashFunction.xx3();
    private static final int MAX_RUN_BLOCKS = 64;

    /** How the journal is made (tests may substitute one). */
    static volatile MappingJournal.Factory journalFactory = ExecutionLogJournal.FACTORY;

    private final BlockDevice data;
    private final BlockDevice store;
    private final StoreLayout layout;
    private final MappingJournal journal;
    private final MappingIndex index;
    private final StoreFreeMap freeMap;
    private final CowBatch batch;
    /** COW copies of the current run not yet written to the store (see {@link #queueCopy}). */
    private long queuedCopyStoreBlock;
    private int queuedCopyScratchOffset;
    private int queuedCopyBlocks;
    private final int blockSize;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final TreeMap<Long, SnapshotInfo> snapshots = new TreeMap<>();
    private final Map<Long, SnapshotView> views = new ConcurrentHashMap<>();
    private final List<Long> openTransactions = new ArrayList<>();
    private final ByteBuffer scratch;
    private final ByteBuffer scratchView;
    private final ByteBuffer zeros;
    private final ByteBuffer batchView;
    private final ByteBuffer zerosView;
    private final ByteBuffer payload;
    private final ByteBuffer copyBuffer;
    private final long journalBytesPerCheckpoint;

    private long[] liveEpochs = new long[0];
    private long writeEpoch;
    private long nextSnapshotId = 1;
    private long generation;
    private int activeRegion;
    private long journalRecordBytesAtCheckpoint;
    private long journalBytesReported;
    private volatile RuntimeException failure;
    /** The superblock's intents as last written (guarded by the write lock). */
    private VolumeIntents intents = VolumeIntents.NONE;
    /** Snapshot id a rollback is restoring (0 when none runs); carried by every checkpoint meanwhile. */
    private long rollbackTarget;
    private SnapshotInfo resumedRollback;
    private final List<SnapshotInfo> removedTemporaries = new ArrayList<>();

    private SnapshotVolumeImpl(BlockDevice data, BlockDevice store, StoreLayout layout, MappingJournal journal) {
        super("snap(" + data.name() + ")", data.geometry());
        this.data = data;
        this.store = store;
        this.layout = layout;
        this.journal = journal;
        this.blockSize = data.blockSize();
        // the log wrote these while it was formatted or opened: count them now, not at the first sync
        this.journalBytesReported = journal.bytesWritten();
        if (journalBytesReported > 0) {
            meter().issuedWrite(IoCause.JOURNAL, journalBytesReported);
        }
        MappingIndex createdIndex = new MappingIndex(layout.maxMappingEntries());
        try {
            this.freeMap = new StoreFreeMap(layout.pool().blockCount());
        } catch (RuntimeException e) {
            createdIndex.release();
            throw e;
        }
        this.index = createdIndex;
        int perRecord = JournalRecords.cowEntriesPerRecord(journal.maxPayloadBytes());
        if (perRecord < 1) {
            throw new SnapshotException(SnapshotError.INVALID_CONFIGURATION,
                    "journal payloads of " + journal.maxPayloadBytes() + " bytes hold no COW entry");
        }
        this.batch = new CowBatch(Math.min(layout.cowBatchBlocks(), perRecord), blockSize);
        this.batchView = batch.data().duplicate();
        this.scratch = Buffers.allocateAligned(MAX_RUN_BLOCKS * blockSize);
        this.scratchView = scratch.duplicate();
        this.zeros = Buffers.allocateAligned(MAX_RUN_BLOCKS * blockSize);
        this.zerosView = zeros.duplicate();
        this.payload = ByteBuffer.allocateDirect(journal.maxPayloadBytes()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        this.copyBuffer = Buffers.allocateAligned(MAX_RUN_BLOCKS * blockSize);
        // checkpoint when the records since the last checkpoint fill half of the ring
        this.journalBytesPerCheckpoint = Math.max(1, (layout.log().blockCount() - 2) / 2) * (long) (blockSize - 40);
    }

    // ------------------------------------------------------------------ format / open

    public static SnapshotVolume format(BlockDevice data, BlockDevice store, SnapshotConfig config) {
        checkDevices(data, store);
        UUID volumeId = UUID.randomUUID();
        StoreLayout layout = StoreLayout.compute(data.blockSize(), data.blockCount(), store.blockCount(), config,
                volumeId.getMostSignificantBits(), volumeId.getLeastSignificantBits(), System.currentTimeMillis());
        MappingJournal journal = journalFactory.format(store, layout.log());
        SnapshotVolumeImpl volume = new SnapshotVolumeImpl(data, store, layout, journal);
        try {
            // Ordering: checkpoint B (generation 0, empty), checkpoint A (generation 1), then the superblock.
            Checkpoint.writeEmpty(store, layout, 1, 0, volume.meter());
            volume.generation = 0;
            volume.activeRegion = 1;
            volume.writeCheckpoint();
            ByteBuffer block = ByteBuffer.allocateDirect(layout.blockSize());
            layout.encode(block, VolumeIntents.NONE);
            store.write(0, 1, block, 0, true);
            volume.meter().issuedWrite(IoCause.METADATA, layout.blockSize());
            return volume;
        } catch (RuntimeException e) {
            volume.releaseMemory();
            throw e;
        }
    }

    public static SnapshotVolume open(BlockDevice data, BlockDevice store) {
        checkDevices(data, store);
        ByteBuffer block = ByteBuffer.allocateDirect(store.blockSize());
        store.read(0, 1, block, 0);
        StoreLayout layout = StoreLayout.decode(block, store.blockSize(), store.blockCount());
        VolumeIntents intents = VolumeIntents.decode(block);
        if (layout.dataBlockCount() != data.blockCount()) {
            throw new SnapshotException(SnapshotError.INVALID_CONFIGURATION, "store was formatted for a data device of "
                    + layout.dataBlockCount() + " blocks, this one has " + data.blockCount());
        }
        // Read-only until every check passed: headers, pages, journal records.
        long generationA = Checkpoint.headerGeneration(store, layout, 0, block);
        long generationB = Checkpoint.headerGeneration(store, layout, 1, block);
        int region = generationA >= generationB ? 0 : 1;
        MappingJournal journal;
        try {
            journal = journalFactory.open(store, layout.log());
        } catch (CoreException e) {
            // INVALID_ARGUMENT: a log header whose geometry differs from the region the superblock gives it;
            // LOG_CORRUPTED: a damaged log block with durable blocks after it (not a torn tail)
            if (e.code() == CoreError.CORRUPT_RECORD || e.code() == CoreError.INVALID_ARGUMENT
                    || e.code() == CoreError.LOG_CORRUPTED) {
                throw new SnapshotException(SnapshotError.CORRUPT_METADATA, "execution log: " + e.getMessage(), e);
            }
            throw e;
        }
        SnapshotVolumeImpl volume = new SnapshotVolumeImpl(data, store, layout, journal);
        volume.intents = intents;
        try {
            volume.load(region);
            volume.finishInterruptedWork();
            return volume;
        } catch (RuntimeException e) {
            volume.releaseMemory();
            throw e;
        }
    }

    private static void checkDevices(BlockDevice data, BlockDevice store) {
        if (data.blockSize() != store.blockSize()) {
            throw new SnapshotException(SnapshotError.INVALID_CONFIGURATION, "data block size " + data.blockSize()
                    + " != store block size " + store.blockSize());
        }
        if (data.blockCount() < 1 || data.blockCount() > 0xFFFF_FFFF_FFFFL) {
            throw new SnapshotException(SnapshotError.INVALID_CONFIGURATION, "data device of " + data.blockCount() + " blocks");
        }
    }

    /** Loads checkpoint {@code region}, then redoes the journal transactions written after it. */
    private void load(int region) {
        Checkpoint.State state = Checkpoint.read(store, layout, region, index, freeMap, meter());
        generation = state.generation();
        activeRegion = region;
        writeEpoch = state.writeEpoch();
        nextSnapshotId = state.nextSnapshotId();
        rollbackTarget = state.rollbackSnapshotId();
        for (SnapshotInfo info : state.snapshots()) {
            if (info.epoch() >= writeEpoch || snapshots.put(info.id(), info) != null || info.id() >= nextSnapshotId) {
                throw PageSeal.corrupt("checkpoint snapshot " + info + " is inconsistent with write epoch " + writeEpoch);
            }
        }
        refreshLiveEpochs();
        List<MappingJournal.JournalTx> unfinished = journal.unfinished();
        int redone = 0;
        int dropped = 0;
        ByteBuffer block = ByteBuffer.allocateDirect(blockSize);
        for (MappingJournal.JournalTx tx : unfinished) {
            ByteBuffer p = tx.payload();
            if (p.remaining() < 16) {
                throw JournalRecords.corrupt(tx.id(), "is too short (" + p.remaining() + " bytes)");
            }
            long base = JournalRecords.baseGeneration(p);
            if (base > generation) {
                throw JournalRecords.corrupt(tx.id(), "builds on checkpoint generation " + base + " > " + generation);
            }
            if (tx.opType() == JournalRecords.OP_COW_BATCH) {
                int count = JournalRecords.checkCow(p, tx.id());
                if (base != generation) {
                    continue;
                }
                for (int i = 0; i < count; i++) {
                    long lba = JournalRecords.cowLba(p, i);
                    long storeBlock = JournalRecords.cowStoreBlock(p, i);
                    long from = JournalRecords.cowFromEpoch(p, i);
                    long to = JournalRecords.cowToEpoch(p, i);
                    if (lba < 0 || lba >= layout.dataBlockCount() || storeBlock < MappingIndex.ZERO_BLOCK
                            || storeBlock >= layout.pool().blockCount() || from > to) {
                        throw JournalRecords.corrupt(tx.id(), "entry " + i + " (lba " + lba + ", store block "
                                + storeBlock + ", epochs [" + from + ", " + to + "]) is out of range");
                    }
                    if (storeBlock != MappingIndex.ZERO_BLOCK) {
                        store.read(layout.pool().lba() + storeBlock, 1, block, 0);
                        meter().issuedRead(IoCause.COW_COPY, blockSize);
                        if (XX3.hashBytes(block, 0, blockSize) != JournalRecords.cowHash(p, i)) {
                            dropped++;
                            continue; // the copy never became durable, so the overwrite never happened
                        }
                        freeMap.markUsed(storeBlock);
                    }
                    index.insertNewest(lba, from, to, storeBlock);
                    writeEpoch = Math.max(writeEpoch, to + 1);
                    redone++;
                }
            } else if (tx.opType() == JournalRecords.OP_SNAPSHOT) {
                JournalRecords.SnapshotRecord record = JournalRecords.decodeSnapshot(p, tx.id());
                if (base != generation) {
                    continue;
                }
                if (record.epoch() < writeEpoch || snapshots.containsKey(record.id()) || record.id() < nextSnapshotId) {
                    throw JournalRecords.corrupt(tx.id(), "snapshot " + record + " conflicts with write epoch " + writeEpoch);
                }
                snapshots.put(record.id(), new SnapshotInfo(record.id(), record.name(),
                        Instant.ofEpochMilli(record.createdAtMillis()), record.epoch()));
                writeEpoch = record.epoch() + 1;
                nextSnapshotId = record.id() + 1;
                redone++;
            } else if (tx.opType() == JournalRecords.OP_ROLLBACK) {
                JournalRecords.RollbackRecord record = JournalRecords.decodeRollback(p, tx.id());
                if (base != generation) {
                    continue; // a later checkpoint says whether the rollback was still running
                }
                SnapshotInfo target = snapshots.get(record.snapshotId());
                if (target == null || target.epoch() != record.epoch()) {
                    throw JournalRecords.corrupt(tx.id(), "rolls back to snapshot " + record.snapshotId() + " epoch "
                            + record.epoch() + ", which does not exist (snapshots " + snapshots.values() + ")");
                }
                rollbackTarget = record.snapshotId();
                redone++;
            } else {
                throw JournalRecords.corrupt(tx.id(), "has unknown operation type " + tx.opType());
            }
        }
        refreshLiveEpochs();
        if (!unfinished.isEmpty()) {
            LOG.info("{}: recovered {} journal transactions ({} items redone, {} uncopied entries dropped)",
                    name(), unfinished.size(), redone, dropped);
            for (MappingJournal.JournalTx tx : unfinished) {
                openTransactions.add(tx.id());
            }
            writeCheckpoint();
        }
    }

    /**
     * After every check passed and the journal was redone: finishes a rollback a cut interrupted,
     * then deletes the temporary snapshots a cut left behind.
     */
    private void finishInterruptedWork() {
        lock.writeLock().lock();
        try {
            if (rollbackTarget != 0) {
                SnapshotInfo target = existing(rollbackTarget);
                LOG.warn("{}: a rollback to snapshot {} was interrupted; finishing it", name(), target);
                runRollback(target);
                resumedRollback = target;
            }
            if (!intents.temporaries().isEmpty()) {
                for (VolumeIntents.Temporary t : intents.temporaries()) {
                    for (SnapshotInfo info : List.copyOf(snapshots.values())) {
                        boolean named = t.snapshotId() != 0 ? info.id() == t.snapshotId()
                                : info.id() >= t.idFloor() && info.name().equals(t.name());
                        if (named) {
                            LOG.warn("{}: removing temporary snapshot {} left by an interrupted operation", name(), info);
                            deleteLocked(info.id());
                            removedTemporaries.add(info);
                        }
                    }
                }
                writeIntents(intents.withTemporaries(List.of()));
            }
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Writes the superblock with {@code next} intents, FUA: durable (and atomic) on return. */
    private void writeIntents(VolumeIntents next) {
        ByteBuffer block = ByteBuffer.allocateDirect(blockSize);
        layout.encode(block, next);
        store.write(0, 1, block, 0, true);
        meter().issuedWrite(IoCause.METADATA, blockSize);
        intents = next;
    }

    @Override
    public void markRestoreIncomplete(String note) {
        lock.writeLock().lock();
        try {
            checkUsable();
            writeIntents(intents.withRestore(true, note));
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public void clearRestoreIncomplete() {
        lock.writeLock().lock();
        try {
            checkUsable();
            flushLocked(); // Ordering: every restored block durable before the mark goes
            if (intents.restoreIncomplete()) {
                writeIntents(intents.withRestore(false, ""));
            }
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public Optional<String> restoreIncomplete() {
        lock.readLock().lock();
        try {
            return intents.restoreIncomplete() ? Optional.of(intents.restoreNote()) : Optional.empty();
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public OpenRecovery recoveredAtOpen() {
        lock.readLock().lock();
        try {
            return new OpenRecovery(Optional.ofNullable(resumedRollback), List.copyOf(removedTemporaries));
        } finally {
            lock.readLock().unlock();
        }
    }

    // ------------------------------------------------------------------ block device

    @Override
    protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        lock.readLock().lock();
        try {
            checkUsable();
            data.read(lba, blockCount, buffer, bufferOffset);
            meter().issuedRead(IoCause.HOST, (long) blockCount * blockSize);
            for (int slot = 0; slot < batch.size(); slot++) {
                long pending = batch.lba(slot);
                if (pending >= lba && pending < lba + blockCount) {
                    buffer.put(bufferOffset + (int) (pending - lba) * blockSize, batch.data(), batch.dataOffset(slot), blockSize);
                }
            }
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        lock.writeLock().lock();
        try {
            checkUsable();
            ByteBuffer source = buffer.duplicate();
            if (blockCount > freeMap.freeCount() || blockCount > index.freeEntries()) {
                // slow path, only when space is short: count exactly (identical blocks need no copy)
                ensureRoom(() -> copiesNeeded(lba, blockCount, source, bufferOffset), -1);
            }
            writeLocked(lba, blockCount, source, bufferOffset);
            if (fua) {
                flushLocked();
            }
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    protected void doFlush() {
        lock.writeLock().lock();
        try {
            checkUsable();
            flushLocked();
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** What the live volume holds, from its data device and COW batch ({@link SnapshotAllocation}). */
    @Override
    public void mapAllocation(long lba, long blockCount, dev.scemu.core.AllocationSink sink) {
        geometry().checkRange(lba, blockCount);
        SnapshotAllocation.deliver(collectAllocation(-1, lba, blockCount), sink);
    }

    /** What snapshot {@code snapshotId} holds, not what the live volume holds now (its view's map). */
    void mapSnapshot(long snapshotId, long lba, long blockCount, dev.scemu.core.AllocationSink sink) {
        SnapshotAllocation.deliver(collectAllocation(snapshotId, lba, blockCount), sink);
    }

    private List<SnapshotAllocation.Run> collectAllocation(long snapshotId, long lba, long blockCount) {
        lock.readLock().lock();
        try {
            checkUsable();
            return snapshotId < 0 ? SnapshotAllocation.live(data, batch, lba, blockCount)
                    : SnapshotAllocation.snapshot(data, index, existing(snapshotId).epoch(), lba, blockCount);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Trim = writing zeros through the diff path (zeros already there cost nothing; snapshots keep the old data). */
    @Override
    protected void doTrim(long lba, long blockCount) {
        lock.writeLock().lock();
        try {
            checkUsable();
            long done = 0;
            while (done < blockCount) {
                int run = (int) Math.min(MAX_RUN_BLOCKS, blockCount - done);
                long at = lba + done;
                ByteBuffer source = zeros.duplicate();
                if (run > freeMap.freeCount() || run > index.freeEntries()) {
                    ensureRoom(() -> copiesNeeded(at, run, source, 0), -1);
                }
                writeLocked(at, run, source, 0);
                done += run;
            }
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    protected void doClose() {
        lock.writeLock().lock();
        try {
            if (failure == null) {
                try {
                    writeCheckpoint();
                    data.flush();
                } catch (RuntimeException e) {
                    LOG.warn("{}: final checkpoint failed; the journal will be redone at open: {}", name(), e.toString());
                }
            }
            views.values().forEach(SnapshotView::close);
            views.clear();
            if (failure == null) {
                journal.close();
            } // else abandon it: closing would sync records of a session the medium no longer matches
            releaseMemory();
        } finally {
            lock.writeLock().unlock();
        }
    }

    private void releaseMemory() {
        index.release();
        freeMap.release();
    }

    // ------------------------------------------------------------------ write path

    /**
     * Writes {@code blockCount} blocks through the diff/COW path. Caller holds the write lock and has
     * reserved room for the copies. {@code source} is a private view (its position/limit change).
     */
    private void writeLocked(long lba, int blockCount, ByteBuffer source, int sourceOffset) {
        int done = 0;
        while (done < blockCount) {
            int run = Math.min(Math.min(MAX_RUN_BLOCKS, batch.capacity()), blockCount - done);
            if (batch.room() < run) {
                commitBatch(); // never mid-run: the old data read below must stay current for the whole run
            }
            writeRun(lba + done, run, source, sourceOffset + done * blockSize);
            done += run;
        }
    }

    private void writeRun(long lba, int blockCount, ByteBuffer source, int sourceOffset) {
        data.read(lba, blockCount, scratch, 0);
        meter().issuedRead(IoCause.HOST, (long) blockCount * blockSize);
        try {
            writeRunBlocks(lba, blockCount, source, sourceOffset);
        } finally {
            writeQueuedCopies(); // before any commit: the journal sync must find the copies written
        }
    }

    private void writeRunBlocks(long lba, int blockCount, ByteBuffer source, int sourceOffset) {
        int inPlaceStart = -1;
        for (int i = 0; i < blockCount; i++) {
            long blockLba = lba + i;
            int at = sourceOffset + i * blockSize;
            int slot = batch.slotOf(blockLba);
            boolean inPlace = false;
            if (slot >= 0) {
                if (Buffers.equal(source, at, batchView, batch.dataOffset(slot), blockSize)) {
                    meter().skippedWrite(blockSize);
                } else {
                    batch.replaceData(slot, source.clear(), at);
                }
            } else if (Buffers.equal(source, at, scratchView, i * blockSize, blockSize)) {
                meter().skippedWrite(blockSize);
            } else if (needsCopy(blockLba)) {
                copyOnWrite(blockLba, i * blockSize, source.clear(), at);
            } else {
                inPlace = true;
            }
            if (inPlace && inPlaceStart < 0) {
                inPlaceStart = i;
            } else if (!inPlace && inPlaceStart >= 0) {
                writeData(lba + inPlaceStart, i - inPlaceStart, source, sourceOffset + inPlaceStart * blockSize);
                inPlaceStart = -1;
            }
        }
        if (inPlaceStart >= 0) {
            writeData(lba + inPlaceStart, blockCount - inPlaceStart, source, sourceOffset + inPlaceStart * blockSize);
        }
    }

    private void writeData(long lba, int blockCount, ByteBuffer source, int sourceOffset) {
        source.clear();
        data.write(lba, blockCount, source, sourceOffset);
        meter().issuedWrite(IoCause.HOST, (long) blockCount * blockSize);
    }

    /** Whether the live block at {@code lba} is seen by an existing snapshot (all snapshots are older than writeEpoch). */
    private boolean needsCopy(long lba) {
        int count = liveEpochs.length;
        return count > 0 && index.birthEpoch(lba) <= liveEpochs[count - 1];
    }

    /** Old block at scratch[oldOffset] is preserved; the new block waits in the batch. */
    private void copyOnWrite(long lba, int oldOffset, ByteBuffer source, int sourceOffset) {
        long from = index.birthEpoch(lba);
        long to = writeEpoch - 1;
        long storeBlock = MappingIndex.ZERO_BLOCK;
        long hash = 0;
        if (!Buffers.equal(scratchView, oldOffset, zerosView, 0, blockSize)) {
            storeBlock = freeMap.allocate();
            queueCopy(storeBlock, oldOffset);
            hash = XX3.hashBytes(scratch, oldOffset, blockSize);
        }
        int entry = index.insertNewest(lba, from, to, storeBlock);
        batch.add(lba, entry, hash, source, sourceOffset);
    }

    /**
     * Ordering: journal record of the batch → sync (record and copies durable) → new data to the
     * data device. Falls back to a checkpoint if the journal is full.
     */
    private void commitBatch() {
        if (batch.isEmpty()) {
            return;
        }
        JournalRecords.putCowHeader(payload, generation, batch.size());
        for (int slot = 0; slot < batch.size(); slot++) {
            int e = batch.entry(slot);
            JournalRecords.putCowEntry(payload, slot, index.lba(e), index.storeBlock(e), index.fromEpoch(e),
                    index.toEpoch(e), batch.hash(slot));
        }
        long txId;
        try {
            txId = journal.begin(JournalRecords.OP_COW_BATCH, payload);
        } catch (CoreException e) {
            if (e.code() != CoreError.LOG_FULL) {
                throw e;
            }
            writeCheckpoint(); // covers the batch's entries and writes its data
            return;
        }
        syncJournal();
        openTransactions.add(txId);
        writeBatchData();
        if (journalHalfFull()) {
            writeCheckpoint();
        }
    }

    /**
     * Copies of one run waiting to be written to the store: old blocks at consecutive scratch
     * offsets going to consecutive store blocks are written with one store write (a RAID-5 store
     * then gets full-stripe writes instead of one read-modify-write per 4 KiB block). Written at
     * the end of every {@link #writeRun} (scratch is reread by the next run), so always before the
     * journal sync of the batch that records them.
     */
    private void queueCopy(long storeBlock, int scratchOffset) {
        if (queuedCopyBlocks > 0 && storeBlock == queuedCopyStoreBlock + queuedCopyBlocks
                && scratchOffset == queuedCopyScratchOffset + queuedCopyBlocks * blockSize) {
            queuedCopyBlocks++;
            return;
        }
        writeQueuedCopies();
        queuedCopyStoreBlock = storeBlock;
        queuedCopyScratchOffset = scratchOffset;
        queuedCopyBlocks = 1;
    }

    private void writeQueuedCopies() {
        int blocks = queuedCopyBlocks;
        if (blocks == 0) {
            return;
        }
        queuedCopyBlocks = 0;
        store.write(layout.pool().lba() + queuedCopyStoreBlock, blocks, scratch, queuedCopyScratchOffset);
        meter().issuedWrite(IoCause.COW_COPY, (long) blocks * blockSize);
    }

    /** Writes the batch's new data, one write per run of consecutive lbas (slots are contiguous in the buffer). */
    private void writeBatchData() {
        ByteBuffer pending = batch.data();
        int size = batch.size();
        int slot = 0;
        while (slot < size) {
            long start = batch.lba(slot);
            int run = 1;
            while (slot + run < size && batch.lba(slot + run) == start + run) {
                run++;
            }
            data.write(start, run, pending, batch.dataOffset(slot));
            slot += run;
        }
        meter().issuedWrite(IoCause.HOST, (long) batch.size() * blockSize);
        batch.clear();
    }

    private boolean journalHalfFull() {
        return journal.recordBytes() - journalRecordBytesAtCheckpoint >= journalBytesPerCheckpoint;
    }

    private void syncJournal() {
        journal.sync();
        long written = journal.bytesWritten();
        meter().issuedWrite(IoCause.JOURNAL, written - journalBytesReported);
        journalBytesReported = written;
    }

    private void flushLocked() {
        commitBatch();
        data.flush();
    }

    /**
     * Ordering: every page, flush, header with FUA (checkpoint durable) → commit the journal
     * transactions it covers → write any waiting batch data.
     */
    private void writeCheckpoint() {
        int region = 1 - activeRegion;
        long next = generation + 1;
        Checkpoint.write(store, layout, region, new Checkpoint.State(next, writeEpoch, nextSnapshotId,
                List.copyOf(snapshots.values()), rollbackTarget), index, freeMap, meter());
        generation = next;
        activeRegion = region;
        if (!openTransactions.isEmpty()) {
            for (long txId : openTransactions) {
                journal.commit(txId);
            }
            openTransactions.clear();
            syncJournal();
        }
        journalRecordBytesAtCheckpoint = journal.recordBytes();
        if (!batch.isEmpty()) {
            writeBatchData();
        }
    }

    // ------------------------------------------------------------------ store-full policy

    /**
     * Copies a write of {@code source} may need: blocks a snapshot needs that are not pending and
     * differ from the stored block (conservative only for old blocks of zeros, which need an
     * entry but no pool block).
     */
    private long copiesNeeded(long lba, int blockCount, ByteBuffer source, int sourceOffset) {
        if (liveEpochs.length == 0) {
            return 0;
        }
        long needed = 0;
        for (int done = 0; done < blockCount; done += MAX_RUN_BLOCKS) {
            int run = Math.min(MAX_RUN_BLOCKS, blockCount - done);
            data.read(lba + done, run, copyBuffer, 0);
            meter().issuedRead(IoCause.HOST, (long) run * blockSize);
            ByteBuffer old = copyBuffer.duplicate();
            for (int i = 0; i < run; i++) {
                long blockLba = lba + done + i;
                if (needsCopy(blockLba) && batch.slotOf(blockLba) < 0
                        && !Buffers.equal(source, sourceOffset + (done + i) * blockSize, old, i * blockSize, blockSize)) {
                    needed++;
                }
            }
        }
        return needed;
    }

    private void ensureRoom(LongSupplier copiesNeeded, long protectedSnapshotId) {
        while (true) {
            long needed = copiesNeeded.getAsLong();
            if (needed <= freeMap.freeCount() && needed <= index.freeEntries()) {
                return;
            }
            Long victim = null;
            if (layout.storeFullPolicy() == StoreFullPolicy.INVALIDATE_OLDEST) {
                for (Long id : snapshots.keySet()) {
                    if (id != protectedSnapshotId) {
                        victim = id;
                        break;
                    }
                }
            }
            if (victim == null) {
                throw new SnapshotException(SnapshotError.STORE_FULL, "write needs up to " + needed
                        + " snapshot store blocks but " + freeMap.freeCount() + " of " + freeMap.blockCount()
                        + " blocks and " + index.freeEntries() + " mapping entries are free (policy "
                        + layout.storeFullPolicy() + ", " + snapshots.size() + " snapshots); nothing was written");
            }
            LOG.warn("{}: snapshot store full, invalidating oldest snapshot {}", name(), snapshots.get(victim));
            deleteLocked(victim);
        }
    }

    // ------------------------------------------------------------------ snapshots

    private static void checkName(String name) {
        byte[] nameBytes = name == null ? new byte[0] : name.getBytes(StandardCharsets.UTF_8);
        if (nameBytes.length == 0 || nameBytes.length > SnapshotConfig.MAX_SNAPSHOT_NAME_BYTES) {
            throw new SnapshotException(SnapshotError.INVALID_NAME, "snapshot name '" + name + "' must be 1.."
                    + SnapshotConfig.MAX_SNAPSHOT_NAME_BYTES + " UTF-8 bytes, is " + nameBytes.length);
        }
    }

    @Override
    public SnapshotInfo createSnapshot(String name) {
        checkName(name);
        lock.writeLock().lock();
        try {
            checkUsable();
            return createLocked(name);
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Ordering: the slot (id floor, name) is durable before the snapshot record, so a cut at any
     * point leaves either no snapshot or one the next open finds and deletes.
     */
    @Override
    public SnapshotInfo createTemporarySnapshot(String name) {
        checkName(name);
        lock.writeLock().lock();
        try {
            checkUsable();
            if (intents.temporaries().size() >= VolumeIntents.MAX_TEMPORARIES) {
                throw new SnapshotException(SnapshotError.TOO_MANY_SNAPSHOTS, "already "
                        + intents.temporaries().size() + " temporary snapshots (max " + VolumeIntents.MAX_TEMPORARIES
                        + "): " + intents.temporaries());
            }
            if (snapshots.size() >= layout.maxSnapshots()) {
                throw new SnapshotException(SnapshotError.TOO_MANY_SNAPSHOTS, "volume already has "
                        + snapshots.size() + " snapshots (max " + layout.maxSnapshots() + ")");
            }
            checkNameFree(name);
            VolumeIntents.Temporary pending = new VolumeIntents.Temporary(nextSnapshotId, 0, name);
            List<VolumeIntents.Temporary> slots = new ArrayList<>(intents.temporaries());
            slots.add(pending);
            writeIntents(intents.withTemporaries(slots));
            SnapshotInfo info = createLocked(name);
            slots.set(slots.indexOf(pending), new VolumeIntents.Temporary(pending.idFloor(), info.id(), name));
            writeIntents(intents.withTemporaries(slots));
            return info;
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public void makePermanent(long snapshotId) {
        lock.writeLock().lock();
        try {
            checkUsable();
            existing(snapshotId);
            List<VolumeIntents.Temporary> slots = new ArrayList<>(intents.temporaries());
            if (slots.removeIf(t -> t.snapshotId() == snapshotId)) {
                writeIntents(intents.withTemporaries(slots));
            }
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Names are unique within a volume: a second snapshot of one name is refused before anything is written. */
    private void checkNameFree(String name) {
        if (snapshots.values().stream().anyMatch(info -> info.name().equals(name))) {
            throw new SnapshotException(SnapshotError.DUPLICATE_NAME, "a snapshot named '" + name + "' already exists");
        }
    }

    private SnapshotInfo createLocked(String name) {
        checkNameFree(name);
        if (snapshots.size() >= layout.maxSnapshots()) {
            throw new SnapshotException(SnapshotError.TOO_MANY_SNAPSHOTS, "volume already has "
                    + snapshots.size() + " snapshots (max " + layout.maxSnapshots() + ")");
        }
        if (writeEpoch >= 0xFFFF_FFFEL) {
            throw new SnapshotException(SnapshotError.TOO_MANY_SNAPSHOTS, "epoch counter exhausted at " + writeEpoch);
        }
        // Ordering: pending COW batch and data device durable first, then the snapshot record.
        flushLocked();
        SnapshotInfo info = new SnapshotInfo(nextSnapshotId, name, Instant.ofEpochMilli(System.currentTimeMillis()), writeEpoch);
        ByteBuffer record = JournalRecords.snapshotPayload(generation, info.id(), info.epoch(),
                info.createdAt().toEpochMilli(), name);
        long txId = beginOrCheckpoint(JournalRecords.OP_SNAPSHOT, record, info);
        if (txId >= 0) {
            syncJournal();
            openTransactions.add(txId);
        }
        if (journalHalfFull()) {
            writeCheckpoint();
        }
        return info;
    }

    /** Journals a snapshot; on a full journal, applies it and checkpoints instead (returns -1). */
    private long beginOrCheckpoint(int opType, ByteBuffer record, SnapshotInfo info) {
        long txId = -1;
        try {
            txId = journal.begin(opType, record);
        } catch (CoreException e) {
            if (e.code() != CoreError.LOG_FULL) {
                throw e;
            }
        }
        snapshots.put(info.id(), info);
        nextSnapshotId = info.id() + 1;
        writeEpoch = info.epoch() + 1;
        refreshLiveEpochs();
        if (txId < 0) {
            writeCheckpoint();
        }
        return txId;
    }

    @Override
    public List<SnapshotInfo> listSnapshots() {
        lock.readLock().lock();
        try {
            return List.copyOf(snapshots.values());
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public SnapshotInfo snapshotInfo(long snapshotId) {
        lock.readLock().lock();
        try {
            return existing(snapshotId);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public BlockDevice snapshot(long snapshotId) {
        lock.readLock().lock();
        try {
            checkUsable();
            SnapshotInfo info = existing(snapshotId);
            return views.compute(snapshotId, (id, view) ->
                    view == null || view.isClosed() ? new SnapshotView(this, id, info.name()) : view);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public void deleteSnapshot(long snapshotId) {
        lock.writeLock().lock();
        try {
            checkUsable();
            existing(snapshotId);
            deleteLocked(snapshotId);
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Ordering: commit the batch, drop dead entries in memory, checkpoint; freed blocks reusable after. */
    private void deleteLocked(long snapshotId) {
        commitBatch();
        snapshots.remove(snapshotId);
        refreshLiveEpochs();
        SnapshotView view = views.remove(snapshotId);
        if (view != null) {
            view.close();
        }
        long[] epochs = liveEpochs;
        index.removeIf(e -> !anyEpochIn(epochs, index.fromEpoch(e), index.toEpoch(e)), e -> {
            long storeBlock = index.storeBlock(e);
            if (storeBlock != MappingIndex.ZERO_BLOCK) {
                freeMap.markFree(storeBlock);
            }
        });
        writeCheckpoint();
        // Ordering: a temporary snapshot's slot goes only after its deletion is durable
        List<VolumeIntents.Temporary> slots = new ArrayList<>(intents.temporaries());
        if (slots.removeIf(t -> t.snapshotId() == snapshotId)) {
            writeIntents(intents.withTemporaries(slots));
        }
    }

    private static boolean anyEpochIn(long[] sortedEpochs, long from, long to) {
        int at = Arrays.binarySearch(sortedEpochs, from);
        int ceiling = at >= 0 ? at : -at - 1;
        return ceiling < sortedEpochs.length && sortedEpochs[ceiling] <= to;
    }

    private void refreshLiveEpochs() {
        long[] epochs = new long[snapshots.size()];
        int i = 0;
        for (SnapshotInfo info : snapshots.values()) {
            epochs[i++] = info.epoch();
        }
        Arrays.sort(epochs);
        liveEpochs = epochs;
    }

    private SnapshotInfo existing(long snapshotId) {
        SnapshotInfo info = snapshots.get(snapshotId);
        if (info == null) {
            throw new SnapshotException(SnapshotError.UNKNOWN_SNAPSHOT, "no snapshot with id " + snapshotId
                    + " (existing: " + snapshots.keySet() + ")");
        }
        return info;
    }

    /** Reads blocks of a snapshot view. */
    void readSnapshot(long snapshotId, long lba, int blockCount, ByteBuffer buffer, int bufferOffset, IoMeter viewMeter) {
        lock.readLock().lock();
        try {
            checkUsable();
            readSnapshotLocked(existing(snapshotId).epoch(), lba, blockCount, buffer, bufferOffset);
            viewMeter.issuedRead(IoCause.HOST, (long) blockCount * blockSize);
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            lock.readLock().unlock();
        }
    }

    private void readSnapshotLocked(long epoch, long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        int runStart = -1;
        for (int i = 0; i <= blockCount; i++) {
            int entry = i < blockCount ? index.find(lba + i, epoch) : MappingIndex.NONE;
            boolean fromData = i < blockCount && entry == MappingIndex.NONE;
            if (fromData) {
                if (runStart < 0) {
                    runStart = i;
                }
                continue;
            }
            if (runStart >= 0) {
                data.read(lba + runStart, i - runStart, buffer, bufferOffset + runStart * blockSize);
                meter().issuedRead(IoCause.HOST, (long) (i - runStart) * blockSize);
                runStart = -1;
            }
            if (i == blockCount) {
                break;
            }
            long storeBlock = index.storeBlock(entry);
            int at = bufferOffset + i * blockSize;
            if (storeBlock == MappingIndex.ZERO_BLOCK) {
                Buffers.zero(buffer, at, blockSize);
            } else {
                store.read(layout.pool().lba() + storeBlock, 1, buffer, at);
                meter().issuedRead(IoCause.COW_COPY, blockSize);
            }
        }
    }

    // ------------------------------------------------------------------ rollback / restore

    @Override
    public void rollback(long snapshotId) {
        lock.writeLock().lock();
        try {
            checkUsable();
            runRollback(existing(snapshotId));
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            lock.writeLock().unlock();
        }
    }

    @Override
    public void restoreRange(long snapshotId, long lba, long blockCount) {
        geometry().checkRange(lba, blockCount);
        lock.writeLock().lock();
        try {
            checkUsable();
            long epoch = existing(snapshotId).epoch();
            long[] lbas = lbasWithEntryAt(epoch, lba, blockCount);
            restoreLbas(snapshotId, epoch, lbas);
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Sorted lbas in {@code [lba, lba+count)} where snapshot {@code epoch} reads a preserved copy
     * (everywhere else it reads the data device, i.e. equals the live volume).
     */
    private long[] lbasWithEntryAt(long epoch, long lba, long blockCount) {
        LongList found = new LongList();
        if (blockCount < index.entryCount() * 4) {
            for (long i = 0; i < blockCount; i++) {
                if (index.find(lba + i, epoch) != MappingIndex.NONE) {
                    found.add(lba + i);
                }
            }
        } else {
            index.forEachLba(l -> {
                if (l >= lba && l < lba + blockCount && index.find(l, epoch) != MappingIndex.NONE) {
                    found.add(l);
                }
            });
        }
        return found.sorted();
    }

    /**
     * Rollback, also the resumption of an interrupted one at open. Ordering: room reserved →
     * rollback record synced (or, on a full log, a checkpoint naming the rollback) → blocks
     * written → data device flushed → checkpoint without the rollback (the commit point).
     */
    private void runRollback(SnapshotInfo target) {
        long[] lbas = lbasWithEntryAt(target.epoch(), 0, layout.dataBlockCount());
        reserveRestoreRoom(target.id(), lbas);
        rollbackTarget = target.id();
        long txId = -1;
        try {
            txId = journal.begin(JournalRecords.OP_ROLLBACK,
                    JournalRecords.rollbackPayload(generation, target.id(), target.epoch()));
        } catch (CoreException e) {
            if (e.code() != CoreError.LOG_FULL) {
                throw e;
            }
        }
        if (txId >= 0) {
            syncJournal();
            openTransactions.add(txId);
        } else {
            writeCheckpoint(); // carries rollbackTarget
        }
        writeRestored(target.epoch(), lbas);
        flushLocked();
        rollbackTarget = 0;
        writeCheckpoint();
    }

    /** Writes the snapshot's blocks back through the normal write path, then flushes: durable on return. */
    private void restoreLbas(long snapshotId, long epoch, long[] lbas) {
        reserveRestoreRoom(snapshotId, lbas);
        writeRestored(epoch, lbas);
        flushLocked();
    }

    private void reserveRestoreRoom(long snapshotId, long[] lbas) {
        ensureRoom(() -> {
            long needed = 0;
            for (long l : lbas) {
                if (needsCopy(l) && batch.slotOf(l) < 0) {
                    needed++;
                }
            }
            return needed;
        }, snapshotId);
    }

    private void writeRestored(long epoch, long[] lbas) {
        int i = 0;
        while (i < lbas.length) {
            int run = 1;
            while (i + run < lbas.length && run < MAX_RUN_BLOCKS && lbas[i + run] == lbas[i] + run) {
                run++;
            }
            readSnapshotLocked(epoch, lbas[i], run, copyBuffer, 0);
            writeLocked(lbas[i], run, copyBuffer.duplicate(), 0);
            i += run;
        }
    }

    // ------------------------------------------------------------------ changed blocks

    @Override
    public List<Extent> changedBlocks(long fromSnapshotId, long toSnapshotId) {
        lock.readLock().lock();
        try {
            checkUsable();
            long fromEpoch = existing(fromSnapshotId).epoch();
            long toEpoch = existing(toSnapshotId).epoch();
            return changed(fromEpoch, toEpoch);
        } finally {
            lock.readLock().unlock();
        }
    }

    @Override
    public List<Extent> changedBlocksSince(long fromSnapshotId) {
        lock.readLock().lock();
        try {
            checkUsable();
            return changed(existing(fromSnapshotId).epoch(), -1);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Blocks whose source (entry or data device) differs between two epochs; -1 = live. */
    private List<Extent> changed(long fromEpoch, long toEpoch) {
        LongList found = new LongList();
        index.forEachLba(l -> {
            int a = index.find(l, fromEpoch);
            int b = toEpoch < 0 ? MappingIndex.NONE : index.find(l, toEpoch);
            if (a != b) {
                found.add(l);
            }
        });
        long[] lbas = found.sorted();
        List<Extent> extents = new ArrayList<>();
        int i = 0;
        while (i < lbas.length) {
            int run = 1;
            while (i + run < lbas.length && lbas[i + run] == lbas[i] + run) {
                run++;
            }
            extents.add(new Extent(lbas[i], run));
            i += run;
        }
        return extents;
    }

    @Override
    public StoreUsage storeUsage() {
        lock.readLock().lock();
        try {
            return new StoreUsage(freeMap.blockCount(), freeMap.usedCount(), index.entryCount(), index.maxEntries(), generation);
        } finally {
            lock.readLock().unlock();
        }
    }

    // ------------------------------------------------------------------ failures

    private void checkUsable() {
        checkOpen();
        RuntimeException failed = failure;
        if (failed != null) {
            throw new SnapshotException(SnapshotError.VOLUME_FAILED, "volume " + name()
                    + " failed earlier and must be reopened: " + failed.getMessage(), failed);
        }
    }

    /** An I/O failure or broken invariant leaves memory and media out of step: refuse everything after it. */
    private RuntimeException noteFailure(RuntimeException e) {
        boolean refusal = e instanceof SnapshotException se && se.code() != SnapshotError.CORRUPT_METADATA;
        boolean badArgument = e instanceof CoreException ce && (ce.code() == CoreError.OUT_OF_RANGE
                || ce.code() == CoreError.CLOSED || ce.code() == CoreError.INVALID_ARGUMENT);
        if (!refusal && !badArgument && failure == null) {
            failure = e;
        }
        return e;
    }

    /** Growable long array (rollback, changed-block lists: not the write path). */
    private static final class LongList {
        private long[] values = new long[64];
        private int size;

        void add(long value) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = value;
        }

        long[] sorted() {
            long[] result = Arrays.copyOf(values, size);
            Arrays.sort(result);
            return result;
        }
    }
}
