package dev.scemu.raid.internal;

import static dev.scemu.raid.internal.MdSuperblockLayout.FEATURE_RAID0_LAYOUT;
import static dev.scemu.raid.internal.MdSuperblockLayout.SECTOR_BYTES;

import dev.scemu.core.AbstractBlockDevice;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockFill;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.IoCause;
import dev.scemu.core.NativeMemory;
import dev.scemu.raid.AssembleOptions;
import dev.scemu.raid.MemberState;
import dev.scemu.raid.Raid5Layout;
import dev.scemu.raid.RaidArray;
import dev.scemu.raid.RaidConfig;
import dev.scemu.raid.RaidError;
import dev.scemu.raid.RaidException;
import dev.scemu.raid.RaidLevel;
import dev.scemu.raid.RebuildListener;
import dev.scemu.raid.RebuildProgress;
import dev.scemu.raid.ScrubListener;
import dev.scemu.raid.ScrubMismatch;
import dev.scemu.raid.ScrubResult;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The array engine behind {@link RaidArray}: member slots, member I/O with failure handling, and
 * the background worker; the level-specific data path lives in a {@link LevelEngine}. Start-up
 * (create, assemble) is {@link MdArrayStartup}; superblock and bitmap persistence, with the md state
 * they record, is {@link MdMetadata}.
 *
 * <h2>Member layout (sectors of 512 bytes from the member start)</h2>
 * <pre>
 *   0 ..   7   unused (4 KiB, where md 1.1 would put its superblock)
 *   8 ..  15   md v1.2 superblock ({@link MdSuperblockLayout})
 *  16 .. 16+b  md internal bitmap, b = reserved sectors ({@link MdBitmapLayout})
 *  ...         free (reserved for the parity/intent log)
 *  data_offset member data: chunks of the stripes
 * </pre>
 *
 * <h2>Ordering</h2>
 * See {@link RaidArray}: dirty before first write, bitmap bit durable before a region's data,
 * superblocks updated (events + 1) on every state change, rebuild checkpoint after a flush.
 */
public final class MdRaidArray extends AbstractBlockDevice implements RaidArray {

    private static final Logger LOG = LoggerFactory.getLogger(MdRaidArray.class);

    /** Rebuild writes a recovery_offset checkpoint every this many units (and at the end). */
    static final int CHECKPOINT_UNITS = 16;

    final RaidLevel level;
    final int raidDisks;
    final int chunkBytes;
    final int chunkBlocks;
    final int blockSize;
    final int sectorsPerBlock;
    final Raid5Layout layout;
    final long dataOffsetBlocks;
    final long dataOffsetSectors;
    final long dataSizeSectors;
    /** Used data blocks per member (md's size; on RAID-0, data_size rounded down to the chunk). */
    final long memberDataBlocks;
    /** The superblock's size field as found (RAID-0 members mdadm made carry 0); written back unchanged. */
    final long sbSizeSectors;
    /** The superblock's layout field as found (RAID-0 members mdadm made carry 1). */
    final int mdLayout;
    /** Feature bits kept as found (RAID0_LAYOUT). */
    final int preservedFeatures;
    final UUID setUuid;
    final String arrayName;
    final long ctime;
    final Slot[] slots;
    /**
     * Row locks (RAID-5: rows of columns, one per block offset in the chunk; RAID-1: regions, whole
     * only); see {@link StripeLocks} and {@link Raid5Engine}'s Locking for who takes what.
     */
    final StripeLocks locks;
    final BufferPool pool;
    final WriteIntentBitmap bitmap;
    final LevelEngine engine;
    /** Superblock and bitmap persistence, with the md state they record (events, active, roles). */
    final MdMetadata metadata;
    /** RAID-5 parity journal in the free area before data_offset; null when there is no room. */
    ParityJournal journal;

    /**
     * Spares given at assembly (md's dev_roles 0xffff): no role, never read or written until a
     * rebuild takes one for an empty role ({@link #useSpare}); guarded by {@code metadata.lock}.
     */
    final List<MemberSelection.Spare> spares = new java.util.ArrayList<>();
    private volatile CompletableFuture<RebuildProgress> spareWork = CompletableFuture.completedFuture(null);

    /** First unit not yet resynced without a bitmap guide; -1 when in sync. */
    volatile long resyncCursorUnit = -1;
    private volatile boolean stopping;
    private volatile boolean stopped;
    volatile long rebuildBytesPerSecond;
    /** md's sync_speed_min in bytes/s; Long.MAX_VALUE = never yield to host I/O. */
    private volatile long syncSpeedMin = Long.MAX_VALUE;
    private final java.util.concurrent.atomic.LongAdder hostIo = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.AtomicInteger hostInFlight = new java.util.concurrent.atomic.AtomicInteger();
    /** Assembled read-only: nothing is written to the members (set by start-up, before any I/O). */
    volatile boolean readOnly;
    private final ExecutorService worker;
    private volatile CompletableFuture<RebuildProgress> background = CompletableFuture.completedFuture(null);

    /**
     * {@code bitmapSource}: the member whose bitmap header is read (an in-sync one, as md reads it);
     * {@code raid0Zones}: RAID-0 of members of different sizes (null: one zone of equal members).
     */
    MdRaidArray(String name, BlockGeometry geometry, MdSuperblock reference, BlockDevice[] devices,
                        BlockDevice bitmapSource, Raid0Zones raid0Zones) {
        super(name, geometry);
        this.level = RaidLevel.ofMd(reference.level);
        this.raidDisks = reference.raidDisks;
        this.blockSize = geometry.blockSize();
        this.sectorsPerBlock = blockSize / SECTOR_BYTES;
        this.chunkBytes = reference.chunkSectors > 0 ? reference.chunkSectors * SECTOR_BYTES
                : RaidConfig.DEFAULT_CHUNK_BYTES;
        this.chunkBlocks = chunkBytes / blockSize;
        this.layout = level == RaidLevel.RAID5 ? Raid5Layout.ofMd(reference.layout) : Raid5Layout.LEFT_SYMMETRIC;
        this.dataOffsetSectors = reference.dataOffsetSectors;
        this.dataOffsetBlocks = reference.dataOffsetSectors / sectorsPerBlock;
        this.dataSizeSectors = reference.dataSizeSectors;
        this.memberDataBlocks = MemberSelection.usedSectors(reference) / sectorsPerBlock;
        this.sbSizeSectors = reference.sizeSectors;
        this.mdLayout = reference.layout;
        this.preservedFeatures = reference.featureMap & FEATURE_RAID0_LAYOUT;
        this.setUuid = reference.setUuid;
        this.arrayName = reference.setName;
        this.ctime = reference.ctime;
        this.slots = new Slot[raidDisks];
        for (int i = 0; i < raidDisks; i++) {
            slots[i] = new Slot(i);
        }
        this.locks = new StripeLocks(StripeLocks.DEFAULT_SIZE, level == RaidLevel.RAID5 ? chunkBlocks : 1);
        this.pool = new BufferPool(chunkBytes);
        this.metadata = new MdMetadata(this, reference);
        this.bitmap = MdMetadata.openBitmap(this, reference, bitmapSource);
        this.engine = switch (level) {
            case RAID0 -> new Raid0Engine(this, raid0Zones != null ? raid0Zones
                    : Raid0Zones.uniform(raidDisks, memberDataBlocks, chunkBlocks));
            case RAID1 -> new Raid1Engine(this);
            case RAID5 -> new Raid5Engine(this);
        };
        this.worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "raid-" + name + "-worker");
            t.setDaemon(true);
            return t;
        });
    }

    /** See {@link RaidArray#create}; {@link MdArrayStartup} does the work. */
    public static MdRaidArray create(RaidConfig config, List<? extends BlockDevice> members) {
        return MdArrayStartup.create(config, members);
    }

    /** See {@link RaidArray#assemble}; {@link MdArrayStartup} does the work. */
    public static MdRaidArray assemble(List<? extends BlockDevice> candidates, AssembleOptions options) {
        return MdArrayStartup.assemble(candidates, options);
    }

    // ------------------------------------------------------------------ state changes

    @Override
    public long events() {
        return metadata.events();
    }

    void writeSuperblocks() {
        metadata.writeSuperblocks();
    }

    /** Before the first write after a clean state: superblocks say "active" (resync_offset 0), flushed. */
    void beginWrite() {
        if (stopped) {
            throw new RaidException(RaidError.STOPPED, "array " + name() + " is stopped");
        }
        metadata.markActive();
    }

    /** Fails whatever device the slot holds now (a request, not an I/O error): {@link #markFailed(Slot, BlockDevice, String)}. */
    void markFailed(Slot slot, String reason) {
        markFailed(slot, null, reason);
    }

    /**
     * Fails the member in {@code slot} because {@code device} (null: whichever it holds) failed. md
     * fails an rdev, not a role: an error from a device the slot no longer holds (an I/O that began
     * before the failed device was replaced and ended after) fails nothing, or it would fail the
     * replacement mid-rebuild. {@link #replace} installs a device under the same lock.
     */
    void markFailed(Slot slot, BlockDevice device, String reason) {
        synchronized (metadata.lock) {
            if (slot.state == MemberState.FAILED) {
                return;
            }
            if (device != null && slot.device != device) {
                LOG.debug("array {}: error from {}, no longer member {}, ignored: {}", name(), device.name(), slot.role,
                        reason);
                return;
            }
            LOG.warn("array {}: member {} ({}) failed: {}", name(), slot.role,
                    slot.device == null ? "-" : slot.device.name(), reason);
            slot.state = MemberState.FAILED;
            slot.fault = reason;
            if (level == RaidLevel.RAID0) {
                // md's raid0 records no faulty role (it has no redundancy to run on): the array is
                // broken while the member is gone and assembles again when it is back
                return;
            }
            metadata.recordFaulty(slot.devNumber);
            metadata.writeSuperblocks();
            if (!spares.isEmpty()) {
                scheduleSpare(null);
            }
        }
    }

    /**
     * md_check_recovery: a degraded array with a spare starts recovery onto it; on the worker,
     * after whatever background work is running (which may be the caller).
     */
    void scheduleSpare(RebuildListener listener) {
        if (readOnly) {
            return;
        }
        CompletableFuture<RebuildProgress> done = new CompletableFuture<>();
        spareWork = done;
        // the work running now, queued on the worker before this task (work queued after it would
        // never complete while this task waits on the worker's one thread: useSpare skips it instead)
        CompletableFuture<RebuildProgress> previous = background;
        try {
            worker.execute(() -> {
                try {
                    previous.handle((r, e) -> null).join();
                    CompletableFuture<RebuildProgress> rebuild = useSpare(listener);
                    if (rebuild == null) {
                        done.complete(null);
                    } else {
                        rebuild.whenComplete((p, e) -> {
                            if (e != null) {
                                done.completeExceptionally(e);
                            } else {
                                done.complete(p);
                            }
                        });
                    }
                } catch (RuntimeException e) {
                    LOG.warn("array {}: rebuild onto a spare did not start: {}", name(), e.getMessage());
                    done.completeExceptionally(e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException stopped) {
            done.complete(null); // the array is stopping: the spare stays a spare
        }
    }

    /**
     * The last rebuild onto a spare that a member failure scheduled ({@link #scheduleSpare}):
     * completes when it is done, with null when there was nothing to rebuild or no spare.
     */
    public CompletableFuture<RebuildProgress> spareWork() {
        return spareWork;
    }

    /**
     * md's hot spare (md_check_recovery → remove_and_add_spares, then md_do_sync's recovery): the
     * first empty role is rebuilt onto the first spare that fits, which keeps its device number and
     * device UUID (md keeps an rdev's desc_nr when a spare becomes active) through
     * {@link #replaceMember}'s ordering. Returns the rebuild, or null when there is nothing to do
     * (no empty role, no spare, read-only, stopping, background work running).
     */
    CompletableFuture<RebuildProgress> useSpare(RebuildListener listener) {
        MemberSelection.Spare spare = null;
        int role = -1;
        synchronized (metadata.lock) {
            if (readOnly || stopping || level == RaidLevel.RAID0 || spares.isEmpty() || !background.isDone()) {
                return null;
            }
            for (int r = 0; r < raidDisks && role < 0; r++) {
                role = slots[r].state == MemberState.FAILED ? r : -1;
            }
            if (role < 0) {
                return null;
            }
            for (MemberSelection.Spare candidate : spares) {
                if (spare == null && fitsAsMember(candidate.device())) {
                    spare = candidate;
                }
            }
            if (spare == null) {
                LOG.warn("array {}: member {} is empty and no spare is large enough ({} blocks of {} needed)", name(),
                        role, memberBlocksNeeded(), blockSize);
                return null;
            }
            spares.remove(spare);
        }
        LOG.info("array {}: rebuilding member {} onto spare {} (device number {})", name(), role,
                spare.device().name(), spare.sb().devNumber);
        try {
            return replace(role, spare.device(), listener, spare.sb());
        } catch (RuntimeException e) {
            synchronized (metadata.lock) {
                spares.add(spare); // still the array's to close, and a spare for a later attempt
            }
            throw e;
        }
    }

    /** Blocks a member needs: data offset, data, and the parity journal after it. */
    private long memberBlocksNeeded() {
        return journal != null ? journal.region().startLba() + journal.region().blockCount()
                : dataOffsetBlocks + memberDataBlocks;
    }

    private boolean fitsAsMember(BlockDevice device) {
        return device.blockSize() == blockSize && device.blockCount() >= memberBlocksNeeded();
    }

    /** Spares held (idle, no role), for status and tests. */
    public List<BlockDevice> spareDevices() {
        synchronized (metadata.lock) {
            return spares.stream().map(MemberSelection.Spare::device).toList();
        }
    }

    static void rethrowIfFatal(CoreException e) {
        if (isFatal(e)) {
            throw e;
        }
    }

    /** A power cut or a closed member: the array cannot go on by failing the member. */
    static boolean isFatal(CoreException e) {
        return e.code() == CoreError.POWER_LOST || e.code() == CoreError.CLOSED;
    }

    /** {@link #rethrowIfFatal(CoreException)} of an error {@code device} returned as the device of {@code slot}: {@link #isFatal(CoreException, Slot, BlockDevice)}. */
    static void rethrowIfFatal(CoreException e, Slot slot, BlockDevice device) {
        if (isFatal(e, slot, device)) {
            throw e;
        }
    }

    /**
     * {@link #isFatal(CoreException)} of an error {@code device} returned as the device of
     * {@code slot}, except that CLOSED from a device the slot no longer holds is not fatal: the
     * owner of a failed device may close it as soon as the array took its replacement
     * ({@code StorageControlUnit.replaceDisk} does), while an I/O the array began on it before it
     * failed is still under way. Such an I/O failed on a device that has left the array, as with
     * any other error from it ({@link #markFailed(Slot, BlockDevice, String)} fails nothing then).
     */
    static boolean isFatal(CoreException e, Slot slot, BlockDevice device) {
        return e.code() == CoreError.POWER_LOST || (e.code() == CoreError.CLOSED && slot.device == device);
    }

    // ------------------------------------------------------------------ member I/O

    static final int IO_OK = 0;
    static final int IO_MEDIUM_ERROR = 1;
    static final int IO_UNAVAILABLE = 2;

    /**
     * Reads member data blocks (relative to data_offset) of {@code role}. A medium error leaves the
     * member active (the caller reconstructs and rewrites); any other error fails the member.
     */
    int readMember(int role, long memberLba, int blockCount, ByteBuffer buffer, int bufferOffset, IoCause cause) {
        Slot slot = slots[role];
        BlockDevice d = slot.device;
        if (d == null || slot.state == MemberState.FAILED) {
            return IO_UNAVAILABLE;
        }
        BadBlockLog bblog = badBlocksOf(slot);
        if (bblog != null && bblog.isBad((dataOffsetBlocks + memberLba) * sectorsPerBlock,
                (long) blockCount * sectorsPerBlock)) {
            // md never reads a listed bad block as data: the caller reconstructs it from redundancy
            return IO_MEDIUM_ERROR;
        }
        try {
            d.read(dataOffsetBlocks + memberLba, blockCount, buffer, bufferOffset);
            meter().issuedRead(cause, (long) blockCount * blockSize);
            return IO_OK;
        } catch (CoreException e) {
            rethrowIfFatal(e, slot, d);
            if (e.code() == CoreError.MEDIUM_ERROR) {
                LOG.debug("array {}: member {} medium error reading member lba {} +{}", name(), role, memberLba,
                        blockCount);
                return IO_MEDIUM_ERROR;
            }
            markFailed(slot, d, "read of member lba " + memberLba + " +" + blockCount + ": " + e.getMessage());
            return IO_UNAVAILABLE;
        }
    }

    /**
     * Trims member data blocks of {@code role} (the member reads zeros there afterwards, durable at
     * its next flush). A range holding a logged bad block gets zeros written instead, through
     * {@link #writeMember} (which writes around the bad blocks as a write does). Any error fails the
     * member, as a write error does; returns false if the member is gone or failed.
     */
    boolean trimMember(int role, long memberLba, long blockCount, IoCause cause) {
        Slot slot = slots[role];
        BlockDevice d = slot.device;
        if (d == null || slot.state == MemberState.FAILED) {
            return false;
        }
        BadBlockLog bblog = badBlocksOf(slot);
        if (bblog != null && !bblog.isEmpty() && bblog.isBad((dataOffsetBlocks + memberLba) * sectorsPerBlock,
                blockCount * sectorsPerBlock)) {
            ByteBuffer zeros = pool.acquire();
            try {
                Xor.zero(zeros, 0, zeros.capacity());
                for (long done = 0; done < blockCount; ) {
                    int n = (int) Math.min(chunkBlocks, blockCount - done);
                    if (!writeMember(role, memberLba + done, n, zeros, 0, cause, false)) {
                        return false;
                    }
                    done += n;
                }
                return true;
            } finally {
                pool.release(zeros);
            }
        }
        try {
            d.trim(dataOffsetBlocks + memberLba, blockCount);
            return true;
        } catch (CoreException e) {
            rethrowIfFatal(e, slot, d);
            markFailed(slot, d, "trim of member lba " + memberLba + " +" + blockCount + ": " + e.getMessage());
            return false;
        }
    }

    /** Writes member data blocks; any error fails the member (md fails a device on a write error). */
    boolean writeMember(int role, long memberLba, int blockCount, ByteBuffer buffer, int bufferOffset, IoCause cause,
                        boolean fua) {
        Slot slot = slots[role];
        BlockDevice d = slot.device;
        if (d == null || slot.state == MemberState.FAILED) {
            return false;
        }
        BadBlockLog bblog = badBlocksOf(slot);
        if (bblog != null && !bblog.isEmpty() && bblog.isBad((dataOffsetBlocks + memberLba) * sectorsPerBlock,
                (long) blockCount * sectorsPerBlock)) {
            return writeAroundBadBlocks(slot, memberLba, blockCount, buffer, bufferOffset, cause, fua);
        }
        try {
            d.write(dataOffsetBlocks + memberLba, blockCount, buffer, bufferOffset, fua);
            meter().issuedWrite(cause, (long) blockCount * blockSize);
            return true;
        } catch (CoreException e) {
            rethrowIfFatal(e, slot, d);
            if (bblog != null && narrowWriteError(slot, d, memberLba, blockCount, buffer, bufferOffset, cause, fua)) {
                return true;
            }
            markFailed(slot, d, "write of member lba " + memberLba + " +" + blockCount + ": " + e.getMessage());
            return false;
        }
    }

    /**
     * {@link #writeMember} of bytes {@code fill} computes ({@link BlockDevice#writeComputed}): a
     * memory member takes them in place, any other fills {@code scratch} (a pool buffer) and writes
     * it. A member with a bad-block log takes the buffer path of {@link #writeMember}, which writes
     * around listed blocks and narrows write errors; errors fail the member as there.
     */
    boolean writeMemberComputed(int role, long memberLba, int blockCount, BlockFill fill, ByteBuffer scratch,
                                IoCause cause, boolean fua) {
        Slot slot = slots[role];
        BlockDevice d = slot.device;
        if (d == null || slot.state == MemberState.FAILED) {
            return false;
        }
        if (badBlocksOf(slot) != null) {
            fill.fill(NativeMemory.address(scratch), blockCount * blockSize);
            return writeMember(role, memberLba, blockCount, scratch, 0, cause, fua);
        }
        try {
            d.writeComputed(dataOffsetBlocks + memberLba, blockCount, fill, scratch, fua);
            meter().issuedWrite(cause, (long) blockCount * blockSize);
            return true;
        } catch (CoreException e) {
            rethrowIfFatal(e, slot, d);
            markFailed(slot, d, "write of member lba " + memberLba + " +" + blockCount + ": " + e.getMessage());
            return false;
        }
    }

    /**
     * The bad-block log the data path honours: the member's, except on RAID-0, whose md
     * personality does not consult it (the log is still kept in the superblock as found).
     */
    private BadBlockLog badBlocksOf(Slot slot) {
        return level == RaidLevel.RAID0 ? null : slot.bblog;
    }

    /** Writes the blocks of the range the member's bad-block log does not list (md skips bad ranges). */
    private boolean writeAroundBadBlocks(Slot slot, long memberLba, int blockCount, ByteBuffer buffer,
                                         int bufferOffset, IoCause cause, boolean fua) {
        for (int i = 0; i < blockCount; i++) {
            long sector = (dataOffsetBlocks + memberLba + i) * sectorsPerBlock;
            if (!slot.bblog.isBad(sector, sectorsPerBlock)
                    && !writeMember(slot.role, memberLba + i, 1, buffer, bufferOffset + i * blockSize, cause, fua)) {
                return false;
            }
        }
        return true;
    }

    /**
     * md's {@code narrow_write_error}: a failed member write is retried block by block and the
     * blocks that still fail are recorded in the member's bad-block log (log, then superblock);
     * false when the log cannot take them (full), and the member must fail.
     */
    private boolean narrowWriteError(Slot slot, BlockDevice d, long memberLba, int blockCount, ByteBuffer buffer,
                                     int bufferOffset, IoCause cause, boolean fua) {
        List<Long> bad = new java.util.ArrayList<>();
        for (int i = 0; i < blockCount; i++) {
            try {
                d.write(dataOffsetBlocks + memberLba + i, 1, buffer, bufferOffset + i * blockSize, fua);
                meter().issuedWrite(cause, blockSize);
            } catch (CoreException e) {
                rethrowIfFatal(e, slot, d);
                if (e.code() != CoreError.MEDIUM_ERROR && e.code() != CoreError.IO_ERROR) {
                    return false; // the device is gone, not a bad sector
                }
                bad.add(dataOffsetBlocks + memberLba + i);
            }
        }
        return metadata.recordBadBlocks(slot, bad);
    }

    /**
     * Writes {@code blockCount} blocks rebuilt from redundancy to member {@code role} at member block
     * {@code memberLba} ({@link #repairFromCopy}: a caller's checksum found the member's copy damaged),
     * FUA; the superblocks are written first if the array is still read-auto (a repair is a change, as
     * for {@link #repairMediumErrors}). Nothing on a read-only assembly. Caller holds the row or region lock.
     */
    void rewriteFromRedundancy(int role, long memberLba, int blockCount, ByteBuffer good, int goodOffset) {
        if (readOnly) {
            return;
        }
        metadata.leaveReadAuto();
        if (writeMember(role, memberLba, blockCount, good, goodOffset, IoCause.REBUILD, true)) {
            Slot slot = slots[role];
            synchronized (slot) {
                slot.correctedReads++; // md's cnt_corrected_read, as for a read error fixed from redundancy
            }
            LOG.warn("array {}: rewrote {} block(s) of member {} at member lba {} from redundancy: the copy there failed"
                    + " its reader's check", name(), blockCount, role, memberLba);
        }
    }

    /**
     * Repairs latent sector errors of {@code role} in member blocks {@code [memberLba, +blockCount)}
     * whose good contents are in {@code good}: like md's fix_read_error, the range is re-read block
     * by block and only blocks that fail with a medium error are rewritten (a drive remaps a
     * sector on write). Caller holds the stripe or region lock.
     */
    void repairMediumErrors(int role, long memberLba, int blockCount, ByteBuffer good, int goodOffset) {
        if (readOnly) {
            return; // a read-only assembly writes nothing, repairs included (reads are still reconstructed)
        }
        Slot slot = slots[role];
        ByteBuffer probe = pool.acquire();
        try {
            for (int i = 0; i < blockCount && slot.present(); i++) {
                int status = readMember(role, memberLba + i, 1, probe, 0, IoCause.REBUILD);
                BadBlockLog bblog = slot.bblog;
                boolean listed = bblog != null && bblog.isBad((dataOffsetBlocks + memberLba + i) * sectorsPerBlock,
                        sectorsPerBlock);
                if (status == IO_MEDIUM_ERROR && !listed) {
                    metadata.leaveReadAuto(); // a repair is a change: the superblocks are written first
                }
                if (status == IO_MEDIUM_ERROR && !listed
                        && writeMember(role, memberLba + i, 1, good, goodOffset + i * blockSize, IoCause.REBUILD, false)) {
                    synchronized (slot) {
                        slot.correctedReads++;
                    }
                    LOG.info("array {}: repaired member {} lba {} from redundancy", name(), role, memberLba + i);
                }
            }
        } finally {
            pool.release(probe);
        }
    }

    boolean readable(int role, long memberEndBlock) {
        return slots[role].readable(memberEndBlock);
    }

    /** {@link Slot#inSyncDurably}: whether a write there needs no parity journal for this member. */
    boolean inSyncDurably(int role, long memberEndBlock) {
        return slots[role].inSyncDurably(memberEndBlock);
    }

    boolean writable(int role) {
        return slots[role].present();
    }

    RaidException arrayFailed(String what, long lba, int role) {
        return new RaidException(RaidError.ARRAY_FAILED, "array " + name() + ": cannot " + what + " at array lba "
                + lba + ": member " + role + " unavailable and " + (level == RaidLevel.RAID0 ? "RAID-0 has no redundancy"
                : "no redundancy left") + " (states "
                + Arrays.toString(Arrays.stream(slots).map(s -> s.state).toArray()) + ")");
    }

    // ------------------------------------------------------------------ BlockDevice

    @Override
    protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        hostIo.increment();
        hostInFlight.incrementAndGet();
        try {
            if (stopped) {
                throw new RaidException(RaidError.STOPPED, "array " + name() + " is stopped");
            }
            engine.read(lba, blockCount, buffer, bufferOffset);
        } finally {
            hostInFlight.decrementAndGet();
        }
    }

    @Override
    protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        hostIo.increment();
        hostInFlight.incrementAndGet();
        try {
            beginWrite();
            engine.write(lba, blockCount, buffer, bufferOffset, fua);
        } finally {
            hostInFlight.decrementAndGet();
        }
    }

    /** RAID-5: a read-modify-write takes the old data from {@code old} and reads only old parity. */
    @Override
    protected void doWriteOver(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, ByteBuffer old,
                               int oldOffset, boolean fua) {
        hostIo.increment();
        hostInFlight.incrementAndGet();
        try {
            beginWrite();
            engine.writeOver(lba, blockCount, buffer, bufferOffset, old, oldOffset, fua);
        } finally {
            hostInFlight.decrementAndGet();
        }
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    protected void doFlush() {
        if (flushable()) {
            flushClearingIdleBits(bitmap != null ? bitmap.beginClear() : null, 0, -1);
        }
    }

    /** False while read-auto (nothing was written); a stopped array refuses. */
    private boolean flushable() {
        if (stopped) {
            throw new RaidException(RaidError.STOPPED, "array " + name() + " is stopped");
        }
        return !readOnly;
    }

    /**
     * Flushes member blocks {@code [memberLba, memberLba + blockCount)} ({@code -1}: whole members),
     * then clears the bitmap bits that {@code snapshot} (taken before the flush by
     * {@link WriteIntentBitmap#beginClear}, null without a bitmap) found idle.
     */
    private void flushClearingIdleBits(long[] snapshot, long memberLba, long blockCount) {
        flushMembers(memberLba, blockCount);
        if (snapshot != null) {
            bitmap.finishClear(snapshot);
        }
    }

    /**
     * Flushes the members' blocks that hold array blocks {@code [lba, lba + blockCount)}: the same
     * member data range on every working member (the rows the range touches, data and parity),
     * each with a ranged member flush, all at once. A write completed before the call and inside
     * the range changed only member blocks of those rows, so it is durable when this returns; writes
     * elsewhere on the members are not made durable (a snapshot store's commit does not write back
     * the data partition's pages). Bitmap bits are cleared as a full flush clears them, but only
     * those whose whole region lies inside the flushed member range, the only regions this flush
     * made durable. A RAID-0 range that spans zones of unequal members, or lies in a zone the
     * smaller members do not reach, flushes everything.
     */
    @Override
    protected void doFlushRange(long lba, long blockCount) {
        if (!flushable()) {
            return;
        }
        long end = lba + blockCount;
        long memberStart;
        long memberEnd;
        switch (level) {
            case RAID1 -> {
                memberStart = lba;
                memberEnd = end;
            }
            case RAID5 -> {
                long rowBlocks = (long) chunkBlocks * (raidDisks - 1);
                memberStart = lba / rowBlocks * chunkBlocks;
                memberEnd = Math.min((end + rowBlocks - 1) / rowBlocks * chunkBlocks, memberDataBlocks);
            }
            default -> {
                Raid0Zones zones = ((Raid0Engine) engine).zones();
                Raid0Zones.Zone zone = zones.zoneOf(lba);
                if (zone != zones.zoneOf(end - 1) || zone.roles().length != raidDisks) {
                    doFlush(); // across zones, or in a zone of the larger members only: the smaller ones end before it
                    return;
                }
                long rowBlocks = (long) chunkBlocks * zone.roles().length;
                memberStart = zone.devStart() + (lba - zone.arrayStart()) / rowBlocks * chunkBlocks;
                memberEnd = zone.devStart() + (end - zone.arrayStart() + rowBlocks - 1) / rowBlocks * chunkBlocks;
            }
        }
        flushClearingIdleBits(bitmap != null ? bitmap.beginClear(memberStart * sectorsPerBlock, memberEnd * sectorsPerBlock) : null,
                dataOffsetBlocks + memberStart, memberEnd - memberStart);
    }

    /**
     * Flushes every working member, all at once ({@link MemberFlushes}): a flush costs the slowest
     * member's, not their sum. A member whose flush fails is failed; a power cut or a closed member
     * is rethrown once every flush has returned.
     */
    void flushMembers() {
        flushMembers(0, -1);
    }

    /** {@link #flushMembers()} of member blocks {@code [memberLba, memberLba + blockCount)}; a count of -1: whole members. */
    private void flushMembers(long memberLba, long blockCount) {
        List<Slot> working = new ArrayList<>(slots.length);
        List<BlockDevice> devices = new ArrayList<>(slots.length);
        for (Slot slot : slots) {
            BlockDevice d = slot.device;
            if (d != null && slot.state != MemberState.FAILED) {
                working.add(slot);
                devices.add(d);
            }
        }
        CoreException[] errors = MemberFlushes.flushAll(devices, memberLba, blockCount);
        CoreException fatal = null;
        for (int i = 0; i < errors.length; i++) {
            CoreException e = errors[i];
            if (e != null && isFatal(e, working.get(i), devices.get(i))) {
                fatal = fatal == null ? e : fatal;
            } else if (e != null) {
                markFailed(working.get(i), devices.get(i), "flush: " + e.getMessage());
            }
        }
        if (fatal != null) {
            throw fatal;
        }
    }

    /**
     * md's plug for a batch of writes: every bitmap bit the announced writes need is set with one
     * FUA write per bitmap page ({@link WriteIntentBitmap#startWrites}), and held (counted in
     * flight, so no flush clears it) until the handle is closed. Each write still starts its own
     * bits ({@link #bitmapStart}), finds them set and durable, and writes no page. Why: a caller
     * that writes many blocks spread over the array one after another (a snapshot volume's batch
     * commit, 1,024 blocks) paid one FUA bitmap page write on every member per block whose region
     * had gone idle (bits clear after daemon_sleep); on a large volume at a low write rate that
     * was most of them. Without a bitmap (RAID-0, or none configured) nothing is held.
     */
    @Override
    public dev.scemu.core.AnnouncedWrites announceWrites(long[] lbas, int[] counts, int n) {
        checkOpen();
        for (int i = 0; i < n; i++) {
            geometry().checkRange(lbas[i], counts[i]);
        }
        if (bitmap == null || readOnly || stopped || n == 0) {
            return dev.scemu.core.AnnouncedWrites.NONE;
        }
        long[] first = new long[n];
        long[] end = new long[n];
        int ranges = 0;
        for (int i = 0; i < n; i++) {
            if (counts[i] > 0) {
                long[] span = engine.bitmapSpan(lbas[i], counts[i]);
                first[ranges] = span[0] * sectorsPerBlock;
                end[ranges++] = span[1] * sectorsPerBlock;
            }
        }
        int held = ranges;
        beginWrite(); // md_write_start before md_bitmap_startwrite: dirty (and out of read-auto) before any bit
        bitmap.startWrites(first, end, held);
        java.util.concurrent.atomic.AtomicBoolean open = new java.util.concurrent.atomic.AtomicBoolean(true);
        return () -> {
            if (open.getAndSet(false)) {
                bitmap.endWrites(first, end, held);
            }
        };
    }

    /** One copy per member: the blocks as read without it ({@link LevelEngine#readWithout}); none on RAID-0. */
    @Override
    public int redundantCopies() {
        return level == RaidLevel.RAID0 ? 0 : raidDisks;
    }

    @Override
    public boolean readCopy(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, int copy) {
        geometry().checkRange(lba, blockCount);
        checkOpen();
        return copy >= 1 && copy <= redundantCopies()
                && engine.readWithout(copy - 1, lba, blockCount, buffer, bufferOffset);
    }

    @Override
    public void repairFromCopy(long lba, int blockCount, int copy) {
        geometry().checkRange(lba, blockCount);
        checkOpen();
        if (copy < 1 || copy > redundantCopies()) {
            throw new RaidException(RaidError.BAD_MEMBER, "array " + name() + " has no copy " + copy + " (copies 1.."
                    + redundantCopies() + ")");
        }
        if (stopped) {
            throw new RaidException(RaidError.STOPPED, "array " + name() + " is stopped");
        }
        engine.repairWithout(copy - 1, lba, blockCount);
    }

    /** From the members' maps and the level's mapping: {@link ArrayAllocation}. */
    @Override
    public void mapAllocation(long lba, long blockCount, dev.scemu.core.AllocationSink sink) {
        geometry().checkRange(lba, blockCount);
        checkOpen();
        ArrayAllocation.map(this, lba, blockCount, sink);
    }

    /**
     * Trim passes down as member trims where redundancy allows it ({@link LevelEngine#trim}): whole
     * stripe rows on RAID-5 (every data chunk and the parity of a row of zeros is zeros), every
     * mirror on RAID-1, every chunk piece on RAID-0. Partial rows and degraded rows write zeros
     * through the normal write path, so parity stays right. Either way the bitmap bit is set before
     * a member changes, like a write.
     */
    @Override
    protected void doTrim(long lba, long blockCount) {
        hostIo.increment();
        hostInFlight.incrementAndGet();
        try {
            beginWrite();
            engine.trim(lba, blockCount);
        } finally {
            hostInFlight.decrementAndGet();
        }
    }

    /** Writes zeros to array blocks {@code [lba, lba + blockCount)} through the level's write path. */
    void writeZeros(long lba, long blockCount) {
        ByteBuffer zeros = pool.acquire();
        try {
            Xor.zero(zeros, 0, zeros.capacity());
            long done = 0;
            while (done < blockCount) {
                int n = (int) Math.min(chunkBlocks, blockCount - done);
                engine.write(lba + done, n, zeros, 0, false);
                done += n;
            }
        } finally {
            pool.release(zeros);
        }
    }

    @Override
    protected void doClose() {
        try {
            stop();
        } finally {
            for (Slot slot : slots) {
                if (slot.device != null) {
                    slot.device.close();
                }
            }
            for (BlockDevice spare : spareDevices()) {
                spare.close();
            }
        }
    }

    @Override
    public void stop() {
        synchronized (this) {
            if (stopped) {
                return;
            }
            stopping = true;
        }
        try {
            background.handle((r, e) -> null).join();
            worker.shutdownNow();
            if (journal != null) {
                journal.sync();
            }
            long[] snapshot = bitmap != null ? bitmap.beginClear() : null;
            flushMembers();
            // the rebuild has ended and everything it wrote is flushed, the journal synced: a clean
            // stop records where it got to, so the next start resumes there, not at the checkpoint
            for (Slot slot : slots) {
                if (slot.state == MemberState.REBUILDING) {
                    slot.recordedRecoveryBlocks = slot.recoveredBlocks;
                }
            }
            // after the clean superblock, so the bitmap's events equal the superblock's
            metadata.writeClean(snapshot != null);
        } finally {
            stopped = true;
        }
    }

    // ------------------------------------------------------------------ RaidArray

    @Override
    public RaidLevel level() {
        return level;
    }

    @Override
    public int raidDisks() {
        return raidDisks;
    }

    @Override
    public int chunkBytes() {
        return chunkBytes;
    }

    /**
     * RAID-5: a stripe row ({@code (raidDisks - 1) x chunk}, rows from lba 0): a write of whole
     * rows is a reconstruct-write from the new data alone; a write that ends inside a row reads
     * the row's old data or parity. RAID-0 and RAID-1 read nothing to write: no preference.
     */
    @Override
    public dev.scemu.core.OptimalWrite optimalWrite() {
        return level == RaidLevel.RAID5 ? dev.scemu.core.OptimalWrite.of((raidDisks - 1) * chunkBlocks)
                : dev.scemu.core.OptimalWrite.ANY;
    }

    @Override
    public Raid5Layout raid5Layout() {
        return layout;
    }

    @Override
    public UUID setUuid() {
        return setUuid;
    }

    @Override
    public long dataOffsetSectors() {
        return dataOffsetSectors;
    }

    @Override
    public long memberDataBytes() {
        return memberDataBlocks * blockSize;
    }

    @Override
    public boolean isDegraded() {
        for (Slot slot : slots) {
            if (slot.state != MemberState.ACTIVE) {
                return true;
            }
        }
        return false;
    }

    @Override
    public MemberState memberState(int role) {
        checkRole(role);
        return slots[role].state;
    }

    @Override
    public String memberFault(int role) {
        checkRole(role);
        Slot slot = slots[role];
        return slot.state == MemberState.FAILED ? (slot.fault == null ? "failed" : slot.fault) : null;
    }

    @Override
    public BlockDevice member(int role) {
        checkRole(role);
        return slots[role].device;
    }

    private void checkRole(int role) {
        if (role < 0 || role >= raidDisks) {
            throw new RaidException(RaidError.BAD_MEMBER, "member index " + role + " is outside 0.." + (raidDisks - 1));
        }
    }

    @Override
    public void failMember(int role) {
        checkRole(role);
        if (level == RaidLevel.RAID0) {
            throw new RaidException(RaidError.BAD_MEMBER, "RAID-0 has no redundancy: failing member " + role
                    + " of " + name() + " would lose the array (md refuses too)");
        }
        markFailed(slots[role], "failed by request");
    }

    @Override
    public CompletableFuture<RebuildProgress> replaceMember(int role, BlockDevice device, RebuildListener listener) {
        checkRole(role);
        if (level == RaidLevel.RAID0) {
            throw new RaidException(RaidError.BAD_MEMBER, "RAID-0 has no redundancy to rebuild member " + role + " from");
        }
        return replace(role, device, listener, null);
    }

    /**
     * {@link #replaceMember}; a spare ({@code spareSb} its superblock, else null) keeps its device
     * number, device UUID and bad-block log, as md keeps an rdev's when a spare becomes active.
     */
    private CompletableFuture<RebuildProgress> replace(int role, BlockDevice device, RebuildListener listener,
                                                       MdSuperblock spareSb) {
        long needed = memberBlocksNeeded();
        if (!fitsAsMember(device)) {
            throw new RaidException(RaidError.MEMBER_GEOMETRY, "replacement " + device.name() + " (" + device.geometry()
                    + ") is smaller than data offset + member size" + (journal != null ? " + parity journal " : " ")
                    + needed + " blocks of " + blockSize);
        }
        Slot slot = slots[role];
        synchronized (metadata.lock) {
            if (slot.state != MemberState.FAILED) {
                throw new RaidException(RaidError.BAD_MEMBER, "member " + role + " is " + slot.state
                        + "; only a failed member can be replaced");
            }
            if (!background.isDone()) {
                throw new RaidException(RaidError.BUSY, "a rebuild or resync is running on " + name());
            }
            int[] rolesBefore = metadata.devRoles.clone();
            int devNumberBefore = slot.devNumber;
            int devNumber = spareSb != null ? spareSb.devNumber : metadata.freeDevNumber(slot);
            metadata.devRoles[devNumber] = role;
            slot.device = device;
            slot.devNumber = devNumber;
            // the failed member's log does not describe the new device; a spare's own does
            slot.bblog = spareSb != null ? BadBlockLog.read(device, spareSb) : null;
            slot.deviceUuid = spareSb != null ? spareSb.deviceUuid : UUID.randomUUID();
            slot.startRecoveryAt(0);
            slot.correctedReads = 0;
            slot.fault = null;
            slot.state = MemberState.REBUILDING;
            try {
                metadata.writeNewMemberMetadata(slot);
            } catch (CoreException e) {
                metadata.devRoles = rolesBefore; // the other members never listed it: it stays a failed role
                slot.device = null;
                slot.devNumber = devNumberBefore;
                slot.state = MemberState.FAILED;
                slot.fault = "replacement " + device.name() + " failed: " + e.getMessage();
                throw e;
            }
            writeSuperblocks();
        }
        return startRebuild(role, listener);
    }

    @Override
    public CompletableFuture<RebuildProgress> backgroundWork() {
        return background;
    }

    @Override
    public ScrubResult scrub(boolean repair, ScrubListener listener) {
        if (stopped) {
            throw new RaidException(RaidError.STOPPED, "array " + name() + " is stopped");
        }
        if (isDegraded()) {
            throw new RaidException(RaidError.BAD_MEMBER, "array " + name() + " is degraded: nothing to compare against");
        }
        if (metadata.resyncPending()) {
            // md's action_store on an auto-read-only array leaves it, and the pending resync runs before any check
            metadata.leaveReadAuto();
            background.handle((r, e) -> null).join();
        }
        if (repair) {
            beginWrite();
        }
        long checked = 0;
        long mismatched = 0;
        long repaired = 0;
        long units = engine.unitCount();
        long blockSize = geometry().blockSize();
        SyncThrottle throttle = new SyncThrottle(this, () -> stopping);
        long unitBytes = (long) chunkBlocks * this.blockSize;
        for (long unit = 0; unit < units; unit++) {
            if (unit > 0) {
                throttle.pace(unit * unitBytes);
            }
            int r = engine.syncUnit(unit, repair, IoCause.SCRUB);
            if (r >= 0) {
                checked++;
            }
            if (r > 0) {
                mismatched++;
                if (repair) {
                    repaired++;
                }
                listener.onMismatch(new ScrubMismatch(unit, engine.unitArrayLba(unit) * blockSize,
                        engine.unitArrayBlocks(unit) * blockSize, repair));
            }
            listener.onProgress(unit + 1, units);
        }
        return new ScrubResult(checked, mismatched, repaired);
    }

    // ------------------------------------------------------------------ background work

    synchronized CompletableFuture<RebuildProgress> startResync(RebuildListener listener) {
        CompletableFuture<RebuildProgress> future = new CompletableFuture<>();
        CompletableFuture<RebuildProgress> previous = background;
        background = future;
        worker.execute(() -> {
            previous.handle((r, e) -> null).join();
            new BackgroundJob(this, "resync", -1, listener, future).run();
        });
        return future;
    }

    synchronized CompletableFuture<RebuildProgress> startRebuild(int role, RebuildListener listener) {
        CompletableFuture<RebuildProgress> future = new CompletableFuture<>();
        CompletableFuture<RebuildProgress> previous = background;
        background = future;
        worker.execute(() -> {
            previous.handle((r, e) -> null).join();
            new BackgroundJob(this, "rebuild", role, listener, future).run();
        });
        return future;
    }

    boolean stopping() {
        return stopping;
    }

    long syncSpeedMax() {
        return rebuildBytesPerSecond;
    }

    long syncSpeedMin() {
        return syncSpeedMin;
    }

    /** Host reads, writes and trims received so far (the sync throttle's is_mddev_idle). */
    long hostIoCount() {
        return hostIo.sum();
    }

    /** Host reads, writes and trims in progress (one blocked behind the sync's locks counts). */
    int hostIoInFlight() {
        return hostInFlight.get();
    }

    @Override
    public void setSyncSpeedLimits(long minBytesPerSecond, long maxBytesPerSecond) {
        if (minBytesPerSecond < 0 || maxBytesPerSecond < 0
                || (maxBytesPerSecond > 0 && minBytesPerSecond != Long.MAX_VALUE && minBytesPerSecond > maxBytesPerSecond)) {
            throw new RaidException(RaidError.INVALID_CONFIG, "array " + name() + ": sync speed limits min "
                    + minBytesPerSecond + " max " + maxBytesPerSecond + " B/s: both >= 0, min <= max (max 0 = none)");
        }
        syncSpeedMin = minBytesPerSecond;
        rebuildBytesPerSecond = maxBytesPerSecond;
    }

    /** Rebuild finished: the member is in sync. */
    void rebuildDone(int role) {
        Slot slot = slots[role];
        BlockDevice d = slot.device;
        try {
            d.flush();
        } catch (CoreException e) {
            rethrowIfFatal(e, slot, d);
            markFailed(slot, d, "flush after rebuild: " + e.getMessage());
            return;
        }
        if (journal != null) {
            // leaving degraded mode: commits durable, then the home member's journal is copied to
            // the rebuilt member and to the other members, whose copies went stale while only the
            // home held it (MirroredRegion, home mode), before the superblocks make every role ACTIVE
            journal.withLock(() -> {
                journal.syncLocked();
                Slot home = journal.region().home();
                for (Slot other : slots) {
                    if (other != home && (other == slot || other.state == MemberState.ACTIVE)) {
                        copyJournalRegionTo(other);
                    }
                }
                activate(slot);
            });
        } else {
            activate(slot);
        }
    }

    private void activate(Slot slot) {
        synchronized (metadata.lock) {
            if (slot.state == MemberState.REBUILDING) {
                slot.state = MemberState.ACTIVE;
                writeSuperblocks();
                if (bitmap != null && !degraded()) {
                    bitmap.recoveryDone(); // the member was flushed before: degraded writes are redundant again
                }
            }
        }
    }

    /** Whether a role has no in-sync member (missing, failed or still rebuilding), as md's mddev->degraded. */
    boolean degraded() {
        for (Slot slot : slots) {
            if (slot.device == null || slot.state != MemberState.ACTIVE) {
                return true;
            }
        }
        return false;
    }

    private void copyJournalRegionTo(Slot target) {
        MirroredRegion region = journal.region();
        ByteBuffer buffer = pool.acquire();
        BlockDevice d = target.device;
        try {
            int piece = Math.max(1, buffer.capacity() / blockSize);
            for (long lba = 0; lba < region.blockCount(); lba += piece) {
                int n = (int) Math.min(piece, region.blockCount() - lba);
                region.read(lba, n, buffer, 0);
                d.write(region.startLba() + lba, n, buffer, 0);
                meter().issuedWrite(IoCause.JOURNAL, (long) n * blockSize);
            }
            d.flush();
        } catch (CoreException e) {
            rethrowIfFatal(e, target, d);
            markFailed(target, d, "journal copy: " + e.getMessage());
        } finally {
            pool.release(buffer);
        }
    }

    /**
     * Rebuild checkpoint (on the rebuild's thread, between units): flush the new member, sync the
     * parity journal (the COMMITs of journaled writes below the checkpoint durable: once it is
     * recorded, writes there are no longer journaled, and a stale unfinished transaction replayed
     * after a cut would rewrite their parity from an older L), record recovery_offset in the
     * superblocks, and only once they are durable let writes below it skip the journal
     * ({@link Slot#inSyncDurably}). md moves rdev->recovery_offset at its checkpoints in the same way.
     */
    void rebuildCheckpoint(int role) {
        Slot slot = slots[role];
        long recovered = slot.recoveredBlocks;
        BlockDevice d = slot.device;
        try {
            d.flush();
        } catch (CoreException e) {
            rethrowIfFatal(e, slot, d);
            markFailed(slot, d, "flush at rebuild checkpoint: " + e.getMessage());
            return;
        }
        if (journal != null) {
            journal.sync();
        }
        slot.recordedRecoveryBlocks = recovered;
        writeSuperblocks();
        slot.durableRecoveryBlocks = recovered;
    }

    /**
     * Resync of the unit finished: the cursor moves on; at the end of the pass the members are
     * flushed, every bitmap bit stops waiting for a resync (md_bitmap_close_sync), and the
     * superblocks are written (resync_offset MaxSector once the array stops cleanly).
     */
    void resyncProgress(long nextUnit, boolean done) {
        if (done) {
            flushMembers();
            if (bitmap != null) {
                bitmap.closeSync();
            }
            resyncCursorUnit = -1;
            writeSuperblocks();
        } else if (bitmap == null) {
            resyncCursorUnit = nextUnit;
        }
    }

    /** Member data sector where resync unit {@code unit} starts. */
    private long unitFirstSector(long unit) {
        return unit * chunkBlocks * (long) sectorsPerBlock;
    }

    /** Member data sector where resync unit {@code unit} ends (the last unit may be short). */
    private long unitEndSector(long unit) {
        return Math.min((unit + 1) * chunkBlocks, memberDataBlocks) * sectorsPerBlock;
    }

    /**
     * Whether {@code unit} needs a resync: with a bitmap, any bit over the unit's member sectors
     * waits for one (a unit can span several bits: a RAID-1 region of 512 KiB over 64 KiB bitmap
     * chunks); without, the unit is at or after the cursor.
     */
    boolean unitNeedsSync(long unit) {
        if (bitmap != null) {
            return bitmap.needsSync(unitFirstSector(unit), unitEndSector(unit));
        }
        long cursor = resyncCursorUnit;
        return cursor >= 0 && unit >= cursor;
    }

    /**
     * After resyncing units up to {@code unit} (at the end of a bitmap chunk): flush, then every bit
     * wholly below the unit's end stops waiting for a resync (md_bitmap_cond_end_sync).
     */
    void bitmapRegionSynced(long unit) {
        if (bitmap != null) {
            flushMembers();
            bitmap.endSyncBelow(unitEndSector(unit));
        }
    }

    /** Resync units per bitmap bit (1 when a unit spans one bit or more). */
    long unitsPerBitmapBit() {
        return bitmap == null ? 1 : Math.max(1, bitmap.chunkSectors() / ((long) chunkBlocks * sectorsPerBlock));
    }

    /** Registers a write of member data blocks with the bitmap (no-op without one). */
    void bitmapStart(long memberLba, long blockCount) {
        if (bitmap != null) {
            bitmap.startWrite(memberLba * sectorsPerBlock, (memberLba + blockCount) * sectorsPerBlock);
        }
    }

    void bitmapEnd(long memberLba, long blockCount) {
        if (bitmap != null) {
            bitmap.endWrite(memberLba * sectorsPerBlock, (memberLba + blockCount) * sectorsPerBlock);
        }
    }

    /**
     * The clock the bitmap measures idle regions with (md's daemon_sleep, 5 s): tests and
     * simulations that want bits cleared after two flushes advance their own clock between them.
     */
    @Override
    public void setBitmapClock(java.util.function.LongSupplier nanos) {
        if (bitmap != null) {
            bitmap.setClock(nanos);
        }
    }

    /** Bitmap bits currently set (dirty regions), for tests and status. */
    public long bitmapDirtyBits() {
        return bitmap == null ? 0 : bitmap.dirtyCount();
    }
}
