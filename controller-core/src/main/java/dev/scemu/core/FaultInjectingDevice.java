package dev.scemu.core;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.locks.LockSupport;

/**
 * A decorating {@link BlockDevice} that behaves like a disk with a volatile write cache and can be
 * made to fail the way real disks do. Deterministic: every random choice derives from its seed.
 *
 * <ul>
 *   <li><b>Volatile write cache.</b> Writes and trims without FUA are held in this device until
 *       {@link #flush()} destages them to the inner device (and flushes it). Reads see them. FUA
 *       writes go straight to the inner device with FUA. This is what makes a power cut honest.
 *       Like a real disk's, the cache is bounded ({@link #setWriteCacheBlocks}, default
 *       {@link #DEFAULT_WRITE_CACHE_BYTES}, counted in block versions held): a write that would
 *       overfill it first destages the latest version of every cached block to the inner device —
 *       those writes become durable early, which the contract allows (only a flush or FUA promises
 *       durability; nothing promises loss). Without that bound a host that never flushes (an NBD
 *       client) would grow the cache without limit.</li>
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
 */
public final class FaultInjectingDevice extends AbstractBlockDevice {

    /** Marker for a trimmed block in the cache: reads as zeros. */
    private static final byte[] TRIMMED = new byte[0];
    /** Default bound of the volatile write cache: 16 MiB of block versions. */
    public static final long DEFAULT_WRITE_CACHE_BYTES = 16L << 20;

    private final BlockDevice inner;
    private final PowerDomain domain;
    private final Random random;
    /** Unflushed versions of each block, oldest first; the last one is what reads see. */
    private final TreeMap<Long, List<byte[]>> unflushed = new TreeMap<>();
    /** Versions held in {@link #unflushed}, all blocks together. */
    private long cachedVersions;
    private long writeCacheBlocks;
    private final List<Extent> readErrors = new ArrayList<>();
    private final List<Extent> writeErrors = new ArrayList<>();
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
    public synchronized void failReads(Extent extent) {
        geometry().checkRange(extent.lba(), extent.blockCount());
        readErrors.add(extent);
    }

    /** Writes touching any block of {@code extent} fail with MEDIUM_ERROR (and write nothing). */
    public synchronized void failWrites(Extent extent) {
        geometry().checkRange(extent.lba(), extent.blockCount());
        writeErrors.add(extent);
    }

    public synchronized void clearMediumErrors() {
        readErrors.clear();
        writeErrors.clear();
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
    public synchronized int corruptBlock(long lba) {
        geometry().checkRange(lba, 1);
        int bit = random.nextInt(blockSize() * 8);
        ByteBuffer block = ByteBuffer.allocateDirect(blockSize());
        inner.read(lba, 1, block, 0);
        block.put(bit >>> 3, (byte) (block.get(bit >>> 3) ^ (1 << (bit & 7))));
        inner.write(lba, 1, block, 0, true);
        for (byte[] cached : unflushed.getOrDefault(lba, List.of())) {
            if (cached != TRIMMED) {
                cached[bit >>> 3] ^= (byte) (1 << (bit & 7));
            }
        }
        return bit;
    }

    /**
     * Bounds the volatile write cache to {@code blocks} block versions (at least 1): a write that
     * would hold more destages the cache first (see the class description).
     */
    public synchronized void setWriteCacheBlocks(long blocks) {
        if (blocks < 1) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, "device " + name() + ": write cache of " + blocks
                    + " blocks, must hold at least 1");
        }
        this.writeCacheBlocks = blocks;
    }

    public synchronized long writeCacheBlocks() {
        return writeCacheBlocks;
    }

    /** Blocks written or trimmed since the last flush. */
    public synchronized int unflushedBlockCount() {
        return unflushed.size();
    }

    /** The blocks written or trimmed since the last flush. */
    public synchronized java.util.Set<Long> unflushedBlocks() {
        return java.util.Set.copyOf(unflushed.keySet());
    }

    @Override
    protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        pause(readLatencyNanos);
        synchronized (this) {
            checkUsable();
            checkMediumErrors(readErrors, lba, blockCount, "read");
            inner.read(lba, blockCount, buffer, bufferOffset);
            meter().issuedRead(IoCause.HOST, geometry().lengthOf(blockCount));
            int blockSize = blockSize();
            for (Map.Entry<Long, List<byte[]>> entry : unflushed.subMap(lba, lba + blockCount).entrySet()) {
                int at = bufferOffset + (int) (entry.getKey() - lba) * blockSize;
                byte[] data = latest(entry.getValue());
                if (data == TRIMMED) {
                    NativeMemory.zero(buffer, at, blockSize);
                } else {
                    buffer.put(at, data);
                }
            }
        }
    }

    @Override
    protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        pause(writeLatencyNanos);
        boolean cutNow = domain.numberWrite();
        synchronized (this) {
            checkUsable();
            if (cutNow) {
                if (domain.armedMode() == PowerCutMode.KEEP_RANDOM_SUBSET) {
                    cache(lba, blockCount, buffer, bufferOffset);
                }
            } else {
                checkMediumErrors(writeErrors, lba, blockCount, "write");
                if (fua) {
                    inner.write(lba, blockCount, buffer, bufferOffset, true);
                    meter().issuedWrite(IoCause.HOST, geometry().lengthOf(blockCount));
                    dropCached(lba, blockCount);
                } else {
                    cache(lba, blockCount, buffer, bufferOffset);
                }
                if (writesClearReadErrors) {
                    clearErrors(readErrors, lba, blockCount);
                }
                return;
            }
        }
        domain.cut(domain.armedMode());
        throw powerLost();
    }

    @Override
    protected void doTrim(long lba, long blockCount) {
        boolean cutNow = domain.numberWrite();
        synchronized (this) {
            checkUsable();
            if (!cutNow) {
                makeRoom(blockCount);
                for (long block = lba; block < lba + blockCount; block++) {
                    unflushed.computeIfAbsent(block, k -> new ArrayList<>(1)).add(TRIMMED);
                }
                cachedVersions += blockCount;
                return;
            }
        }
        domain.cut(domain.armedMode());
        throw powerLost();
    }

    @Override
    protected synchronized void doFlush() {
        checkUsable();
        destage(lba -> latest(unflushed.get(lba)));
        inner.flush();
    }

    /**
     * Cuts power to the whole domain, but first this device's cache destages exactly the latest
     * version of {@code survivingLbas} (the rest is lost): for scenario tests that need one precise
     * torn outcome.
     */
    public void cutPowerKeeping(java.util.Set<Long> survivingLbas) {
        synchronized (this) {
            checkUsable();
            destage(lba -> survivingLbas.contains(lba) ? latest(unflushed.get(lba)) : null);
            inner.flush();
        }
        domain.cut(PowerCutMode.DROP_UNFLUSHED);
    }

    /**
     * Called by the power domain with power already off. With {@link PowerCutMode#KEEP_RANDOM_SUBSET}
     * each unflushed block independently ends up with its durable content or with any one of the
     * versions written to it since the last flush (a disk may destage an intermediate version and
     * lose a later one).
     */
    synchronized void losePower(PowerCutMode mode) {
        if (mode == PowerCutMode.KEEP_RANDOM_SUBSET && !unflushed.isEmpty()) {
            destage(lba -> {
                List<byte[]> versions = unflushed.get(lba);
                int choice = random.nextInt(versions.size() + 1);
                return choice == 0 ? null : versions.get(choice - 1);
            });
            inner.flush();
        }
        unflushed.clear();
        cachedVersions = 0;
    }

    @Override
    protected void doClose() {
        domain.detach(this);
        inner.close();
    }

    /**
     * Writes, in LBA order and coalescing runs, the version {@code choose} picks for each cached
     * block (null: nothing, the durable content stays), then empties the cache.
     */
    private void destage(java.util.function.LongFunction<byte[]> choose) {
        int blockSize = blockSize();
        ByteBuffer run = ByteBuffer.allocateDirect(64 * blockSize);
        long runLba = -1;
        int runBlocks = 0;
        for (long lba : unflushed.keySet()) {
            byte[] data = choose.apply(lba);
            if (data == null) {
                continue;
            }
            if (data == TRIMMED) {
                runBlocks = writeRun(runLba, runBlocks, run);
                inner.trim(lba, 1);
                continue;
            }
            if (runBlocks == 64 || (runBlocks > 0 && lba != runLba + runBlocks)) {
                runBlocks = writeRun(runLba, runBlocks, run);
            }
            if (runBlocks == 0) {
                runLba = lba;
            }
            run.put(runBlocks * blockSize, data);
            runBlocks++;
        }
        writeRun(runLba, runBlocks, run);
        unflushed.clear();
        cachedVersions = 0;
    }

    /** Destages the cache (latest versions, no flush of the inner device) if it cannot take {@code blocks} more. */
    private void makeRoom(long blocks) {
        if (cachedVersions > 0 && cachedVersions + blocks > writeCacheBlocks) {
            destage(lba -> latest(unflushed.get(lba)));
        }
    }

    /** Forgets the cached versions of {@code [lba, lba + blockCount)} (a FUA write replaced them). */
    private void dropCached(long lba, int blockCount) {
        var range = unflushed.subMap(lba, lba + blockCount);
        for (List<byte[]> versions : range.values()) {
            cachedVersions -= versions.size();
        }
        range.clear();
    }

    private int writeRun(long lba, int blockCount, ByteBuffer run) {
        if (blockCount > 0) {
            inner.write(lba, blockCount, run, 0);
            meter().issuedWrite(IoCause.HOST, geometry().lengthOf(blockCount));
        }
        return 0;
    }

    private void cache(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        makeRoom(blockCount);
        cachedVersions += blockCount;
        int blockSize = blockSize();
        for (int i = 0; i < blockCount; i++) {
            byte[] copy = new byte[blockSize];
            buffer.get(bufferOffset + i * blockSize, copy);
            unflushed.computeIfAbsent(lba + i, k -> new ArrayList<>(1)).add(copy);
        }
    }

    private static byte[] latest(List<byte[]> versions) {
        return versions.get(versions.size() - 1);
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
        for (Extent extent : errors) {
            if (extent.overlaps(lba, blockCount)) {
                throw new CoreException(CoreError.MEDIUM_ERROR, "device " + name() + ": " + what + " of blocks ["
                        + lba + ", +" + blockCount + ") hits a medium error in " + extent);
            }
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
