package dev.scemu.core;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.StampedLock;

/**
 * A decorating {@link BlockDevice} that behaves like a disk with a volatile write cache and can be
 * made to fail the way real disks do. Deterministic: every random choice derives from its seed.
 *
 * <ul>
 *   <li><b>Volatile write cache.</b> A write or trim without FUA is acknowledged but durable only
 *       after a later {@link #flush()}; FUA writes are durable when they return. This is what makes a
 *       power cut honest. Implementation (an undo log, not a redo cache): writes go through to the
 *       inner device at once, and the first write of a block since the last flush saves the block's
 *       durable content (and each rewrite the version it replaces) off the Java heap
 *       ({@link UndoVersions}); a flush forgets them, a power cut puts them back. So reads and
 *       flushes cost nothing extra, and a host that reads what it wrote reads the inner device.
 *       Like a real disk's cache it is bounded ({@link #setWriteCacheBlocks}, default
 *       {@link #DEFAULT_WRITE_CACHE_BYTES}, counted in block versions held): past the bound the
 *       blocks held become durable early, which the contract allows (only a flush or FUA promises
 *       durability; nothing promises loss). Without that bound a host that never flushes (an NBD
 *       client) would grow it without limit. A device on a {@linkplain PowerDomain#writeThrough
 *       write-through domain} keeps no undo log: every write is durable as far as the inner device
 *       makes it so, and a cut loses nothing (what a process that serves real files gets from the
 *       OS page cache when it is killed).</li>
 *   <li><b>Power cut</b> through the {@link PowerDomain}: unflushed writes are lost (or a seeded
 *       subset survives, torn at block granularity); I/O fails with {@link CoreError#POWER_LOST}
 *       until power is restored.</li>
 *   <li><b>Whole-device failure</b>: {@link #failDevice()} makes every I/O fail with
 *       {@link CoreError#DEVICE_FAILED} until {@link #repairDevice()}.</li>
 *   <li><b>Latent sector errors</b>: reads (or writes) touching chosen extents fail with
 *       {@link CoreError#MEDIUM_ERROR}; by default a successful write over a read-error block
 *       clears it (the drive remaps the sector), as real drives do.</li>
 *   <li><b>Bit rot</b>: {@link #corruptBlock(long)} silently flips one bit of a stored block.</li>
 *   <li><b>Latency</b> added to every read and write.</li>
 * </ul>
 *
 * <p>Ordering: a non-FUA write is durable only after a later {@link #flush()} returns; a FUA write
 * is durable when it returns; a failed write (any exception) changed nothing. Writes received while
 * power is being cut may be acknowledged and then lost, as on a real disk. The device owns its
 * inner device and closes it.
 *
 * <h2>Locking (no device-wide monitor on the I/O path)</h2>
 * <ol>
 *   <li>The <b>gate</b> ({@link StampedLock}; not reentrant: nothing in this class takes it while
 *       holding it, and a write that fires the cut lets go of it first): reads, writes and trims
 *       hold it shared, so
 *       I/O to different blocks runs in parallel; {@link #flush()} with an emulated write cache,
 *       the power cut ({@code losePower}), {@link #cutPowerKeeping}, {@link #corruptBlock} and close hold
 *       it exclusively (a flush on a write-through domain holds it shared: see {@link #doFlush}).
 *       So a cut or a flush sees every I/O either completed (its undo record in the log) or not
 *       started (it will find the power off / its record made durable), exactly as under the one
 *       monitor this class had before: the crash tests run unchanged. Not a
 *       {@code ReentrantReadWriteLock}: its second and later concurrent readers record their holds
 *       in a {@code ThreadLocal}, and that bookkeeping ({@code ThreadLocalMap.set} and its stale-slot
 *       cleaning) took ~10 % of the CPU samples of 4 RAID-5 writers on 2 CPUs (tenth session's JFR
 *       of {@code ConcurrencyRatio}); a stamped lock's shared hold is one compare-and-set.</li>
 *   <li><b>Region locks</b> (a fixed table, {@value #REGION_BLOCKS}-block regions mapped onto
 *       {@value #REGION_LOCKS} locks by region number modulo the table, taken in ascending table
 *       order, so they cannot deadlock): an I/O holds, in every region it touches, the
 *       <b>blocks</b> it touches (a mask of the region's {@value #REGION_BLOCKS} blocks, taken at
 *       once per region: {@link MaskLock}) while it saves what it replaces and reaches the inner
 *       device, so two writes of a block keep their undo versions in the order of their inner
 *       writes, and a read never sees a block half-written; I/O to other blocks of the region runs
 *       beside it. I/O within any 256 MiB (4 KiB blocks) window never shares a lock falsely:
 *       with 256 locks, 4 writers of distinct RAID-5 rows on 2 CPUs parked here 357 times in a
 *       second of writing, 4 ms each (the holder descheduled while holding it), in the fifth
 *       session's JFR; and with whole-region locks, RAID-5 writers of different columns of one row
 *       (which share the parity member's region) parked here once the row lock let them run
 *       together (seventh session). Locks are created on first use. Why ascending order cannot
 *       deadlock with masks: a thread waiting at table index {@code i} waits for holders of
 *       {@code i}, or for threads queued ahead of it at {@code i} (which wait for those holders),
 *       and a holder of {@code i} waits, if at all, at an index above {@code i}; so every chain of
 *       waits climbs the table and ends.</li>
 *   <li>The <b>undo lock</b> guards the log ({@code unflushed}, {@code cachedVersions}) for the
 *       moment of an update; no inner I/O runs under it. Medium-error extents have their own lock,
 *       which I/O takes only while some are injected (a volatile flag says so).</li>
 * </ol>
 * The power domain numbers a write before any of these locks is taken, and a write that fires the
 * cut releases them before cutting (the cut takes every device's gate).
 */
public final class FaultInjectingDevice extends AbstractBlockDevice {

    /** Default bound of the volatile write cache: 16 MiB of block versions. */
    public static final long DEFAULT_WRITE_CACHE_BYTES = 16L << 20;

    private final BlockDevice inner;
    private final PowerDomain domain;
    private final Random random;
    /**
     * Blocks written or trimmed since the last flush: what each held when it was last durable, and the
     * versions written since then except the latest (which the inner device holds). A torn cut walks
     * them in ascending block order ({@link LongMap#sortedKeys}), so a seed gives one outcome.
     */
    private final LongMap<Pending> unflushed = new LongMap<>();
    /** Versions written since the last flush, all blocks together (each pending block: earlier + 1). */
    private long cachedVersions;
    /** Blocks read at a time when saving what a long write or trim replaces. */
    private static final int SAVE_RUN_BLOCKS = 256;
    /** Blocks per region lock. */
    static final int REGION_BLOCKS = 16;
    /** Region locks in the table. */
    static final int REGION_LOCKS = 4096;
    /** Scratch for the blocks a write replaces, per thread (grown on demand, reused). */
    private final ThreadLocal<ByteBuffer> replaced = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(0));
    /** Shared by I/O, exclusive for flush, power cut and bit rot; see Locking. */
    private final StampedLock gate = new StampedLock();
    /** {@link #gate} held shared (I/O, and a flush of a write-through domain). */
    private final Lock shared = gate.asReadLock();
    /** {@link #gate} held exclusively (an emulated cache's flush, power cut, bit rot, close). */
    private final Lock exclusive = gate.asWriteLock();
    /** Created on first use (a device that sees little I/O keeps a 16 KiB table and few locks). */
    private final java.util.concurrent.atomic.AtomicReferenceArray<MaskLock> regionLocks =
            new java.util.concurrent.atomic.AtomicReferenceArray<>(REGION_LOCKS);
    private final Object undoLock = new Object();
    private final Object errorLock = new Object();

    /** The saved block versions the undo records point at (slots), off-heap; guarded by {@link #undoLock}. */
    private final UndoVersions versions;

    /** Undo record of one unflushed block: slots of {@link #versions}. */
    private static final class Pending {
        /** The durable content. */
        int durable;
        /** Versions written after {@code durable} and before the latest, oldest first ({@code earlierCount} of them). */
        int[] earlier;
        int earlierCount;

        int versions() {
            return 1 + earlierCount;
        }

        void addEarlier(int slot) {
            if (earlier == null) {
                earlier = new int[2];
            } else if (earlierCount == earlier.length) {
                earlier = java.util.Arrays.copyOf(earlier, 2 * earlierCount);
            }
            earlier[earlierCount++] = slot;
        }
    }
    private long writeCacheBlocks;
    private final List<Extent> readErrors = new ArrayList<>();
    private final List<Extent> writeErrors = new ArrayList<>();
    /**
     * Whether {@link #readErrors} or {@link #writeErrors} holds an extent (written under the error
     * lock): I/O of a device without injected medium errors takes no lock for them. The error lock
     * is one per device, and every read and write of every thread took it twice before (check, then
     * clear what the write overwrote): it showed in the fifth session's JFR as the monitor 4 RAID-5
     * writers blocked on most, after the bitmap's.
     */
    private volatile boolean mediumErrors;
    private volatile boolean failed;
    private volatile boolean writesClearReadErrors = true;
    private volatile long readLatencyNanos;
    private volatile long writeLatencyNanos;

    /** A fault-injecting device on its own power domain. */
    public FaultInjectingDevice(BlockDevice inner, long seed) {
        this(inner, null, seed);
    }

    FaultInjectingDevice(BlockDevice inner, PowerDomain domain, long seed) {
        super(inner.name(), inner.geometry());
        this.inner = inner;
        this.versions = new UndoVersions(inner.blockSize());
        this.writeCacheBlocks = Math.max(1, DEFAULT_WRITE_CACHE_BYTES / inner.blockSize());
        this.random = new Random(PowerDomain.mix(seed));
        if (domain == null) {
            this.domain = new PowerDomain(seed);
            this.domain.attachExisting(this);
        } else {
            this.domain = domain;
        }
    }

    public BlockDevice inner() {
        return inner;
    }

    public PowerDomain powerDomain() {
        return domain;
    }

    /** Cuts power to this device's whole domain now. */
    public void cutPower(PowerCutMode mode) {
        domain.cut(mode);
    }

    /** Restores power to this device's whole domain. */
    public void restorePower() {
        domain.restore();
    }

    public void failDevice() {
        failed = true;
    }

    public void repairDevice() {
        failed = false;
    }

    public boolean isFailed() {
        return failed;
    }

    /** Reads touching any block of {@code extent} fail with MEDIUM_ERROR. */
    public void failReads(Extent extent) {
        geometry().checkRange(extent.lba(), extent.blockCount());
        synchronized (errorLock) {
            readErrors.add(extent);
            mediumErrors = true;
        }
    }

    /** Writes touching any block of {@code extent} fail with MEDIUM_ERROR (and write nothing). */
    public void failWrites(Extent extent) {
        geometry().checkRange(extent.lba(), extent.blockCount());
        synchronized (errorLock) {
            writeErrors.add(extent);
            mediumErrors = true;
        }
    }

    public void clearMediumErrors() {
        synchronized (errorLock) {
            readErrors.clear();
            writeErrors.clear();
            mediumErrors = false;
        }
    }

    /** Whether a successful write over a read-error block clears the error (default true). */
    public void writesClearReadErrors(boolean clear) {
        this.writesClearReadErrors = clear;
    }

    public void setLatency(Duration read, Duration write) {
        this.readLatencyNanos = read.toNanos();
        this.writeLatencyNanos = write.toNanos();
    }

    /**
     * Silently flips one seeded-random bit of block {@code lba}, in the stored copy and in the
     * cached copy if there is one. Returns the flipped bit's index within the block.
     */
    public int corruptBlock(long lba) {
        geometry().checkRange(lba, 1);
        exclusive.lock();
        try {
            int bit = random.nextInt(blockSize() * 8);
            ByteBuffer block = ByteBuffer.allocateDirect(blockSize());
            inner.read(lba, 1, block, 0);
            block.put(bit >>> 3, (byte) (block.get(bit >>> 3) ^ (1 << (bit & 7))));
            inner.write(lba, 1, block, 0, true);
            Pending pending = unflushed.get(lba);
            if (pending != null) {
                synchronized (undoLock) {
                    versions.flipBit(pending.durable, bit);
                    for (int i = 0; i < pending.earlierCount; i++) {
                        versions.flipBit(pending.earlier[i], bit);
                    }
                }
            }
            return bit;
        } finally {
            exclusive.unlock();
        }
    }

    /**
     * Bounds the volatile write cache to {@code blocks} block versions (at least 1): before a write
     * that would hold more, every block held becomes durable (see the class description).
     */
    public void setWriteCacheBlocks(long blocks) {
        if (blocks < 1) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, "device " + name() + ": write cache of " + blocks
                    + " blocks, must hold at least 1");
        }
        synchronized (undoLock) {
            this.writeCacheBlocks = blocks;
        }
    }

    public long writeCacheBlocks() {
        synchronized (undoLock) {
            return writeCacheBlocks;
        }
    }

    /** Blocks written or trimmed since the last flush. */
    public int unflushedBlockCount() {
        synchronized (undoLock) {
            return unflushed.size();
        }
    }

    /** The blocks written or trimmed since the last flush. */
    public java.util.Set<Long> unflushedBlocks() {
        synchronized (undoLock) {
            return java.util.Arrays.stream(unflushed.sortedKeys()).boxed().collect(java.util.stream.Collectors.toUnmodifiableSet());
        }
    }

    @Override
    protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        pause(readLatencyNanos);
        shared.lock();
        try {
            checkUsable();
            checkMediumErrors(readErrors, lba, blockCount, "read");
            lockRegions(lba, blockCount);
            try {
                inner.read(lba, blockCount, buffer, bufferOffset);
            } finally {
                unlockRegions(lba, blockCount);
            }
            meter().issuedRead(IoCause.HOST, geometry().lengthOf(blockCount));
        } finally {
            shared.unlock();
        }
    }

    /**
     * The inner device's map (writes reach it at once; the undo records only matter at a power
     * cut), checked like a read: a failed or unpowered device throws, and an extent that touches a
     * read error is reported as {@link Allocation#DATA}, so that a caller skipping zeros still
     * reads it and meets the error.
     */
    @Override
    public void mapAllocation(long lba, long blockCount, AllocationSink sink) {
        geometry().checkRange(lba, blockCount);
        checkUsable();
        inner.mapAllocation(lba, blockCount, (at, count, allocation) -> sink.extent(at, count,
                touchesReadError(at, count) ? Allocation.DATA : allocation));
    }

    @Override
    protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        pause(writeLatencyNanos);
        boolean cutNow = domain.numberWrite();
        shared.lock();
        try {
            checkUsable();
            lockRegions(lba, blockCount);
            try {
                if (cutNow) {
                    if (domain.armedMode() == PowerCutMode.KEEP_RANDOM_SUBSET) {
                        writeUnflushed(lba, blockCount, buffer, bufferOffset); // the cut decides whether it stays
                    }
                } else {
                    checkMediumErrors(writeErrors, lba, blockCount, "write");
                    if (fua || !domain.emulatesWriteCache()) { // durable now, or write-through: nothing to undo
                        inner.write(lba, blockCount, buffer, bufferOffset, fua);
                        meter().issuedWrite(IoCause.HOST, geometry().lengthOf(blockCount));
                        if (fua) {
                            forget(lba, blockCount);
                        }
                    } else {
                        writeUnflushed(lba, blockCount, buffer, bufferOffset);
                    }
                    if (writesClearReadErrors && mediumErrors) {
                        synchronized (errorLock) {
                            clearErrors(readErrors, lba, blockCount);
                            mediumErrors = !readErrors.isEmpty() || !writeErrors.isEmpty();
                        }
                    }
                    return;
                }
            } finally {
                unlockRegions(lba, blockCount);
            }
        } finally {
            shared.unlock();
        }
        domain.cut(domain.armedMode());
        throw powerLost();
    }

    @Override
    protected void doTrim(long lba, long blockCount) {
        boolean cutNow = domain.numberWrite();
        shared.lock();
        try {
            checkUsable();
            if (!cutNow) {
                lockRegions(lba, blockCount);
                try {
                    if (domain.emulatesWriteCache()) {
                        makeRoom(blockCount);
                        saveReplaced(lba, blockCount);
                    }
                    inner.trim(lba, blockCount);
                } finally {
                    unlockRegions(lba, blockCount);
                }
                return;
            }
        } finally {
            shared.unlock();
        }
        domain.cut(domain.armedMode());
        throw powerLost();
    }

    /**
     * With an emulated write cache the flush holds the gate exclusively: every I/O is then either
     * completed (its undo record is forgotten, its data made durable) or not started. On a
     * write-through domain there is no undo log to keep consistent with the inner flush, so the
     * flush holds the gate shared, like any I/O: reads and writes of this device go on while the
     * medium syncs (an {@code fdatasync} of a member file takes milliseconds to tens of
     * milliseconds, and every member read and write waited for it before). A write concurrent
     * with the flush may or may not be made durable by it, as on any disk; every write completed
     * before the flush began is (the medium's own flush guarantees that).
     */
    @Override
    protected void doFlush() {
        flushUnderGate(0, -1);
    }

    /**
     * A ranged flush, under the same gate rules as {@link #doFlush}: the inner device flushes the
     * range and only the range's undo records are forgotten, so a later power cut still loses (or
     * tears, by the domain's mode) every unflushed write outside it. That is the weakest medium a
     * ranged flush allows, which the crash tests want: a layer that flushed too narrow a range
     * loses data here.
     */
    @Override
    protected void doFlushRange(long lba, long blockCount) {
        flushUnderGate(lba, blockCount);
    }

    /** Flushes the inner device ({@code blockCount} -1: whole) and forgets what it made durable, under the gate. */
    private void flushUnderGate(long lba, long blockCount) {
        boolean undoLog = domain.emulatesWriteCache();
        Lock lock = undoLog ? exclusive : shared;
        lock.lock();
        try {
            checkUsable();
            if (blockCount < 0) {
                inner.flush();
                if (undoLog) {
                    forgetAll();
                }
            } else {
                inner.flushRange(lba, blockCount);
                if (undoLog) {
                    forget(lba, blockCount);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Cuts power to the whole domain, but first makes exactly the latest version of
     * {@code survivingLbas} durable on this device (the rest of its unflushed writes is lost): for
     * scenario tests that need one precise torn outcome.
     */
    public void cutPowerKeeping(java.util.Set<Long> survivingLbas) {
        exclusive.lock();
        try {
            checkUsable();
            for (long lba : unflushed.sortedKeys()) {
                if (!survivingLbas.contains(lba)) {
                    restore(lba, unflushed.get(lba).durable);
                }
            }
            inner.flush();
            forgetAll();
        } finally {
            exclusive.unlock();
        }
        domain.cut(PowerCutMode.DROP_UNFLUSHED);
    }

    /**
     * Called by the power domain with power already off. With {@link PowerCutMode#KEEP_RANDOM_SUBSET}
     * each unflushed block independently ends up with its durable content or with any one of the
     * versions written to it since the last flush (a disk may destage an intermediate version and
     * lose a later one). Holds the gate exclusively: I/O in progress completes first (its record is
     * in the log), I/O after it finds the power off.
     */
    void losePower(PowerCutMode mode) {
        exclusive.lock();
        try {
            if (isClosed()) {
                return; // closed while the domain was cutting: its inner device is gone, and close let go of its undo log
            }
            for (long lba : unflushed.sortedKeys()) {
                Pending pending = unflushed.get(lba);
                if (mode != PowerCutMode.KEEP_RANDOM_SUBSET) {
                    restore(lba, pending.durable);
                    continue;
                }
                int versions = pending.versions();
                int choice = random.nextInt(versions + 1); // 0: durable, 1..versions: the versions in order
                if (choice == 0) {
                    restore(lba, pending.durable);
                } else if (choice < versions) {
                    restore(lba, pending.earlier[choice - 1]);
                } // else the latest, already in the inner device
            }
            if (!unflushed.isEmpty()) {
                inner.flush();
            }
            forgetAll();
        } finally {
            exclusive.unlock();
        }
    }

    /**
     * Detaches from the domain and closes the inner device under the gate, so a power cut that
     * another thread started before the detach (the domain iterates a snapshot of its devices)
     * either finishes this device's {@link #losePower} first or finds it closed; it never writes
     * its undo log into a closed inner device.
     */
    @Override
    protected void doClose() {
        exclusive.lock();
        try {
            domain.detach(this);
            inner.close();
            synchronized (undoLock) {
                unflushed.clear();
                cachedVersions = 0;
                versions.close(); // the off-heap versions are freed now, not at a GC
            }
        } finally {
            exclusive.unlock();
        }
    }

    /**
     * Writes through to the inner device, first saving for each block what it replaces: its durable
     * content if this is its first write since the last flush, else the version it overwrites.
     */
    private void writeUnflushed(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        makeRoom(blockCount);
        saveReplaced(lba, blockCount);
        inner.write(lba, blockCount, buffer, bufferOffset);
        meter().issuedWrite(IoCause.HOST, geometry().lengthOf(blockCount));
    }

    /** Saves what blocks {@code [lba, lba + blockCount)} hold now, before a write or trim replaces them. */
    private void saveReplaced(long lba, long blockCount) {
        int blockSize = blockSize();
        for (long done = 0; done < blockCount; ) {
            int run = (int) Math.min(SAVE_RUN_BLOCKS, blockCount - done);
            ByteBuffer current = scratch(run * blockSize);
            inner.read(lba + done, run, current, 0);
            long address = NativeMemory.address(current);
            synchronized (undoLock) {
                for (int i = 0; i < run; i++) {
                    saveReplacedLocked(lba + done + i, versions.save(address + (long) i * blockSize));
                }
            }
            done += run;
        }
    }

    /** Records that block {@code lba}, whose previous content is in {@code slot}, is being overwritten without a flush. */
    private void saveReplacedLocked(long lba, int slot) {
        Pending pending = unflushed.get(lba);
        if (pending == null) {
            pending = new Pending();
            pending.durable = slot;
            unflushed.put(lba, pending);
        } else {
            pending.addEarlier(slot);
        }
        cachedVersions++;
    }

    /** This thread's reused direct scratch buffer, at least {@code bytes} long. */
    private ByteBuffer scratch(int bytes) {
        ByteBuffer buffer = replaced.get();
        if (buffer.capacity() < bytes) {
            buffer = ByteBuffer.allocateDirect(Math.max(bytes, 2 * buffer.capacity()));
            replaced.set(buffer);
        }
        return buffer;
    }

    /** Every block of a region: a region lock's whole mask ({@link MaskLock} over {@value #REGION_BLOCKS} blocks). */
    private static final long REGION_ALL = (1L << REGION_BLOCKS) - 1;

    /**
     * Locks the blocks of {@code [lba, lba + blockCount)} region by region, in ascending table order
     * (a range of as many regions as the table takes every lock whole); {@link #unlockRegions} with
     * the same range releases them. The entries are computed, not kept ({@link #regionEntry}): an
     * array of them per I/O was all the write path allocated (four per RAID-5 write, ~30 MB/s at
     * 300,000 writes a second, tenth session's JFR).
     */
    private void lockRegions(long lba, long blockCount) {
        long end = lba + Math.max(blockCount, 1);
        int count = regionCount(lba, end);
        for (int i = 0; i < count; i++) {
            int entry = regionEntry(lba, end, i);
            regionLock(entry >>> 16).lock(entry & 0xFFFF);
        }
    }

    /** Releases what {@link #lockRegions} of the same range took, in the reverse order. */
    private void unlockRegions(long lba, long blockCount) {
        long end = lba + Math.max(blockCount, 1);
        for (int i = regionCount(lba, end) - 1; i >= 0; i--) {
            int entry = regionEntry(lba, end, i);
            regionLocks.get(entry >>> 16).unlock(entry & 0xFFFF);
        }
    }

    /** How many region locks a range {@code [lba, end)} takes: one per region, at most the whole table. */
    private static int regionCount(long lba, long end) {
        long regions = (end - 1) / REGION_BLOCKS - lba / REGION_BLOCKS + 1;
        return (int) Math.min(regions, REGION_LOCKS);
    }

    /**
     * The {@code i}-th lock of range {@code [lba, end)} in ascending table order, as
     * {@code tableIndex << 16 | blockMask}: consecutive regions wrap around the table at most once,
     * so the regions from the wrap on come first.
     */
    private static int regionEntry(long lba, long end, int i) {
        long first = lba / REGION_BLOCKS;
        long regions = (end - 1) / REGION_BLOCKS - first + 1;
        if (regions >= REGION_LOCKS) {
            return i << 16 | (int) REGION_ALL;
        }
        int start = (int) (first % REGION_LOCKS);
        long wrapped = Math.max(0, start + regions - REGION_LOCKS);
        long region = i < wrapped ? first + (REGION_LOCKS - start) + i : first + (i - wrapped);
        int index = (int) (region % REGION_LOCKS);
        long from = Math.max(lba, region * REGION_BLOCKS) - region * REGION_BLOCKS;
        long to = Math.min(end, (region + 1) * REGION_BLOCKS) - region * REGION_BLOCKS;
        long mask = (REGION_ALL >>> (REGION_BLOCKS - (to - from))) << from;
        return index << 16 | (int) mask;
    }

    private MaskLock regionLock(int index) {
        MaskLock lock = regionLocks.get(index);
        if (lock == null) {
            MaskLock created = new MaskLock(REGION_ALL);
            lock = regionLocks.compareAndExchange(index, null, created);
            if (lock == null) {
                lock = created;
            }
        }
        return lock;
    }

    /** Puts the version in {@code slot} back into block {@code lba} of the inner device (the power cut's undo). */
    private void restore(long lba, int slot) {
        inner.write(lba, 1, versions.chunkOf(slot), versions.offsetOf(slot));
    }

    /** Past the bound, every block held becomes durable (early, as a disk may) before {@code blocks} more. */
    private void makeRoom(long blocks) {
        synchronized (undoLock) {
            if (cachedVersions > 0 && cachedVersions + blocks > writeCacheBlocks) {
                forgetAll();
            }
        }
    }

    /** Blocks {@code [lba, lba + blockCount)} are durable now (a FUA write replaced them). */
    private void forget(long lba, long blockCount) {
        synchronized (undoLock) {
            if (unflushed.isEmpty()) {
                return;
            }
            if (blockCount <= unflushed.size()) {
                for (long at = lba; at < lba + blockCount; at++) {
                    release(unflushed.remove(at));
                }
            } else { // a range wider than the log (a ranged flush of a partition): walk the log instead
                for (long at : unflushed.sortedKeys()) {
                    if (at >= lba && at < lba + blockCount) {
                        release(unflushed.remove(at));
                    }
                }
            }
        }
    }

    /** Gives the versions of a forgotten record back (null: the block had none). Under the undo lock. */
    private void release(Pending pending) {
        if (pending == null) {
            return;
        }
        cachedVersions -= pending.versions();
        versions.release(pending.durable);
        for (int i = 0; i < pending.earlierCount; i++) {
            versions.release(pending.earlier[i]);
        }
    }

    private void forgetAll() {
        synchronized (undoLock) {
            unflushed.clear();
            cachedVersions = 0;
            versions.releaseAll();
        }
    }

    private void checkUsable() {
        checkOpen();
        if (!domain.isPowered()) {
            throw powerLost();
        }
        if (failed) {
            throw new CoreException(CoreError.DEVICE_FAILED, "device " + name() + " has failed");
        }
    }

    private CoreException powerLost() {
        return new CoreException(CoreError.POWER_LOST, "device " + name() + " has no power");
    }

    private void checkMediumErrors(List<Extent> errors, long lba, int blockCount, String what) {
        if (!mediumErrors) {
            return;
        }
        synchronized (errorLock) {
            for (Extent extent : errors) {
                if (extent.overlaps(lba, blockCount)) {
                    throw new CoreException(CoreError.MEDIUM_ERROR, "device " + name() + ": " + what + " of blocks ["
                            + lba + ", +" + blockCount + ") hits a medium error in " + extent);
                }
            }
        }
    }

    private boolean touchesReadError(long lba, long blockCount) {
        if (!mediumErrors) {
            return false;
        }
        synchronized (errorLock) {
            return readErrors.stream().anyMatch(e -> e.overlaps(lba, blockCount));
        }
    }

    private static void clearErrors(List<Extent> errors, long lba, int blockCount) {
        List<Extent> remaining = new ArrayList<>();
        Extent written = new Extent(lba, blockCount);
        for (Extent extent : errors) {
            if (!extent.overlaps(written)) {
                remaining.add(extent);
                continue;
            }
            if (extent.lba() < lba) {
                remaining.add(new Extent(extent.lba(), lba - extent.lba()));
            }
            if (extent.endLba() > written.endLba()) {
                remaining.add(new Extent(written.endLba(), extent.endLba() - written.endLba()));
            }
        }
        errors.clear();
        errors.addAll(remaining);
    }

    private static void pause(long nanos) {
        if (nanos > 0) {
            LockSupport.parkNanos(nanos);
        }
    }
}
