package dev.scemu.raid.internal;

import static dev.scemu.raid.internal.MdSuperblockLayout.*;

import dev.scemu.core.AbstractBlockDevice;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.IoCause;
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
 * The array engine behind {@link RaidArray}: member slots, md v1.2 superblocks and bitmap, member
 * I/O with failure handling, and the background worker; the level-specific data path lives in a
 * {@link LevelEngine}.
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

    /** Bitmap starts 8 sectors (4 KiB) after the superblock, like mdadm. */
    static final int BITMAP_OFFSET_SECTORS = 8;
    static final long BITMAP_START_BYTES = SUPER_OFFSET_BYTES + BITMAP_OFFSET_SECTORS * 512L;
    static final int DEFAULT_BITMAP_CHUNK_BYTES = 64 << 20;
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
    /** Used data blocks per member (md's size). */
    final long memberDataBlocks;
    final UUID setUuid;
    final String arrayName;
    final long ctime;
    final Slot[] slots;
    final StripeLocks locks = new StripeLocks(1024);
    final BufferPool pool;
    final WriteIntentBitmap bitmap;
    final LevelEngine engine;
    /** RAID-5 parity journal in the free area before data_offset; null when there is no room. */
    ParityJournal journal;

    private final Object metaLock = new Object();
    private volatile long events;
    private volatile boolean active;
    private int[] devRoles;
    /** First unit not yet resynced without a bitmap guide; -1 when in sync. */
    volatile long resyncCursorUnit = -1;
    private volatile boolean stopping;
    private volatile boolean stopped;
    private volatile long rebuildBytesPerSecond;
    private final ExecutorService worker;
    private volatile CompletableFuture<RebuildProgress> background = CompletableFuture.completedFuture(null);

    /** {@code bitmapSource}: the member whose bitmap header is read (an in-sync one, as md reads it). */
    private MdRaidArray(String name, BlockGeometry geometry, MdSuperblock reference, BlockDevice[] devices,
                        BlockDevice bitmapSource) {
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
        this.memberDataBlocks = reference.sizeSectors / sectorsPerBlock;
        this.setUuid = reference.setUuid;
        this.arrayName = reference.setName;
        this.ctime = reference.ctime;
        this.events = reference.events;
        this.devRoles = reference.devRoles.clone();
        this.slots = new Slot[raidDisks];
        for (int i = 0; i < raidDisks; i++) {
            slots[i] = new Slot(i);
        }
        this.pool = new BufferPool(chunkBytes);
        if (reference.hasBitmap() && level != RaidLevel.RAID0) {
            byte[] header = MetadataIo.read(bitmapSource, BITMAP_START_BYTES, MdBitmapLayout.HEADER_BYTES);
            MdBitmapLayout.Header h = MdBitmapLayout.decodeHeader(header, name);
            MdBitmapLayout.checkFits(h, reference.sizeSectors,
                    reference.dataOffsetSectors * SECTOR_BYTES - BITMAP_START_BYTES, name);
            this.bitmap = new WriteIntentBitmap(setUuid, reference.sizeSectors, h.chunkBytes(),
                    h.sectorsReserved() * 512, this::persistBitmap, this::events);
            this.bitmap.setEventsCleared(h.eventsCleared());
        } else {
            this.bitmap = null;
        }
        this.engine = switch (level) {
            case RAID0 -> new Raid0Engine(this);
            case RAID1 -> new Raid1Engine(this);
            case RAID5 -> new Raid5Engine(this);
        };
        this.worker = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "raid-" + name + "-worker");
            t.setDaemon(true);
            return t;
        });
    }

    // ------------------------------------------------------------------ create / assemble

    /** See {@link RaidArray#create}. */
    public static MdRaidArray create(RaidConfig config, List<? extends BlockDevice> members) {
        RaidLevel level = config.level();
        int n = members.size();
        if (n < level.minMembers() || n > 256) {
            throw new RaidException(RaidError.INVALID_CONFIG,
                    level + " needs at least " + level.minMembers() + " members, got " + n);
        }
        int blockSize = members.get(0).blockSize();
        long minBlocks = Long.MAX_VALUE;
        for (int i = 0; i < n; i++) {
            BlockDevice m = members.get(i);
            if (m.blockSize() != blockSize) {
                throw new RaidException(RaidError.MEMBER_GEOMETRY, "member " + i + " (" + m.name() + ") has block size "
                        + m.blockSize() + ", member 0 has " + blockSize);
            }
            minBlocks = Math.min(minBlocks, m.blockCount());
        }
        int sectorsPerBlock = blockSize / SECTOR_BYTES;
        if (config.chunkBytes() < blockSize) {
            throw new RaidException(RaidError.INVALID_CONFIG,
                    "chunk " + config.chunkBytes() + " bytes is smaller than the member block size " + blockSize);
        }
        long capacityBytes = minBlocks * blockSize;
        long dataOffsetSectors = config.dataOffsetSectors() != 0 ? config.dataOffsetSectors()
                : capacityBytes >= (64L << 20) ? 2048 : 256;
        if (dataOffsetSectors % sectorsPerBlock != 0) {
            throw new RaidException(RaidError.INVALID_CONFIG, "data offset " + dataOffsetSectors
                    + " sectors is not a multiple of the block size " + blockSize);
        }
        long dataSizeSectors = capacityBytes / SECTOR_BYTES - dataOffsetSectors;
        long chunkSectors = config.chunkBytes() / SECTOR_BYTES;
        long usedSectors = level == RaidLevel.RAID1 ? dataSizeSectors : dataSizeSectors / chunkSectors * chunkSectors;
        if (usedSectors < chunkSectors && level != RaidLevel.RAID1 || usedSectors <= 0) {
            throw new RaidException(RaidError.MEMBER_GEOMETRY, "members of " + capacityBytes
                    + " bytes leave " + dataSizeSectors + " data sectors after data offset " + dataOffsetSectors
                    + ": less than one chunk of " + chunkSectors + " sectors");
        }
        boolean withBitmap = config.bitmap() && level != RaidLevel.RAID0;
        int bitmapChunkBytes = 0;
        int bitmapReservedBytes = 0;
        if (withBitmap) {
            bitmapChunkBytes = config.bitmapChunkBytes();
            if (bitmapChunkBytes == 0) {
                bitmapChunkBytes = DEFAULT_BITMAP_CHUNK_BYTES;
                while (bitmapChunkBytes > Math.max(config.chunkBytes(), 4096)
                        && usedSectors * SECTOR_BYTES / bitmapChunkBytes < 16) {
                    bitmapChunkBytes >>= 1;
                }
            }
            if (bitmapChunkBytes < config.chunkBytes() && level == RaidLevel.RAID5) {
                throw new RaidException(RaidError.INVALID_CONFIG, "bitmap chunk " + bitmapChunkBytes
                        + " bytes is smaller than the RAID chunk " + config.chunkBytes());
            }
            long bits = (usedSectors + bitmapChunkBytes / 512 - 1) / (bitmapChunkBytes / 512);
            bitmapReservedBytes = MdBitmapLayout.reservedBytes(bits);
            if (BITMAP_START_BYTES + bitmapReservedBytes > dataOffsetSectors * SECTOR_BYTES) {
                throw new RaidException(RaidError.INVALID_CONFIG, "bitmap of " + bits + " bits (" + bitmapReservedBytes
                        + " bytes) does not fit before data offset " + dataOffsetSectors + " sectors");
            }
        } else if (SUPER_OFFSET_BYTES + SUPERBLOCK_BYTES > dataOffsetSectors * SECTOR_BYTES) {
            throw new RaidException(RaidError.INVALID_CONFIG, "data offset " + dataOffsetSectors
                    + " sectors leaves no room for the superblock");
        }
        long memberDataBlocks = usedSectors / sectorsPerBlock;
        long fullBlocks = switch (level) {
            case RAID0 -> memberDataBlocks * n;
            case RAID1 -> memberDataBlocks;
            case RAID5 -> memberDataBlocks * (n - 1);
        };
        long exposed = exposedBlocks(config.arrayBlockCount(), fullBlocks);

        MdSuperblock sb = new MdSuperblock();
        sb.featureMap = withBitmap ? FEATURE_BITMAP_OFFSET : 0;
        sb.setUuid = config.setUuid() != null ? config.setUuid() : UUID.randomUUID();
        sb.setName = config.name();
        sb.ctime = MdSuperblock.mdTime(System.currentTimeMillis());
        sb.level = level.mdLevel();
        sb.layout = level == RaidLevel.RAID5 ? config.raid5Layout().mdNumber() : 0;
        sb.sizeSectors = usedSectors;
        sb.chunkSectors = level == RaidLevel.RAID1 ? 0 : (int) chunkSectors;
        sb.raidDisks = n;
        sb.bitmapOffsetSectors = withBitmap ? BITMAP_OFFSET_SECTORS : 0;
        sb.dataOffsetSectors = dataOffsetSectors;
        sb.dataSizeSectors = dataSizeSectors;
        sb.events = 0;
        sb.resyncOffsetSectors = config.assumeClean() || level == RaidLevel.RAID0 ? MAX_SECTOR : 0;
        sb.devRoles = new int[n];
        for (int i = 0; i < n; i++) {
            sb.devRoles[i] = i;
        }
        BlockDevice[] devices = members.toArray(new BlockDevice[0]);
        if (withBitmap) {
            // the bitmap header must exist before the constructor reads it
            MdBitmapLayout.Header header = new MdBitmapLayout.Header(sb.setUuid, 0, 0, usedSectors, 0,
                    bitmapChunkBytes, bitmapReservedBytes / 512);
            long bits = header.bitCount();
            long[] set = new long[(int) ((bits + 63) >>> 6)];
            byte[] image = MdBitmapLayout.encode(header, set, bitmapReservedBytes);
            for (BlockDevice d : devices) {
                MetadataIo.write(d, BITMAP_START_BYTES, image);
            }
        }
        MdRaidArray array = new MdRaidArray(config.name(), new BlockGeometry(blockSize, exposed), sb, devices,
                devices[0]);
        array.rebuildBytesPerSecond = config.rebuildBytesPerSecond();
        for (int i = 0; i < n; i++) {
            Slot slot = array.slots[i];
            slot.device = devices[i];
            slot.devNumber = i;
            slot.deviceUuid = UUID.randomUUID();
            slot.state = MemberState.ACTIVE;
        }
        boolean needsSync = sb.resyncOffsetSectors != MAX_SECTOR;
        if (needsSync) {
            if (array.bitmap != null) {
                array.bitmap.markAllNeedSync();
            } else {
                array.resyncCursorUnit = 0;
            }
        }
        if (array.bitmap != null) {
            array.persistBitmap(array.bitmap.image(), false);
        }
        array.writeSuperblocks();
        if (level == RaidLevel.RAID5) {
            MirroredRegion region = ParityJournal.regionOf(array, bitmapReservedBytes);
            if (region != null) {
                array.journal = ParityJournal.format(array, region);
            }
        }
        if (needsSync) {
            array.startResync(null);
        }
        return array;
    }


    private static long exposedBlocks(long requested, long fullBlocks) {
        if (requested > fullBlocks) {
            throw new RaidException(RaidError.INVALID_CONFIG,
                    "array size " + requested + " blocks exceeds the capacity of " + fullBlocks + " blocks");
        }
        return requested == 0 ? fullBlocks : requested;
    }

    /**
     * See {@link RaidArray#assemble}. {@link MemberSelection} decides which members to trust (or
     * refuses); then, like md:
     * <ol>
     *   <li>a dirty RAID-5 missing a member that did not fail while running (the freshest
     *       superblock still lists it active) is refused unless forced: its stripes written at the
     *       crash were not journaled;</li>
     *   <li>otherwise the array starts, degraded if a role is empty: the device number of every
     *       role without a member is written faulty (0xfffe) in the superblocks of the present
     *       members (md's super_1_sync gives every device number it holds no device for a
     *       non-active role), so a later assembly finds a left-out member stale even if it comes
     *       back; a refused assembly writes nothing.</li>
     * </ol>
     */
    public static MdRaidArray assemble(List<? extends BlockDevice> candidates, AssembleOptions options) {
        MemberSelection chosen = MemberSelection.select(candidates, options);
        MdSuperblock ref = chosen.ref;
        BlockDevice[] byRole = chosen.byRole;
        MdSuperblock[] sbByRole = chosen.sbByRole;
        String[] faults = chosen.faults;
        RaidLevel level = RaidLevel.ofMd(ref.level);
        int blockSize = chosen.blockSize;
        int spb = blockSize / SECTOR_BYTES;
        int present = chosen.present;
        int missing = ref.raidDisks - chosen.inSync;
        boolean clean = ref.isClean();
        boolean missingFailedWhileRunning = true;
        for (int r = 0; r < ref.raidDisks; r++) {
            if (byRole[r] == null || sbByRole[r].isRecovering()) {
                for (int role : ref.devRoles) {
                    // the freshest superblock still lists the role as active: the member just is not here
                    missingFailedWhileRunning &= role != r || (byRole[r] != null && sbByRole[r].isRecovering());
                }
            }
        }
        boolean journalCovers = level == RaidLevel.RAID5 && missingFailedWhileRunning
                && ref.dataOffsetSectors * SECTOR_BYTES - BITMAP_START_BYTES >= (long) ParityJournal.MIN_BLOCKS * blockSize;
        if (!clean && missing > 0 && level == RaidLevel.RAID5 && !options.force() && !journalCovers) {
            throw new RaidException(RaidError.DIRTY_DEGRADED, "cannot start dirty degraded array "
                    + MdSuperblock.mdadmUuid(ref.setUuid) + ": resync_offset " + ref.resyncOffsetSectors
                    + ", " + missing + " member(s) missing; parity of stripes written at the crash is unknown"
                    + " (use force)");
        }
        long memberDataBlocks = ref.sizeSectors / spb;
        long fullBlocks = switch (level) {
            case RAID0 -> memberDataBlocks * ref.raidDisks;
            case RAID1 -> memberDataBlocks;
            case RAID5 -> memberDataBlocks * (ref.raidDisks - 1);
        };
        long exposed = exposedBlocks(options.arrayBlockCount(), fullBlocks);
        // like md's read_sb_page, the bitmap is read from an in-sync member: a member being rebuilt
        // may carry none yet (or one older than the array's)
        BlockDevice bitmapSource = byRole[firstInSync(byRole, sbByRole)];
        MdRaidArray array = new MdRaidArray(ref.setName.isEmpty() ? "md" : ref.setName,
                new BlockGeometry(blockSize, exposed), ref, byRole, bitmapSource);
        array.rebuildBytesPerSecond = options.rebuildBytesPerSecond();
        int rebuilding = -1;
        for (int r = 0; r < ref.raidDisks; r++) {
            Slot slot = array.slots[r];
            if (byRole[r] == null) {
                slot.state = MemberState.FAILED;
                slot.fault = faults[r];
                continue;
            }
            slot.device = byRole[r];
            slot.devNumber = sbByRole[r].devNumber;
            slot.deviceUuid = sbByRole[r].deviceUuid;
            slot.correctedReads = sbByRole[r].correctedReads;
            if (sbByRole[r].isRecovering()) {
                slot.state = MemberState.REBUILDING;
                long recovered = sbByRole[r].recoveryOffsetSectors / spb;
                slot.recoveredBlocks = recovered / array.chunkBlocks * array.chunkBlocks;
                rebuilding = r;
            } else {
                slot.state = MemberState.ACTIVE;
            }
        }
        for (int devNumber = 0; devNumber < array.devRoles.length; devNumber++) {
            // like md's super_1_sync: a device number listed as active whose role has no device here
            // (missing, unreadable, damaged, foreign or stale) is recorded faulty on the present members
            int role = array.devRoles[devNumber];
            if (role < ref.raidDisks && (array.slots[role].device == null || array.slots[role].devNumber != devNumber)) {
                array.devRoles[devNumber] = ROLE_FAULTY;
            }
        }
        if (level == RaidLevel.RAID5) {
            MirroredRegion region = ParityJournal.regionOf(array, array.bitmap == null ? 0 : array.bitmap.reservedBytes());
            if (region != null) {
                array.journal = ParityJournal.openOrFormat(array, region);
                if (!clean) {
                    array.journal.recover(((Raid5Engine) array.engine).geometry());
                }
            }
        }
        if (array.bitmap != null) {
            byte[] image = MetadataIo.read(bitmapSource, BITMAP_START_BYTES, array.bitmap.reservedBytes());
            array.bitmap.load(MdBitmapLayout.decodeBits(image, array.bitmap.bitCount()));
        }
        // a member being rebuilt is in sync below its recovery offset: those stripes can be resynced,
        // the ones above are recomputed by the rebuild itself (resync skips stripes it cannot check)
        boolean needsResync = !clean && level != RaidLevel.RAID0 && (present == ref.raidDisks || level == RaidLevel.RAID1);
        if (needsResync) {
            if (array.bitmap != null) {
                array.bitmap.markSetBitsNeedSync();
            } else {
                long unitSectors = (long) array.chunkBlocks * spb;
                array.resyncCursorUnit = ref.resyncOffsetSectors / unitSectors;
            }
            array.active = true; // stays dirty until the resync is done and the array stops cleanly
        }
        array.writeSuperblocks();
        if (needsResync) {
            CompletableFuture<RebuildProgress> resync = array.startResync(options.listener());
            if (options.resyncInForeground()) {
                resync.join();
            }
        }
        if (rebuilding >= 0) {
            array.startRebuild(rebuilding, options.listener());
        }
        return array;
    }

    private static int firstInSync(BlockDevice[] byRole, MdSuperblock[] sbByRole) {
        for (int i = 0; i < byRole.length; i++) {
            if (byRole[i] != null && !sbByRole[i].isRecovering()) {
                return i;
            }
        }
        return 0;
    }

    // ------------------------------------------------------------------ metadata

    public long events() {
        return events;
    }

    /** Writes the superblock of every present member (events + 1) and flushes them. */
    void writeSuperblocks() {
        synchronized (metaLock) {
            for (int attempt = 0; attempt < raidDisks + 1; attempt++) {
                events++;
                long now = MdSuperblock.mdTime(System.currentTimeMillis());
                List<Integer> failed = new ArrayList<>();
                for (Slot slot : slots) {
                    BlockDevice d = slot.device;
                    if (d == null || slot.state == MemberState.FAILED) {
                        continue;
                    }
                    try {
                        int written = MetadataIo.write(d, SUPER_OFFSET_BYTES, superblockFor(slot, now).encode());
                        meter().issuedWrite(IoCause.METADATA, written);
                    } catch (CoreException e) {
                        rethrowIfFatal(e);
                        failed.add(slot.role);
                    }
                }
                for (Slot slot : slots) {
                    BlockDevice d = slot.device;
                    if (d != null && slot.state != MemberState.FAILED && !failed.contains(slot.role)) {
                        try {
                            d.flush();
                        } catch (CoreException e) {
                            rethrowIfFatal(e);
                            failed.add(slot.role);
                        }
                    }
                }
                if (failed.isEmpty()) {
                    return;
                }
                for (int role : failed) {
                    markFailed(slots[role], "superblock write failed");
                }
            }
        }
    }

    private MdSuperblock superblockFor(Slot slot, long utime) {
        MdSuperblock sb = new MdSuperblock();
        sb.featureMap = (bitmap != null ? FEATURE_BITMAP_OFFSET : 0)
                | (slot.state == MemberState.REBUILDING ? FEATURE_RECOVERY_OFFSET : 0);
        sb.setUuid = setUuid;
        sb.setName = arrayName;
        sb.ctime = ctime;
        sb.level = level.mdLevel();
        sb.layout = level == RaidLevel.RAID5 ? layout.mdNumber() : 0;
        sb.sizeSectors = memberDataBlocks * sectorsPerBlock;
        sb.chunkSectors = level == RaidLevel.RAID1 ? 0 : chunkBytes / SECTOR_BYTES;
        sb.raidDisks = raidDisks;
        sb.bitmapOffsetSectors = bitmap != null ? BITMAP_OFFSET_SECTORS : 0;
        sb.dataOffsetSectors = dataOffsetSectors;
        sb.dataSizeSectors = dataSizeSectors;
        sb.recoveryOffsetSectors = slot.state == MemberState.REBUILDING ? slot.recoveredBlocks * sectorsPerBlock : 0;
        sb.devNumber = slot.devNumber;
        sb.correctedReads = slot.correctedReads;
        sb.deviceUuid = slot.deviceUuid;
        sb.utime = utime;
        sb.events = events;
        long cursor = resyncCursorUnit;
        boolean pendingSync = cursor >= 0 || (bitmap != null && bitmap.needsSyncCount() > 0);
        if (active) {
            sb.resyncOffsetSectors = 0;
        } else if (pendingSync) {
            sb.resyncOffsetSectors = cursor >= 0 ? cursor * chunkBlocks * (long) sectorsPerBlock : 0;
        } else {
            sb.resyncOffsetSectors = MAX_SECTOR;
        }
        sb.devRoles = devRoles.clone();
        return sb;
    }

    /** Bitmap image to every present member; see {@link WriteIntentBitmap} ordering. */
    private void persistBitmap(byte[] image, boolean flush) {
        List<Slot> failed = new ArrayList<>();
        for (Slot slot : slots) {
            BlockDevice d = slot.device;
            if (d == null || slot.state == MemberState.FAILED) {
                continue;
            }
            try {
                int written = MetadataIo.write(d, BITMAP_START_BYTES, image);
                meter().issuedWrite(IoCause.METADATA, written);
                if (flush) {
                    d.flush();
                }
            } catch (CoreException e) {
                rethrowIfFatal(e);
                failed.add(slot);
            }
        }
        for (Slot slot : failed) {
            markFailed(slot, "bitmap write failed");
        }
    }

    /** Before the first write after a clean state: superblocks say "active" (resync_offset 0), flushed. */
    void beginWrite() {
        if (stopped) {
            throw new RaidException(RaidError.STOPPED, "array " + name() + " is stopped");
        }
        if (!active) {
            synchronized (metaLock) {
                if (!active) {
                    active = true;
                    writeSuperblocks();
                }
            }
        }
    }

    void markFailed(Slot slot, String reason) {
        synchronized (metaLock) {
            if (slot.state == MemberState.FAILED) {
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
            if (slot.devNumber >= 0 && slot.devNumber < devRoles.length) {
                devRoles[slot.devNumber] = ROLE_FAULTY;
            }
            writeSuperblocks();
        }
    }

    static void rethrowIfFatal(CoreException e) {
        if (e.code() == CoreError.POWER_LOST || e.code() == CoreError.CLOSED) {
            throw e;
        }
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
        try {
            d.read(dataOffsetBlocks + memberLba, blockCount, buffer, bufferOffset);
            meter().issuedRead(cause, (long) blockCount * blockSize);
            return IO_OK;
        } catch (CoreException e) {
            rethrowIfFatal(e);
            if (e.code() == CoreError.MEDIUM_ERROR) {
                LOG.debug("array {}: member {} medium error reading member lba {} +{}", name(), role, memberLba,
                        blockCount);
                return IO_MEDIUM_ERROR;
            }
            markFailed(slot, "read of member lba " + memberLba + " +" + blockCount + ": " + e.getMessage());
            return IO_UNAVAILABLE;
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
        try {
            d.write(dataOffsetBlocks + memberLba, blockCount, buffer, bufferOffset, fua);
            meter().issuedWrite(cause, (long) blockCount * blockSize);
            return true;
        } catch (CoreException e) {
            rethrowIfFatal(e);
            markFailed(slot, "write of member lba " + memberLba + " +" + blockCount + ": " + e.getMessage());
            return false;
        }
    }

    /**
     * Repairs latent sector errors of {@code role} in member blocks {@code [memberLba, +blockCount)}
     * whose good contents are in {@code good}: like md's fix_read_error, the range is re-read block
     * by block and only blocks that fail with a medium error are rewritten (a drive remaps a
     * sector on write). Caller holds the stripe or region lock.
     */
    void repairMediumErrors(int role, long memberLba, int blockCount, ByteBuffer good, int goodOffset) {
        Slot slot = slots[role];
        ByteBuffer probe = pool.acquire();
        try {
            for (int i = 0; i < blockCount && slot.present(); i++) {
                int status = readMember(role, memberLba + i, 1, probe, 0, IoCause.REBUILD);
                if (status == IO_MEDIUM_ERROR
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
        if (stopped) {
            throw new RaidException(RaidError.STOPPED, "array " + name() + " is stopped");
        }
        engine.read(lba, blockCount, buffer, bufferOffset);
    }

    @Override
    protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        beginWrite();
        engine.write(lba, blockCount, buffer, bufferOffset, fua);
    }

    @Override
    protected void doFlush() {
        if (stopped) {
            throw new RaidException(RaidError.STOPPED, "array " + name() + " is stopped");
        }
        long[] snapshot = bitmap != null ? bitmap.beginClear() : null;
        flushMembers();
        if (snapshot != null) {
            bitmap.finishClear(snapshot);
        }
    }

    void flushMembers() {
        for (Slot slot : slots) {
            BlockDevice d = slot.device;
            if (d != null && slot.state != MemberState.FAILED) {
                try {
                    d.flush();
                } catch (CoreException e) {
                    rethrowIfFatal(e);
                    markFailed(slot, "flush: " + e.getMessage());
                }
            }
        }
    }

    /** From the members' maps and the level's mapping: {@link ArrayAllocation}. */
    @Override
    public void mapAllocation(long lba, long blockCount, dev.scemu.core.AllocationSink sink) {
        geometry().checkRange(lba, blockCount);
        checkOpen();
        ArrayAllocation.map(this, lba, blockCount, sink);
    }

    /** Trim writes zeros through the normal write path, so parity and mirrors stay consistent. */
    @Override
    protected void doTrim(long lba, long blockCount) {
        beginWrite();
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
            synchronized (metaLock) {
                active = false;
                writeSuperblocks();
                if (bitmap != null && snapshot != null) {
                    // after the clean superblock, so the bitmap's events equal the superblock's
                    bitmap.clearAllIdle();
                    persistBitmap(bitmap.image(), true);
                }
            }
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
        if (device.blockSize() != blockSize
                || device.blockCount() < dataOffsetBlocks + memberDataBlocks) {
            throw new RaidException(RaidError.MEMBER_GEOMETRY, "replacement " + device.name() + " (" + device.geometry()
                    + ") is smaller than data offset + member size " + (dataOffsetBlocks + memberDataBlocks)
                    + " blocks of " + blockSize);
        }
        Slot slot = slots[role];
        synchronized (metaLock) {
            if (slot.state != MemberState.FAILED) {
                throw new RaidException(RaidError.BAD_MEMBER, "member " + role + " is " + slot.state
                        + "; only a failed member can be replaced");
            }
            if (!background.isDone()) {
                throw new RaidException(RaidError.BUSY, "a rebuild or resync is running on " + name());
            }
            int[] rolesBefore = devRoles.clone();
            int devNumberBefore = slot.devNumber;
            int devNumber = -1;
            for (int i = 0; i < devRoles.length && devNumber < 0; i++) {
                boolean used = false;
                for (Slot s : slots) {
                    used |= s.devNumber == i && s != slot && s.device != null;
                }
                if (!used && devRoles[i] >= ROLE_MAX) {
                    devNumber = i;
                }
            }
            if (devNumber < 0) {
                devNumber = devRoles.length;
                devRoles = Arrays.copyOf(devRoles, devRoles.length + 1);
            }
            devRoles[devNumber] = role;
            slot.device = device;
            slot.devNumber = devNumber;
            slot.deviceUuid = UUID.randomUUID();
            slot.recoveredBlocks = 0;
            slot.correctedReads = 0;
            slot.fault = null;
            slot.state = MemberState.REBUILDING;
            try {
                writeNewMemberMetadata(slot);
            } catch (CoreException e) {
                devRoles = rolesBefore; // the other members never listed it: it stays a failed role
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

    /**
     * The replacement's own metadata, durable before any other member lists its role (mdadm writes
     * a spare's superblock before the kernel adds it): its bitmap, flushed, then its superblock
     * (recovery offset 0, the events the next superblock update of every member writes), flushed.
     * A power cut before that leaves the other members recording the role faulty, so the array
     * assembles degraded without the replacement (it has no superblock, so it is simply absent);
     * a cut after it finds the replacement's superblock freshest (by at most one event), with its
     * bitmap, and the rebuild resumes from recovery offset 0.
     */
    private void writeNewMemberMetadata(Slot slot) {
        BlockDevice device = slot.device;
        if (bitmap != null) {
            int written = MetadataIo.write(device, BITMAP_START_BYTES, bitmap.image());
            meter().issuedWrite(IoCause.METADATA, written);
            device.flush();
        }
        // the events of the writeSuperblocks that follows: whatever part of it a cut lets through,
        // no member is more than one event behind the freshest
        MdSuperblock sb = superblockFor(slot, MdSuperblock.mdTime(System.currentTimeMillis()));
        sb.events = events + 1;
        int written = MetadataIo.write(device, SUPER_OFFSET_BYTES, sb.encode());
        meter().issuedWrite(IoCause.METADATA, written);
        device.flush();
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
        if (repair) {
            beginWrite();
        }
        long checked = 0;
        long mismatched = 0;
        long repaired = 0;
        long units = engine.unitCount();
        long blockSize = geometry().blockSize();
        for (long unit = 0; unit < units; unit++) {
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

    long rebuildBytesPerSecond() {
        return rebuildBytesPerSecond;
    }

    /** Rebuild finished: the member is in sync. */
    void rebuildDone(int role) {
        Slot slot = slots[role];
        try {
            slot.device.flush();
        } catch (CoreException e) {
            rethrowIfFatal(e);
            markFailed(slot, "flush after rebuild: " + e.getMessage());
            return;
        }
        if (journal != null) {
            // leaving degraded mode: commits durable, and the new member gets the journal's bytes
            journal.withLock(() -> {
                journal.syncLocked();
                copyJournalRegionTo(slot);
                activate(slot);
            });
        } else {
            activate(slot);
        }
    }

    private void activate(Slot slot) {
        synchronized (metaLock) {
            if (slot.state == MemberState.REBUILDING) {
                slot.state = MemberState.ACTIVE;
                writeSuperblocks();
            }
        }
    }

    private void copyJournalRegionTo(Slot target) {
        MirroredRegion region = journal.region();
        ByteBuffer buffer = pool.acquire();
        try {
            int piece = Math.max(1, buffer.capacity() / blockSize);
            for (long lba = 0; lba < region.blockCount(); lba += piece) {
                int n = (int) Math.min(piece, region.blockCount() - lba);
                region.read(lba, n, buffer, 0);
                target.device.write(region.startLba() + lba, n, buffer, 0);
                meter().issuedWrite(IoCause.JOURNAL, (long) n * blockSize);
            }
            target.device.flush();
        } catch (CoreException e) {
            rethrowIfFatal(e);
            markFailed(target, "journal copy: " + e.getMessage());
        } finally {
            pool.release(buffer);
        }
    }

    /** Rebuild checkpoint: flush the new member, then record recovery_offset in the superblocks. */
    void rebuildCheckpoint(int role) {
        Slot slot = slots[role];
        try {
            slot.device.flush();
        } catch (CoreException e) {
            rethrowIfFatal(e);
            markFailed(slot, "flush at rebuild checkpoint: " + e.getMessage());
            return;
        }
        writeSuperblocks();
    }

    /** Resync of the unit finished: bitmap bit may clear, cursor moves on. */
    void resyncProgress(long nextUnit, boolean done) {
        if (done) {
            flushMembers();
            resyncCursorUnit = -1;
            writeSuperblocks();
        } else if (bitmap == null) {
            resyncCursorUnit = nextUnit;
        }
    }

    /** Whether {@code unit} needs a resync (bitmap bit marked, or at/after the cursor without bitmap). */
    boolean unitNeedsSync(long unit) {
        if (bitmap != null) {
            return bitmap.needsSync(bitmap.bitOf(unit * chunkBlocks * (long) sectorsPerBlock));
        }
        long cursor = resyncCursorUnit;
        return cursor >= 0 && unit >= cursor;
    }

    /** After resyncing the units of a bitmap bit: flush, then let the bit clear. */
    void bitmapRegionSynced(long unit) {
        if (bitmap != null) {
            flushMembers();
            bitmap.syncDone(bitmap.bitOf(unit * chunkBlocks * (long) sectorsPerBlock));
        }
    }

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

    /** Bitmap bits currently set (dirty regions), for tests and status. */
    public long bitmapDirtyBits() {
        return bitmap == null ? 0 : bitmap.dirtyCount();
    }
}
