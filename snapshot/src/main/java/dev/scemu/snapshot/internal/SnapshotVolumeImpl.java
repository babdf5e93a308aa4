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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The snapshot volume: the {@link SnapshotVolume} API and the snapshot operations (create,
 * delete, rollback, restore, intents) over the pieces that serve I/O:
 * <ul>
 *   <li>{@link VolumeLoader}: format, open, checkpoint load, journal redo;</li>
 *   <li>{@link WritePath}: diff-on-write, COW batches, group commit, checkpoints;</li>
 *   <li>{@link ReadPath}: live reads (data device + pending batch slots) and snapshot views
 *       ({@link SnapshotView});</li>
 *   <li>{@link VolumeState}: what they share, each piece with its lock.</li>
 * </ul>
 *
 * <h2>Model</h2>
 * The volume writes at epoch {@code E = writeEpoch}; snapshot k freezes epoch {@code E} and the
 * volume moves on to {@code E + 1}. A preserved old block is one mapping entry
 * {@code (lba, from, to, storeBlock)} shared by every snapshot in {@code [from, to]}. A snapshot
 * {@code s} reads {@code lba} from the entry whose range holds {@code s}, else from the data device.
 * Invariant: for every existing snapshot {@code s} and block, either an entry holds {@code s}, or
 * the data device block has not changed since {@code s} was created.
 *
 * <h2>Locks (what each snapshot operation quiesces)</h2>
 * <ul>
 *   <li>{@code writeGate} (read-write): host writes, trims and flushes take it <b>shared</b>, so
 *       they run in parallel (ordered per block by the stripe locks, see {@link WritePath});
 *       snapshot create, delete, rollback, restoreRange, the intents, the store-full slow path
 *       and close take it <b>exclusively</b>: they change epochs, the snapshot set or the store
 *       and must see no run and no commit in flight. Live reads never take it: a snapshot
 *       operation does not stop them.</li>
 *   <li>{@code viewGate} (read-write): snapshot view reads take it shared; only a deletion (and
 *       close) take it exclusively, because a deletion frees pool blocks a view of the deleted
 *       snapshot could still be reading. Creating a snapshot does not stop view reads.</li>
 * </ul>
 * Order: writeGate, viewGate, stripe locks, meta (see {@link VolumeState}).
 *
 * <h2>Ordering</h2>
 * <ol>
 *   <li>A write of a block some snapshot still needs: copy → journal → overwrite, batched and
 *       group-committed (rules 1-7 of {@link WritePath}).</li>
 *   <li>createSnapshot (writeGate exclusive) first commits the batches and flushes the data
 *       device, then journals the snapshot (one record + sync). deleteSnapshot drops dead
 *       entries, then writes a checkpoint; freed pool blocks are reused only after that
 *       checkpoint is durable (the next writer runs after deleteSnapshot released writeGate), so
 *       no journal record or checkpoint that still references them can come back.</li>
 *   <li>A checkpoint (delete, close, journal half full) writes the whole mapping state to the
 *       other checkpoint region, flushes, writes its header with FUA, and only then commits the
 *       journal transactions it covers. Journal records carry the checkpoint generation they were
 *       written after; recovery redoes only those of the loaded generation ({@link VolumeLoader}).
 *       Close writes its checkpoint only if the state changed since the newest one
 *       ({@link WritePath#changedSinceCheckpoint}: an open transaction or a batch holding
 *       anything): a volume opened and closed without a change writes nothing.</li>
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
 */
public final class SnapshotVolumeImpl extends AbstractBlockDevice implements SnapshotVolume {

    private static final Logger LOG = LoggerFactory.getLogger(SnapshotVolumeImpl.class);

    /** How the journal is made (tests may substitute one). */
    static volatile MappingJournal.Factory journalFactory = ExecutionLogJournal.FACTORY;

    private final VolumeState s;
    private final WritePath writes;
    private final ReadPath reads;
    private final int blockSize;
    /** Shared: host writes, trims, flushes. Exclusive: snapshot operations, intents, close. */
    private final ReentrantReadWriteLock writeGate = new ReentrantReadWriteLock();
    /** Shared: snapshot view reads. Exclusive: deletion and close (they free what views read). */
    private final ReentrantReadWriteLock viewGate = new ReentrantReadWriteLock();
    private final Map<Long, SnapshotView> views = new ConcurrentHashMap<>();
    /** Blocks of one stripe of the live volume ({@link StripeLocks}): the longest run of the buffers below. */
    private final int runBlocks;
    /** Zeros for trims (read only). */
    private final ByteBuffer zeros;
    /** Rollback/restore and exact copy counting: used under writeGate exclusive only. */
    private final ByteBuffer copyBuffer;

    /** The superblock's intents as last written (changed under writeGate exclusive). */
    private volatile VolumeIntents intents = VolumeIntents.NONE;
    private volatile SnapshotInfo resumedRollback;
    private final List<SnapshotInfo> removedTemporaries = new ArrayList<>();

    SnapshotVolumeImpl(BlockDevice data, BlockDevice store, StoreLayout layout, MappingJournal journal) {
        super("snap(" + data.name() + ")", data.geometry());
        this.s = new VolumeState(name(), data, store, layout, journal, meter());
        this.blockSize = data.blockSize();
        // the log wrote these while it was formatted or opened: count them now, not at the first sync
        s.journalBytesReported = journal.bytesWritten();
        if (s.journalBytesReported > 0) {
            meter().issuedWrite(IoCause.JOURNAL, s.journalBytesReported);
        }
        try {
            this.writes = new WritePath(s);
        } catch (RuntimeException e) {
            s.releaseMemory();
            throw e;
        }
        this.reads = new ReadPath(s, writes);
        this.runBlocks = s.stripes.stripeBlocks();
        this.zeros = Buffers.allocateAligned(runBlocks * blockSize);
        this.copyBuffer = Buffers.allocateAligned(runBlocks * blockSize);
    }

    // ------------------------------------------------------------------ format / open

    public static SnapshotVolume format(BlockDevice data, BlockDevice store, SnapshotConfig config) {
        return VolumeLoader.format(data, store, config);
    }

    public static SnapshotVolume open(BlockDevice data, BlockDevice store) {
        return VolumeLoader.open(data, store);
    }

    VolumeState state() {
        return s;
    }

    WritePath writes() {
        return writes;
    }

    void setIntents(VolumeIntents intents) {
        this.intents = intents;
    }

    /**
     * After every check passed and the journal was redone: finishes a rollback a cut interrupted,
     * then deletes the temporary snapshots a cut left behind.
     */
    void finishInterruptedWork() {
        writeGate.writeLock().lock();
        try {
            if (s.rollbackTarget != 0) {
                SnapshotInfo target = s.existing(s.rollbackTarget);
                LOG.warn("{}: a rollback to snapshot {} was interrupted; finishing it", name(), target);
                runRollback(target);
                resumedRollback = target;
            }
            if (!intents.temporaries().isEmpty()) {
                for (VolumeIntents.Temporary t : intents.temporaries()) {
                    for (SnapshotInfo info : List.copyOf(s.snapshots.values())) {
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
            writeGate.writeLock().unlock();
        }
    }

    /** Writes the superblock with {@code next} intents, FUA: durable (and atomic) on return. */
    private void writeIntents(VolumeIntents next) {
        ByteBuffer block = ByteBuffer.allocateDirect(blockSize);
        s.layout.encode(block, next);
        s.store.write(0, 1, block, 0, true);
        meter().issuedWrite(IoCause.METADATA, blockSize);
        intents = next;
    }

    @Override
    public void markRestoreIncomplete(String note) {
        writeGate.writeLock().lock();
        try {
            checkUsable();
            writeIntents(intents.withRestore(true, note));
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            writeGate.writeLock().unlock();
        }
    }

    @Override
    public void clearRestoreIncomplete() {
        writeGate.writeLock().lock();
        try {
            checkUsable();
            writes.flush(); // Ordering: every restored block durable before the mark goes
            if (intents.restoreIncomplete()) {
                writeIntents(intents.withRestore(false, ""));
            }
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            writeGate.writeLock().unlock();
        }
    }

    @Override
    public Optional<String> restoreIncomplete() {
        VolumeIntents current = intents;
        return current.restoreIncomplete() ? Optional.of(current.restoreNote()) : Optional.empty();
    }

    @Override
    public OpenRecovery recoveredAtOpen() {
        return new OpenRecovery(Optional.ofNullable(resumedRollback), List.copyOf(removedTemporaries));
    }

    // ------------------------------------------------------------------ block device

    @Override
    protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        try {
            checkUsable();
            reads.readLive(lba, blockCount, buffer, bufferOffset);
        } catch (RuntimeException e) {
            throw noteFailure(e);
        }
    }

    @Override
    protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        hostWrite(lba, blockCount, buffer.duplicate(), bufferOffset, fua);
    }

    /**
     * A host write: shared (in parallel with other writes) when the store surely holds its
     * copies, else exclusive: exact count, store-full policy, then the write.
     */
    private void hostWrite(long lba, int blockCount, ByteBuffer source, int sourceOffset, boolean fua) {
        boolean written;
        writeGate.readLock().lock();
        try {
            checkUsable();
            written = writes.tryWriteShared(lba, blockCount, source, sourceOffset);
            if (written && fua) {
                writes.flush();
            }
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            writeGate.readLock().unlock();
        }
        if (written) {
            return;
        }
        writeGate.writeLock().lock();
        try {
            checkUsable();
            // slow path, only when space is short: count exactly (identical blocks need no copy)
            ensureRoom(() -> copiesNeeded(lba, blockCount, source, sourceOffset), -1);
            writes.writeExclusive(lba, blockCount, source, sourceOffset);
            if (fua) {
                writes.flush();
            }
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            writeGate.writeLock().unlock();
        }
    }

    @Override
    protected void doFlush() {
        writeGate.readLock().lock();
        try {
            checkUsable();
            writes.flush();
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            writeGate.readLock().unlock();
        }
    }

    /**
     * What the live volume holds, from its data device and COW batches ({@link SnapshotAllocation}):
     * the pending blocks are collected under {@code s.meta}, the data device is asked after it is
     * released (no I/O under the monitor).
     */
    @Override
    public void mapAllocation(long lba, long blockCount, dev.scemu.core.AllocationSink sink) {
        geometry().checkRange(lba, blockCount);
        checkUsable();
        long[] pending = writes.pendingIn(lba, blockCount);
        SnapshotAllocation.deliver(SnapshotAllocation.live(s.data, pending, lba, blockCount), sink);
    }

    /**
     * What snapshot {@code snapshotId} holds, not what the live volume holds now (its view's map):
     * the preserved blocks are looked up under {@code s.meta} first, the data device is asked after.
     * A live write racing with the query can only turn an answer into {@link dev.scemu.core.Allocation#DATA},
     * which is always correct.
     */
    void mapSnapshot(long snapshotId, long lba, long blockCount, dev.scemu.core.AllocationSink sink) {
        viewGate.readLock().lock();
        try {
            checkUsable();
            SnapshotAllocation.Preserved preserved;
            synchronized (s.meta) {
                preserved = SnapshotAllocation.preserved(s.index, s.existing(snapshotId).epoch(), lba, blockCount);
            }
            SnapshotAllocation.deliver(SnapshotAllocation.snapshot(s.data, preserved, lba, blockCount), sink);
        } finally {
            viewGate.readLock().unlock();
        }
    }

    /**
     * Trim, in two steps. First zeros are written through the diff path, as any write (zeros already
     * there cost nothing; a block a snapshot needs is preserved first, so snapshots keep the old
     * data). Then, for the blocks no existing snapshot sees and no COW batch holds, the trim is
     * passed down to the data device ({@link WritePath#trimUnneeded}), so the range is a hole there
     * again (on a RAID-5 below: where it covers whole stripe rows). Zeros then trimmed read zeros
     * either way, so a crash between the steps is harmless; the blocks a snapshot needs stay
     * written zeros (data) on the live volume.
     */
    @Override
    protected void doTrim(long lba, long blockCount) {
        long done = 0;
        while (done < blockCount) {
            int run = (int) Math.min(s.stripes.blocksToStripeEnd(lba + done), blockCount - done);
            hostWrite(lba + done, run, zeros.duplicate(), 0, false);
            done += run;
        }
        writeGate.readLock().lock();
        try {
            checkUsable();
            writes.trimUnneeded(lba, blockCount);
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            writeGate.readLock().unlock();
        }
    }

    @Override
    protected void doClose() {
        writeGate.writeLock().lock();
        viewGate.writeLock().lock();
        try {
            if (s.failure == null) {
                try {
                    if (writes.changedSinceCheckpoint()) {
                        writes.checkpoint(); // else the newest checkpoint is the state: an unchanged volume writes nothing
                    }
                    s.data.flush();
                } catch (RuntimeException e) {
                    LOG.warn("{}: final checkpoint failed; the journal will be redone at open: {}", name(), e.toString());
                }
            }
            views.values().forEach(SnapshotView::close);
            views.clear();
            if (s.failure == null) {
                s.journal.close();
            } // else abandon it: closing would sync records of a session the medium no longer matches
            s.releaseMemory();
        } finally {
            viewGate.writeLock().unlock();
            writeGate.writeLock().unlock();
        }
    }

    // ------------------------------------------------------------------ store-full policy

    /**
     * Copies a write of {@code source} may need: blocks a snapshot needs that are not pending and
     * differ from the stored block (conservative only for old blocks of zeros, which need an
     * entry but no pool block). Caller holds writeGate exclusively.
     */
    private long copiesNeeded(long lba, int blockCount, ByteBuffer source, int sourceOffset) {
        if (s.liveEpochs.length == 0) {
            return 0;
        }
        long needed = 0;
        for (int done = 0; done < blockCount; done += runBlocks) {
            int run = Math.min(runBlocks, blockCount - done);
            s.data.read(lba + done, run, copyBuffer, 0);
            meter().issuedRead(IoCause.HOST, (long) run * blockSize);
            ByteBuffer old = copyBuffer.duplicate();
            for (int i = 0; i < run; i++) {
                long blockLba = lba + done + i;
                if (needsCopy(blockLba) && !writes.isPending(blockLba)
                        && !Buffers.equal(source, sourceOffset + (done + i) * blockSize, old, i * blockSize, blockSize)) {
                    needed++;
                }
            }
        }
        return needed;
    }

    private boolean needsCopy(long lba) {
        synchronized (s.meta) {
            return s.needsCopy(lba);
        }
    }

    /** Caller holds writeGate exclusively. */
    private void ensureRoom(LongSupplier copiesNeeded, long protectedSnapshotId) {
        while (true) {
            long needed = copiesNeeded.getAsLong();
            if (needed <= s.freeMap.freeCount() && needed <= s.index.freeEntries()) {
                return;
            }
            Long victim = null;
            if (s.layout.storeFullPolicy() == StoreFullPolicy.INVALIDATE_OLDEST) {
                for (Long id : s.snapshots.keySet()) {
                    if (id != protectedSnapshotId) {
                        victim = id;
                        break;
                    }
                }
            }
            if (victim == null) {
                throw new SnapshotException(SnapshotError.STORE_FULL, "write needs up to " + needed
                        + " snapshot store blocks but " + s.freeMap.freeCount() + " of " + s.freeMap.blockCount()
                        + " blocks and " + s.index.freeEntries() + " mapping entries are free (policy "
                        + s.layout.storeFullPolicy() + ", " + s.snapshots.size() + " snapshots); nothing was written");
            }
            LOG.warn("{}: snapshot store full, invalidating oldest snapshot {}", name(), s.snapshots.get(victim));
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
        writeGate.writeLock().lock();
        try {
            checkUsable();
            return createLocked(name);
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            writeGate.writeLock().unlock();
        }
    }

    /**
     * Ordering: the slot (id floor, name) is durable before the snapshot record, so a cut at any
     * point leaves either no snapshot or one the next open finds and deletes.
     */
    @Override
    public SnapshotInfo createTemporarySnapshot(String name) {
        checkName(name);
        writeGate.writeLock().lock();
        try {
            checkUsable();
            if (intents.temporaries().size() >= VolumeIntents.MAX_TEMPORARIES) {
                throw new SnapshotException(SnapshotError.TOO_MANY_SNAPSHOTS, "already "
                        + intents.temporaries().size() + " temporary snapshots (max " + VolumeIntents.MAX_TEMPORARIES
                        + "): " + intents.temporaries());
            }
            if (s.snapshots.size() >= s.layout.maxSnapshots()) {
                throw new SnapshotException(SnapshotError.TOO_MANY_SNAPSHOTS, "volume already has "
                        + s.snapshots.size() + " snapshots (max " + s.layout.maxSnapshots() + ")");
            }
            checkNameFree(name);
            VolumeIntents.Temporary pending = new VolumeIntents.Temporary(s.nextSnapshotId, 0, name);
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
            writeGate.writeLock().unlock();
        }
    }

    @Override
    public void makePermanent(long snapshotId) {
        writeGate.writeLock().lock();
        try {
            checkUsable();
            s.existing(snapshotId);
            List<VolumeIntents.Temporary> slots = new ArrayList<>(intents.temporaries());
            if (slots.removeIf(t -> t.snapshotId() == snapshotId)) {
                writeIntents(intents.withTemporaries(slots));
            }
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            writeGate.writeLock().unlock();
        }
    }

    /** Names are unique within a volume: a second snapshot of one name is refused before anything is written. */
    private void checkNameFree(String name) {
        if (s.snapshots.values().stream().anyMatch(info -> info.name().equals(name))) {
            throw new SnapshotException(SnapshotError.DUPLICATE_NAME, "a snapshot named '" + name + "' already exists");
        }
    }

    /** Caller holds writeGate exclusively: no run and no commit is in flight. */
    private SnapshotInfo createLocked(String name) {
        checkNameFree(name);
        if (s.snapshots.size() >= s.layout.maxSnapshots()) {
            throw new SnapshotException(SnapshotError.TOO_MANY_SNAPSHOTS, "volume already has "
                    + s.snapshots.size() + " snapshots (max " + s.layout.maxSnapshots() + ")");
        }
        if (s.writeEpoch >= 0xFFFF_FFFEL) {
            throw new SnapshotException(SnapshotError.TOO_MANY_SNAPSHOTS, "epoch counter exhausted at " + s.writeEpoch);
        }
        // Ordering: pending COW batches and data device durable first, then the snapshot record.
        writes.flush();
        SnapshotInfo info = new SnapshotInfo(s.nextSnapshotId, name, Instant.ofEpochMilli(System.currentTimeMillis()), s.writeEpoch);
        ByteBuffer record = JournalRecords.snapshotPayload(s.generation, info.id(), info.epoch(),
                info.createdAt().toEpochMilli(), name);
        long txId = beginOrCheckpoint(JournalRecords.OP_SNAPSHOT, record, info);
        if (txId >= 0) {
            s.syncJournal();
            s.openTransactions.add(txId);
        }
        if (s.journalHalfFull()) {
            writes.checkpoint();
        }
        return info;
    }

    /** Journals a snapshot; on a full journal, applies it and checkpoints instead (returns -1). */
    private long beginOrCheckpoint(int opType, ByteBuffer record, SnapshotInfo info) {
        long txId = -1;
        try {
            txId = s.journal.begin(opType, record);
        } catch (CoreException e) {
            if (e.code() != CoreError.LOG_FULL) {
                throw e;
            }
        }
        s.snapshots.put(info.id(), info);
        s.nextSnapshotId = info.id() + 1;
        s.writeEpoch = info.epoch() + 1;
        s.refreshLiveEpochs();
        if (txId < 0) {
            writes.checkpoint();
        }
        return txId;
    }

    @Override
    public List<SnapshotInfo> listSnapshots() {
        return List.copyOf(s.snapshots.values());
    }

    @Override
    public SnapshotInfo snapshotInfo(long snapshotId) {
        return s.existing(snapshotId);
    }

    @Override
    public BlockDevice snapshot(long snapshotId) {
        checkUsable();
        SnapshotInfo info = s.existing(snapshotId);
        return views.compute(snapshotId, (id, view) ->
                view == null || view.isClosed() ? new SnapshotView(this, id, info.name()) : view);
    }

    @Override
    public void deleteSnapshot(long snapshotId) {
        writeGate.writeLock().lock();
        try {
            checkUsable();
            s.existing(snapshotId);
            deleteLocked(snapshotId);
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            writeGate.writeLock().unlock();
        }
    }

    /**
     * Ordering: commit the batches, drop dead entries in memory, checkpoint; freed blocks reusable
     * after. Caller holds writeGate exclusively; view reads are stopped while entries go.
     */
    private void deleteLocked(long snapshotId) {
        writes.commitAll();
        viewGate.writeLock().lock();
        try {
            s.snapshots.remove(snapshotId);
            s.refreshLiveEpochs();
            SnapshotView view = views.remove(snapshotId);
            if (view != null) {
                view.close();
            }
            long[] epochs = s.liveEpochs;
            synchronized (s.meta) {
                s.index.removeIf(e -> !anyEpochIn(epochs, s.index.fromEpoch(e), s.index.toEpoch(e)), e -> {
                    long storeBlock = s.index.storeBlock(e);
                    if (storeBlock != MappingIndex.ZERO_BLOCK) {
                        s.freeMap.markFree(storeBlock);
                    }
                });
            }
            writes.checkpoint();
        } finally {
            viewGate.writeLock().unlock();
        }
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

    /** Reads blocks of a snapshot view. */
    void readSnapshot(long snapshotId, long lba, int blockCount, ByteBuffer buffer, int bufferOffset, IoMeter viewMeter) {
        viewGate.readLock().lock();
        try {
            checkUsable();
            reads.readSnapshot(s.existing(snapshotId).epoch(), lba, blockCount, buffer, bufferOffset);
            viewMeter.issuedRead(IoCause.HOST, (long) blockCount * blockSize);
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            viewGate.readLock().unlock();
        }
    }

    // ------------------------------------------------------------------ rollback / restore

    @Override
    public void rollback(long snapshotId) {
        writeGate.writeLock().lock();
        try {
            checkUsable();
            runRollback(s.existing(snapshotId));
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            writeGate.writeLock().unlock();
        }
    }

    @Override
    public void restoreRange(long snapshotId, long lba, long blockCount) {
        geometry().checkRange(lba, blockCount);
        writeGate.writeLock().lock();
        try {
            checkUsable();
            long epoch = s.existing(snapshotId).epoch();
            long[] lbas = lbasWithEntryAt(epoch, lba, blockCount);
            restoreLbas(snapshotId, epoch, lbas);
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            writeGate.writeLock().unlock();
        }
    }

    /**
     * Sorted lbas in {@code [lba, lba+count)} where snapshot {@code epoch} reads a preserved copy
     * (everywhere else it reads the data device, i.e. equals the live volume). Caller holds
     * writeGate exclusively (no mutator of the index runs).
     */
    private long[] lbasWithEntryAt(long epoch, long lba, long blockCount) {
        LongList found = new LongList();
        MappingIndex index = s.index;
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
        long[] lbas = lbasWithEntryAt(target.epoch(), 0, s.layout.dataBlockCount());
        reserveRestoreRoom(target.id(), lbas);
        s.rollbackTarget = target.id();
        long txId = -1;
        try {
            txId = s.journal.begin(JournalRecords.OP_ROLLBACK,
                    JournalRecords.rollbackPayload(s.generation, target.id(), target.epoch()));
        } catch (CoreException e) {
            if (e.code() != CoreError.LOG_FULL) {
                throw e;
            }
        }
        if (txId >= 0) {
            s.syncJournal();
            s.openTransactions.add(txId);
        } else {
            writes.checkpoint(); // carries rollbackTarget
        }
        writeRestored(target.epoch(), lbas);
        writes.flush();
        s.rollbackTarget = 0;
        writes.checkpoint();
    }

    /** Writes the snapshot's blocks back through the normal write path, then flushes: durable on return. */
    private void restoreLbas(long snapshotId, long epoch, long[] lbas) {
        reserveRestoreRoom(snapshotId, lbas);
        writeRestored(epoch, lbas);
        writes.flush();
    }

    private void reserveRestoreRoom(long snapshotId, long[] lbas) {
        ensureRoom(() -> {
            long needed = 0;
            for (long l : lbas) {
                if (needsCopy(l) && !writes.isPending(l)) {
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
            while (i + run < lbas.length && run < runBlocks && lbas[i + run] == lbas[i] + run) {
                run++;
            }
            reads.readSnapshotUnlocked(epoch, lbas[i], run, copyBuffer, 0);
            writes.writeExclusive(lbas[i], run, copyBuffer.duplicate(), 0);
            i += run;
        }
    }

    // ------------------------------------------------------------------ changed blocks

    @Override
    public List<Extent> changedBlocks(long fromSnapshotId, long toSnapshotId) {
        checkUsable();
        long fromEpoch = s.existing(fromSnapshotId).epoch();
        long toEpoch = s.existing(toSnapshotId).epoch();
        return changed(fromEpoch, toEpoch);
    }

    @Override
    public List<Extent> changedBlocksSince(long fromSnapshotId) {
        checkUsable();
        return changed(s.existing(fromSnapshotId).epoch(), -1);
    }

    /** Blocks whose source (entry or data device) differs between two epochs; -1 = live. */
    private List<Extent> changed(long fromEpoch, long toEpoch) {
        LongList found = new LongList();
        viewGate.readLock().lock();
        try {
            synchronized (s.meta) {
                MappingIndex index = s.index;
                index.forEachLba(l -> {
                    int a = index.find(l, fromEpoch);
                    int b = toEpoch < 0 ? MappingIndex.NONE : index.find(l, toEpoch);
                    if (a != b) {
                        found.add(l);
                    }
                });
            }
        } finally {
            viewGate.readLock().unlock();
        }
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
        synchronized (s.meta) {
            return new StoreUsage(s.freeMap.blockCount(), s.freeMap.usedCount(), s.index.entryCount(),
                    s.index.maxEntries(), s.generation);
        }
    }

    // ------------------------------------------------------------------ overwrite cost

    @Override
    public OverwriteCost overwriteCost(java.util.Collection<Extent> writes, java.util.Collection<Extent> zeroed) {
        List<Extent> written = Extent.union(writes);
        List<Extent> zeroedOnly = Extent.difference(Extent.union(zeroed), written);
        for (List<Extent> list : List.of(written, zeroedOnly)) {
            for (Extent e : list) {
                geometry().checkRange(e.lba(), e.blockCount());
            }
        }
        writeGate.writeLock().lock(); // no run, snapshot change or deletion while counting (as the store-full slow path)
        try {
            checkUsable();
            return costLocked(written, zeroedOnly);
        } catch (RuntimeException e) {
            throw noteFailure(e);
        } finally {
            writeGate.writeLock().unlock();
        }
    }

    @Override
    public OverwriteCost requireRoomToOverwrite(java.util.Collection<Extent> writes, java.util.Collection<Extent> zeroed,
                                                String what) {
        OverwriteCost cost = overwriteCost(writes, zeroed);
        if (cost.fits() || cost.policy() != StoreFullPolicy.REFUSE_WRITE) {
            return cost;
        }
        boolean entries = cost.mappingEntriesNeeded() > cost.freeMappingEntries();
        throw new SnapshotException(SnapshotError.STORE_FULL, what + " may overwrite " + cost.blocks() + " blocks, "
                + cost.mappingEntriesNeeded() + " of them with old contents " + cost.snapshots() + " snapshot(s) still"
                + " need: up to " + cost.storeBlocksNeeded() + " snapshot store blocks for their copies, but "
                + cost.freeStoreBlocks() + " of " + cost.storeBlocks() + " are free"
                + (entries ? " (and " + cost.mappingEntriesNeeded() + " mapping entries, " + cost.freeMappingEntries()
                + " free)" : "") + " (policy " + cost.policy() + "); refused before the first write, nothing was"
                + " written: delete snapshots to free the store");
    }

    /**
     * Caller holds writeGate exclusively: the index, the snapshot set and the free counts hold still.
     * {@code written} and {@code zeroed} are disjoint unions. A written block a snapshot sees takes an
     * entry, and a copy where the data device may hold data; a zeroed one takes both only where the
     * data device may hold data (zeros over zeros are skipped). When that bound does not fit, the
     * candidates are read and only those that do not hold zeros count as copies (and, zeroed, as entries).
     */
    private OverwriteCost costLocked(List<Extent> written, List<Extent> zeroed) {
        long writtenBlocks = blockCount(written);
        long total = writtenBlocks + blockCount(zeroed);
        long entries = 0;
        long copies = 0;
        if (s.liveEpochs.length > 0 && total > 0) {
            List<Extent> writtenData = mayHoldData(written); // the data device's map, asked outside meta (it may seek)
            List<Extent> zeroedData = mayHoldData(zeroed);
            long writtenSeen;
            long zeroedSeen;
            synchronized (s.meta) {
                writtenSeen = seenBySnapshots(written);
                zeroedSeen = seenBySnapshots(zeroedData);
                copies = seenBySnapshots(writtenData) + zeroedSeen;
            }
            entries = writtenSeen + zeroedSeen;
            if (copies > s.freeMap.freeCount() || entries > s.index.freeEntries()) {
                // a rebuilt or scrubbed member reports data everywhere: read what the map cannot tell
                long zeroedNotZero = notZeroSeenBySnapshots(zeroedData);
                copies = notZeroSeenBySnapshots(writtenData) + zeroedNotZero;
                entries = writtenSeen + zeroedNotZero;
            }
        }
        synchronized (s.meta) {
            return new OverwriteCost(total, entries, copies, s.index.freeEntries(), s.freeMap.freeCount(),
                    s.freeMap.blockCount(), s.snapshots.size(), s.layout.storeFullPolicy());
        }
    }

    /** The parts of {@code extents} the data device reports as {@code DATA}, as a union. */
    private List<Extent> mayHoldData(List<Extent> extents) {
        List<Extent> data = new ArrayList<>();
        for (Extent e : extents) {
            data.addAll(dev.scemu.core.Allocation.dataExtents(s.data, e));
        }
        return Extent.union(data);
    }

    private static long blockCount(List<Extent> extents) {
        long count = 0;
        for (Extent e : extents) {
            count += e.blockCount();
        }
        return count;
    }

    /**
     * Blocks of {@code extents} an existing snapshot reads from the data device that do not hold
     * zeros there (an old block of zeros is preserved as a zero-block entry, without a copy): the
     * candidates are read, a stripe at a time. Only when the allocation map's bound does not fit:
     * a data device whose members were rebuilt or resynced reports data everywhere, zeros included,
     * which refused a restore onto a mostly empty volume. Caller holds writeGate exclusively.
     */
    private long notZeroSeenBySnapshots(List<Extent> extents) {
        boolean[] seen = new boolean[runBlocks];
        long count = 0;
        for (Extent e : extents) {
            for (long done = 0; done < e.blockCount(); done += runBlocks) {
                int run = (int) Math.min(runBlocks, e.blockCount() - done);
                long lba = e.lba() + done;
                boolean any = false;
                synchronized (s.meta) {
                    for (int i = 0; i < run; i++) {
                        seen[i] = s.needsCopy(lba + i);
                        any |= seen[i];
                    }
                }
                if (!any) {
                    continue;
                }
                s.data.read(lba, run, copyBuffer, 0);
                meter().issuedRead(IoCause.HOST, (long) run * blockSize);
                for (int i = 0; i < run; i++) {
                    if (seen[i] && !Buffers.equal(copyBuffer, i * blockSize, zeros, 0, blockSize)) {
                        count++;
                    }
                }
            }
        }
        return count;
    }

    /**
     * Blocks of {@code extents} (union, increasing) an existing snapshot reads from the data device
     * ({@link VolumeState#needsCopy}): all of them but those born after the newest snapshot, which
     * have a mapping entry. Looks up each block, or walks the table's lbas once when it has fewer
     * than a quarter as many (the choice {@link #lbasWithEntryAt} makes). Caller holds meta.
     */
    private long seenBySnapshots(List<Extent> extents) {
        long total = blockCount(extents);
        MappingIndex index = s.index;
        if (total < index.entryCount() * 4) {
            long seen = 0;
            for (Extent e : extents) {
                for (long lba = e.lba(); lba < e.endLba(); lba++) {
                    if (s.needsCopy(lba)) {
                        seen++;
                    }
                }
            }
            return seen;
        }
        long[] starts = new long[extents.size()];
        for (int i = 0; i < starts.length; i++) {
            starts[i] = extents.get(i).lba();
        }
        long[] bornSince = new long[1];
        index.forEachLba(lba -> {
            int at = Arrays.binarySearch(starts, lba);
            int i = at >= 0 ? at : -at - 2; // the last extent starting at or before lba
            if (i >= 0 && extents.get(i).contains(lba) && !s.needsCopy(lba)) {
                bornSince[0]++;
            }
        });
        return total - bornSince[0];
    }

    // ------------------------------------------------------------------ failures

    private void checkUsable() {
        checkOpen();
        s.checkNotFailed();
    }

    /** An I/O failure or broken invariant leaves memory and media out of step: refuse everything after it. */
    private RuntimeException noteFailure(RuntimeException e) {
        boolean refusal = e instanceof SnapshotException se && se.code() != SnapshotError.CORRUPT_METADATA;
        boolean badArgument = e instanceof CoreException ce && (ce.code() == CoreError.OUT_OF_RANGE
                || ce.code() == CoreError.CLOSED || ce.code() == CoreError.INVALID_ARGUMENT);
        if (!refusal && !badArgument && s.failure == null) {
            s.failure = e;
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
