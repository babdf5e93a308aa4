package dev.scemu.raid.internal;

import static dev.scemu.raid.internal.MdSuperblockLayout.*;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.raid.AssembleOptions;
import dev.scemu.raid.MemberState;
import dev.scemu.raid.RaidArray;
import dev.scemu.raid.RaidConfig;
import dev.scemu.raid.RaidError;
import dev.scemu.raid.RaidException;
import dev.scemu.raid.RaidLevel;
import dev.scemu.raid.RebuildProgress;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * Start-up of an {@link MdRaidArray}: {@link #create} writes fresh md v1.2 metadata and starts a new
 * array; {@link #assemble} starts one from its members' superblocks (after {@link MemberSelection}
 * chose them), recovers the parity journal, loads the bitmap and schedules resync or rebuild. Once
 * either returns, the array serves I/O on its own; nothing here runs on the I/O path.
 */
final class MdArrayStartup {

    private MdArrayStartup() {
    }

    /** See {@link RaidArray#create}. */
    static MdRaidArray create(RaidConfig config, List<? extends BlockDevice> members) {
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
        long chunkSectors = config.chunkBytes() / SECTOR_BYTES;
        // RAID-5: the parity journal lives after data_offset + data_size, where md never writes
        long journalSectors = level == RaidLevel.RAID5
                ? ParityJournal.tailSectors(capacityBytes, dataOffsetSectors, chunkSectors, blockSize) : 0;
        long dataSizeSectors = capacityBytes / SECTOR_BYTES - dataOffsetSectors - journalSectors;
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
                bitmapChunkBytes = MdMetadata.DEFAULT_BITMAP_CHUNK_BYTES;
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
            if (MdMetadata.BITMAP_START_BYTES + bitmapReservedBytes > dataOffsetSectors * SECTOR_BYTES) {
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
        sb.bitmapOffsetSectors = withBitmap ? MdMetadata.BITMAP_OFFSET_SECTORS : 0;
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
                MetadataIo.write(d, MdMetadata.BITMAP_START_BYTES, image);
            }
        }
        MdRaidArray array = new MdRaidArray(config.name(), new BlockGeometry(blockSize, exposed), sb, devices,
                devices[0], null);
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
            array.metadata.persistBitmap(array.bitmap.image(), false);
        }
        array.metadata.writeSuperblocks();
        if (level == RaidLevel.RAID5) {
            MirroredRegion region = ParityJournal.regionOf(array);
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
    static MdRaidArray assemble(List<? extends BlockDevice> candidates, AssembleOptions options) {
        MemberSelection chosen = MemberSelection.select(candidates, options);
        MdSuperblock ref = chosen.ref;
        if (options.expectedRaidDisks() > 0 && ref.raidDisks != options.expectedRaidDisks()) {
            // before any write: the caller's record of the array disagrees with the array itself
            throw new RaidException(RaidError.INVALID_CONFIG, "array " + MdSuperblock.mdadmUuid(ref.setUuid) + " has "
                    + ref.raidDisks + " members (raid_disks of its freshest superblock), the caller expects "
                    + options.expectedRaidDisks() + "; nothing was written");
        }
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
        if (missing > 0 && !options.degradedStart()) {
            List<String> absent = new java.util.ArrayList<>();
            for (int r = 0; r < ref.raidDisks; r++) {
                if (byRole[r] == null || sbByRole[r].isRecovering()) {
                    absent.add("member " + r + ": " + (byRole[r] == null ? faults[r] : "rebuilding, not in sync"));
                }
            }
            throw new RaidException(RaidError.NOT_ENOUGH_MEMBERS, "array " + MdSuperblock.mdadmUuid(ref.setUuid)
                    + " would start degraded and degraded start is off: " + String.join("; ", absent));
        }
        boolean journalCovers = level == RaidLevel.RAID5 && missingFailedWhileRunning
                && ParityJournal.tailBlocks(ref, byRole) >= ParityJournal.MIN_BLOCKS;
        if (!clean && missing > 0 && level == RaidLevel.RAID5 && !options.force() && !journalCovers) {
            String old = ParityJournal.oldFormatJournal(ref, byRole, blockSize);
            throw new RaidException(RaidError.DIRTY_DEGRADED, "cannot start dirty degraded array "
                    + MdSuperblock.mdadmUuid(ref.setUuid) + ": resync_offset " + ref.resyncOffsetSectors
                    + ", " + missing + " member(s) missing; parity of stripes written at the crash is unknown"
                    + (old == null ? "" : "; " + old) + " (use force)");
        }
        long memberDataBlocks = MemberSelection.usedSectors(ref) / spb;
        Raid0Zones zones = level == RaidLevel.RAID0 ? raid0Zones(ref, sbByRole, spb) : null;
        long fullBlocks = switch (level) {
            case RAID0 -> zones.blockCount();
            case RAID1 -> memberDataBlocks;
            case RAID5 -> memberDataBlocks * (ref.raidDisks - 1);
        };
        long exposed = exposedBlocks(options.arrayBlockCount(), fullBlocks);
        // like md's read_sb_page, the bitmap is read from an in-sync member: a member being rebuilt
        // may carry none yet (or one older than the array's)
        BlockDevice bitmapSource = byRole[bitmapSourceRole(level, ref, byRole, sbByRole)];
        MdRaidArray array = new MdRaidArray(ref.setName.isEmpty() ? "md" : ref.setName,
                new BlockGeometry(blockSize, exposed), ref, byRole, bitmapSource, zones);
        array.spares.addAll(chosen.spares);
        array.rebuildBytesPerSecond = options.rebuildBytesPerSecond();
        array.readOnly = options.readOnly();
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
            slot.bblog = BadBlockLog.read(byRole[r], sbByRole[r]);
            if (level == RaidLevel.RAID0) {
                slot.dataSizeSectors = sbByRole[r].dataSizeSectors; // members may differ (zones): kept as found
            }
            if (sbByRole[r].isRecovering()) {
                slot.state = MemberState.REBUILDING;
                long recovered = sbByRole[r].recoveryOffsetSectors / spb;
                slot.startRecoveryAt(recovered / array.chunkBlocks * array.chunkBlocks);
                rebuilding = r;
            } else {
                slot.state = MemberState.ACTIVE;
            }
        }
        for (int devNumber = 0; devNumber < array.metadata.devRoles.length; devNumber++) {
            // like md's super_1_sync: a device number listed as active whose role has no device here
            // (missing, unreadable, damaged, foreign or stale) is recorded faulty on the present members
            int role = array.metadata.devRoles[devNumber];
            if (role < ref.raidDisks && (array.slots[role].device == null || array.slots[role].devNumber != devNumber)) {
                array.metadata.devRoles[devNumber] = ROLE_FAULTY;
            }
        }
        if (level == RaidLevel.RAID5 && !options.readOnly()) {
            MirroredRegion region = ParityJournal.regionOf(array);
            if (region != null) {
                array.journal = ParityJournal.openOrFormat(array, region);
                if (!clean) {
                    array.journal.recover(((Raid5Engine) array.engine).geometry());
                }
            }
        }
        if (array.bitmap != null) {
            byte[] image = MetadataIo.read(bitmapSource, array.metadata.bitmapStartBytes, array.bitmap.reservedBytes());
            array.bitmap.load(MdBitmapLayout.decodeBits(image, array.bitmap.bitCount()));
        }
        // a member being rebuilt is in sync below its recovery offset: those stripes can be resynced,
        // the ones above are recomputed by the rebuild itself (resync skips stripes it cannot check)
        boolean needsResync = !clean && level != RaidLevel.RAID0 && !options.readOnly()
                && (present == ref.raidDisks || level == RaidLevel.RAID1);
        if (options.readOnly()) {
            // like md's read-only start: nothing is written, no resync or recovery runs
            return array;
        }
        if (needsResync) {
            if (array.bitmap != null) {
                array.bitmap.markSetBitsNeedSync();
            } else {
                long unitSectors = (long) array.chunkBlocks * spb;
                array.resyncCursorUnit = ref.resyncOffsetSectors / unitSectors;
            }
            array.metadata.active = true; // stays dirty until the resync is done and the array stops cleanly
        }
        if (options.readAuto() && nothingToRecord(array, chosen, rebuilding, needsResync || level == RaidLevel.RAID0)) {
            // md's read-auto: the superblocks stay as found until the first change (MdMetadata.readAuto);
            // an unclean stop's resync waits for it too (md: resync=PENDING), so a unit whose open fails
            // above the array (or that is only read) writes nothing
            if (needsResync) {
                array.metadata.deferResync(options.listener());
            } else {
                array.metadata.readAuto = true;
            }
            return array;
        }
        array.metadata.writeSuperblocks();
        if (needsResync) {
            CompletableFuture<RebuildProgress> resync = array.startResync(options.listener());
            if (options.resyncInForeground()) {
                resync.join();
            }
        }
        if (rebuilding >= 0) {
            array.startRebuild(rebuilding, options.listener());
        } else if (!array.spares.isEmpty() && array.isDegraded()) {
            // md_check_recovery after the start: an empty role is rebuilt onto a spare
            if (array.backgroundWork().isDone()) {
                try {
                    array.useSpare(options.listener());
                } catch (RaidException | dev.scemu.core.CoreException e) {
                    if (e instanceof dev.scemu.core.CoreException ce) {
                        MdRaidArray.rethrowIfFatal(ce);
                    }
                    // the array runs degraded, as md does when it cannot add the spare
                    org.slf4j.LoggerFactory.getLogger(MdArrayStartup.class).warn(
                            "array {}: rebuild onto a spare did not start: {}", array.name(), e.getMessage());
                }
            } else {
                array.scheduleSpare(options.listener());
            }
        }
        return array;
    }

    /**
     * Whether an assembly would write the superblocks only to say what they already say: every
     * present member clean with the freshest events (no cut in the middle of a superblock update
     * to even out), no role newly recorded faulty, nothing to rebuild or take a spare for, and
     * nothing to resync unless {@code resyncDeferrable} (a dirty array whose resync can wait for the
     * first change, or a RAID-0, which has nothing to resync). Then a read-auto start writes nothing.
     */
    private static boolean nothingToRecord(MdRaidArray array, MemberSelection chosen, int rebuilding,
                                           boolean resyncDeferrable) {
        MdSuperblock ref = chosen.ref;
        if ((!ref.isClean() && !resyncDeferrable) || rebuilding >= 0 || !java.util.Arrays.equals(array.metadata.devRoles, ref.devRoles)
                || (!array.spares.isEmpty() && array.isDegraded())) {
            return false;
        }
        for (int r = 0; r < ref.raidDisks; r++) {
            MdSuperblock sb = chosen.sbByRole[r];
            if (chosen.byRole[r] != null && (sb.events != ref.events || (!sb.isClean() && !resyncDeferrable)
                    || !java.util.Arrays.equals(sb.devRoles, ref.devRoles))) {
                return false;
            }
        }
        return true;
    }

    /**
     * md's strip zones of a RAID-0 whose members are all here (MemberSelection refuses one without):
     * each member's own data_size (rounded down to the chunk); the superblock's layout counts only
     * with feature bit RAID0_LAYOUT, as super_1_validate reads it.
     */
    private static Raid0Zones raid0Zones(MdSuperblock ref, MdSuperblock[] sbByRole, int spb) {
        long[] blocks = new long[ref.raidDisks];
        for (int r = 0; r < ref.raidDisks; r++) {
            MdSuperblock sb = sbByRole[r] != null ? sbByRole[r] : ref;
            blocks[r] = MemberSelection.usedSectors(sb) / spb;
        }
        int layout = (ref.featureMap & MdSuperblockLayout.FEATURE_RAID0_LAYOUT) != 0 ? ref.layout : -1;
        String name = MdSuperblock.mdadmUuid(ref.setUuid);
        return Raid0Zones.of(blocks, ref.chunkSectors / spb, layout, name);
    }

    /**
     * The member the bitmap is read from: the first in-sync member whose bitmap header checks. md's
     * read_sb_page takes the first in-sync member that reads without an I/O error and refuses to
     * start the array when that copy's header is bad (md_bitmap_read_sb: "invalid bitmap magic"),
     * although every in-sync member holds a copy of the same bitmap (md writes each page to all of
     * them). scemu reads the next copy instead and names the damaged one; the damaged copy is
     * written again with the next bitmap header update (the first change). Only when no in-sync
     * member holds a good header is the array refused, with the first member's reason.
     */
    private static int bitmapSourceRole(RaidLevel level, MdSuperblock ref, BlockDevice[] byRole,
                                        MdSuperblock[] sbByRole) {
        int first = firstInSync(byRole, sbByRole);
        if (!ref.hasBitmap() || level == RaidLevel.RAID0) {
            return first;
        }
        long start = SUPER_OFFSET_BYTES + (long) ref.bitmapOffsetSectors * SECTOR_BYTES;
        RaidException firstFailure = null;
        for (int r = 0; r < byRole.length; r++) {
            if (byRole[r] == null || sbByRole[r].isRecovering()) {
                continue;
            }
            try {
                MdBitmapLayout.decodeHeader(MetadataIo.read(byRole[r], start, MdBitmapLayout.HEADER_BYTES),
                        byRole[r].name());
                if (firstFailure != null) {
                    org.slf4j.LoggerFactory.getLogger(MdArrayStartup.class).warn("{}; the bitmap is read from"
                            + " member {} ({}), the damaged copy is written again at the first change",
                            firstFailure.getMessage(), r, byRole[r].name());
                }
                return r;
            } catch (RaidException e) {
                if (firstFailure == null) {
                    firstFailure = e;
                }
            }
        }
        throw firstFailure != null ? firstFailure : new RaidException(RaidError.NO_SUPERBLOCK, "no in-sync member");
    }

    private static int firstInSync(BlockDevice[] byRole, MdSuperblock[] sbByRole) {
        for (int i = 0; i < byRole.length; i++) {
            if (byRole[i] != null && !sbByRole[i].isRecovering()) {
                return i;
            }
        }
        return 0;
    }
}
