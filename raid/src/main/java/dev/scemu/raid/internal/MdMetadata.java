package dev.scemu.raid.internal;

import static dev.scemu.raid.internal.MdSuperblockLayout.*;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.CoreException;
import dev.scemu.core.IoCause;
import dev.scemu.raid.MemberState;
import dev.scemu.raid.RaidError;
import dev.scemu.raid.RaidException;
import dev.scemu.raid.RaidLevel;
import dev.scemu.raid.RebuildListener;
import java.util.ArrayList;
import java.util.List;

/**
 * Superblock and bitmap persistence of one {@link MdRaidArray}: the md state that lives in the
 * superblocks (events, the active/clean flag, the device-number-to-role table) and the writers of
 * superblocks and bitmap images to the members.
 *
 * <h2>Locking</h2>
 * {@link #lock} orders every change of {@link #events}, {@link #active} and {@link #devRoles} with
 * the superblock write that records it, so no two superblock writes interleave and every member
 * gets the same events.
 */
final class MdMetadata {

    /** Bitmap starts 8 sectors (4 KiB) after the superblock, like mdadm. */
    static final int BITMAP_OFFSET_SECTORS = 8;
    static final long BITMAP_START_BYTES = SUPER_OFFSET_BYTES + BITMAP_OFFSET_SECTORS * 512L;
    static final int DEFAULT_BITMAP_CHUNK_BYTES = 64 << 20;

    private final MdRaidArray array;
    final Object lock = new Object();
    private volatile long events;
    /** Superblocks say dirty (resync_offset 0): written before the first write after a clean state. */
    volatile boolean active;
    /**
     * md's read-auto ({@code MD_AUTO_READ}, {@link dev.scemu.raid.AssembleOptions#readAuto}): the
     * array was assembled without writing and nothing has been written to a member since, so the
     * superblocks and bitmaps on the members are exactly as the assembly found them (clean, one
     * events value). Set only by the assembly; cleared by the first superblock write
     * ({@link #writeSuperblocks}, under {@link #lock}), which every path that writes to a member
     * goes through first: {@link #markActive} (host writes, trims, announced batches, scrub
     * repair), {@link #leaveReadAuto} (read repairs), member failure, replacement, bad blocks.
     * While it holds, {@link #writeClean} writes nothing.
     */
    volatile boolean readAuto;
    /** See {@link #deferResync}; cleared by the superblock write that starts the resync. Guarded by {@link #lock}. */
    private volatile boolean resyncPending;
    private RebuildListener pendingResyncListener;
    /** md's dev_roles: role of each device number (0xfffe faulty, 0xffff spare). Guarded by {@link #lock}. */
    int[] devRoles;

    /** Where the bitmap starts on every member: superblock + bitmap_offset (mdadm and scemu: + 8 sectors). */
    final long bitmapStartBytes;

    MdMetadata(MdRaidArray array, MdSuperblock reference) {
        this.array = array;
        this.bitmapStartBytes = SUPER_OFFSET_BYTES + (reference.hasBitmap()
                ? (long) reference.bitmapOffsetSectors * SECTOR_BYTES : BITMAP_OFFSET_SECTORS * 512L);
        this.events = reference.events;
        this.devRoles = reference.devRoles.clone();
    }

    /**
     * The write-intent bitmap described by the header on {@code bitmapSource} (an in-sync member,
     * as md reads it), or null when the array has none.
     */
    static WriteIntentBitmap openBitmap(MdRaidArray array, MdSuperblock reference, BlockDevice bitmapSource) {
        if (!reference.hasBitmap() || array.level == RaidLevel.RAID0) {
            return null;
        }
        String name = array.name();
        long start = array.metadata.bitmapStartBytes;
        if (reference.bitmapOffsetSectors * (long) SECTOR_BYTES < SUPERBLOCK_BYTES) {
            throw new RaidException(RaidError.UNSUPPORTED_FEATURE, "array " + name + ": bitmap_offset "
                    + reference.bitmapOffsetSectors + " sectors puts the bitmap before the end of the superblock"
                    + " (md 1.2 keeps it after)");
        }
        // the room the bitmap has: up to data_offset, or to a bad-block log that follows it
        long end = reference.dataOffsetSectors * SECTOR_BYTES;
        long bblogStart = SUPER_OFFSET_BYTES + (long) reference.bblogOffsetSectors * SECTOR_BYTES;
        if (reference.hasBadBlockLog() && bblogStart > start) {
            end = Math.min(end, bblogStart);
        }
        byte[] header = MetadataIo.read(bitmapSource, start, MdBitmapLayout.HEADER_BYTES);
        MdBitmapLayout.Header h = MdBitmapLayout.decodeHeader(header, name);
        MdBitmapLayout.checkFits(h, reference.sizeSectors, end - start, name);
        WriteIntentBitmap bitmap = new WriteIntentBitmap(array.setUuid, reference.sizeSectors, h.chunkBytes(),
                h.reservedSectors() * 512, array.metadata::writeBitmapPage, array.metadata::events, array::degraded);
        bitmap.setEventsCleared(h.eventsCleared());
        int daemonSleep = java.nio.ByteBuffer.wrap(header).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .getInt(MdBitmapLayout.OFF_DAEMON_SLEEP);
        // md_bitmap_read_sb refuses a period out of range; mdadm always writes 5 s
        bitmap.setDaemonSleepSeconds(daemonSleep >= 1 && daemonSleep <= 3600 ? daemonSleep
                : MdBitmapLayout.DEFAULT_DAEMON_SLEEP_SECONDS);
        return bitmap;
    }

    long events() {
        return events;
    }

    /**
     * Writes the superblock of every present member (events + 1) and flushes them. The first such
     * write after a read-auto assembly that {@linkplain #deferResync deferred a resync} writes them
     * dirty and then starts that resync (md_write_start leaving {@code MD_AUTO_READ} wakes
     * md_check_recovery, which starts the pending resync).
     */
    void writeSuperblocks() {
        if (array.readOnly) {
            return; // a read-only assembly writes nothing (md: read-only arrays keep their superblocks)
        }
        synchronized (lock) {
            readAuto = false; // the superblocks change from here on: the stop must write them clean
            boolean resync = resyncPending;
            if (resync) {
                resyncPending = false;
                active = true; // not in sync until the resync is done: every superblock written from here says dirty
            }
            writeAndFlushSuperblocks();
            if (resync && !array.stopping() && (array.level == RaidLevel.RAID1 || !array.isDegraded())) {
                // lock order metadata.lock -> the array's monitor: startResync holds that monitor only to chain the job
                array.startResync(pendingResyncListener);
            }
        }
    }

    /**
     * Assembled read-auto from members an unclean stop left dirty: the resync waits for the first
     * change, as md's auto-read-only array shows {@code resync=PENDING} in /proc/mdstat and starts it
     * from md_write_start. Until then nothing is written: reads need no resync (every RAID-1 region
     * reads the same mirror first, a RAID-5 that is not degraded reads data, never parity), and a stop
     * leaves the superblocks dirty, so the next assembly resyncs. Caller: the assembly, before the
     * array is shared.
     */
    void deferResync(RebuildListener listener) {
        active = false;
        pendingResyncListener = listener;
        resyncPending = true;
        readAuto = true;
    }

    /** Whether a resync waits for the first change ({@link #deferResync}). */
    boolean resyncPending() {
        return resyncPending;
    }

    private void writeAndFlushSuperblocks() {
        {
            Slot[] slots = array.slots;
            for (int attempt = 0; attempt < array.raidDisks + 1; attempt++) {
                events++;
                if (array.bitmap != null) {
                    // md_update_sb: the bitmap's events before the superblocks', durable (#17 divergence 2)
                    array.bitmap.persistHeader();
                }
                long now = MdSuperblock.mdTime(System.currentTimeMillis());
                List<Integer> failed = new ArrayList<>();
                for (Slot slot : slots) {
                    BlockDevice d = slot.device;
                    if (d == null || slot.state == MemberState.FAILED) {
                        continue;
                    }
                    try {
                        int written = MetadataIo.write(d, SUPER_OFFSET_BYTES, superblockFor(slot, now).encode());
                        array.meter().issuedWrite(IoCause.METADATA, written);
                    } catch (CoreException e) {
                        MdRaidArray.rethrowIfFatal(e);
                        failed.add(slot.role);
                    }
                }
                for (Slot slot : slots) {
                    BlockDevice d = slot.device;
                    if (d != null && slot.state != MemberState.FAILED && !failed.contains(slot.role)) {
                        try {
                            d.flush();
                        } catch (CoreException e) {
                            MdRaidArray.rethrowIfFatal(e);
                            failed.add(slot.role);
                        }
                    }
                }
                if (failed.isEmpty()) {
                    return;
                }
                for (int role : failed) {
                    array.markFailed(slots[role], "superblock write failed"); // under the lock replace holds: same device
                }
            }
        }
    }

    MdSuperblock superblockFor(Slot slot, long utime) {
        MdRaidArray a = array;
        WriteIntentBitmap bitmap = a.bitmap;
        MdSuperblock sb = new MdSuperblock();
        BadBlockLog bblog = slot.bblog;
        sb.featureMap = (bitmap != null ? FEATURE_BITMAP_OFFSET : 0)
                | (slot.state == MemberState.REBUILDING ? FEATURE_RECOVERY_OFFSET : 0)
                | (bblog != null && !bblog.isEmpty() ? FEATURE_BAD_BLOCKS : 0) | a.preservedFeatures;
        if (bblog != null) {
            sb.bblogOffsetSectors = bblog.offsetSectors();
            sb.bblogSize = bblog.sizeSectors();
            sb.bblogShift = bblog.shift();
        }
        sb.setUuid = a.setUuid;
        sb.setName = a.arrayName;
        sb.ctime = a.ctime;
        sb.level = a.level.mdLevel();
        sb.layout = a.mdLayout;
        sb.sizeSectors = a.sbSizeSectors;
        sb.chunkSectors = a.level == RaidLevel.RAID1 ? 0 : a.chunkBytes / SECTOR_BYTES;
        sb.raidDisks = a.raidDisks;
        sb.bitmapOffsetSectors = bitmap != null ? (int) ((bitmapStartBytes - SUPER_OFFSET_BYTES) / SECTOR_BYTES) : 0;
        sb.dataOffsetSectors = a.dataOffsetSectors;
        sb.dataSizeSectors = slot.dataSizeSectors > 0 ? slot.dataSizeSectors : a.dataSizeSectors;
        sb.recoveryOffsetSectors = slot.state == MemberState.REBUILDING ? slot.recordedRecoveryBlocks * a.sectorsPerBlock : 0;
        sb.devNumber = slot.devNumber;
        sb.correctedReads = slot.correctedReads;
        sb.deviceUuid = slot.deviceUuid;
        sb.utime = utime;
        sb.events = events;
        long cursor = a.resyncCursorUnit;
        boolean pendingSync = cursor >= 0 || (bitmap != null && bitmap.needsSyncCount() > 0);
        if (active) {
            sb.resyncOffsetSectors = 0;
        } else if (pendingSync) {
            sb.resyncOffsetSectors = cursor >= 0 ? cursor * a.chunkBlocks * (long) a.sectorsPerBlock : 0;
        } else {
            sb.resyncOffsetSectors = MAX_SECTOR;
        }
        sb.devRoles = devRoles.clone();
        return sb;
    }

    /** Bitmap image to every present member; see {@link WriteIntentBitmap} ordering. */
    void persistBitmap(byte[] image, boolean flush) {
        if (array.readOnly) {
            return;
        }
        List<FailedWrite> failed = new ArrayList<>();
        for (Slot slot : array.slots) {
            BlockDevice d = slot.device;
            if (d == null || slot.state == MemberState.FAILED) {
                continue;
            }
            try {
                int written = MetadataIo.write(d, bitmapStartBytes, image);
                array.meter().issuedWrite(IoCause.METADATA, written);
                if (flush) {
                    d.flush();
                }
            } catch (CoreException e) {
                MdRaidArray.rethrowIfFatal(e, slot, d);
                failed.add(new FailedWrite(slot, d));
            }
        }
        failed.forEach(f -> array.markFailed(f.slot(), f.device(), "bitmap write failed"));
    }

    /**
     * One bitmap page ({@link WriteIntentBitmap.Store}) to every present member, FUA if asked;
     * members whose write fails are marked failed by the returned work, which the bitmap runs once
     * it has let go of the page (marking a member failed rewrites page 0 with the superblocks).
     */
    Runnable writeBitmapPage(int offset, byte[] bytes, boolean fua) {
        if (array.readOnly) {
            return null;
        }
        List<FailedWrite> failed = new ArrayList<>();
        for (Slot slot : array.slots) {
            BlockDevice d = slot.device;
            if (d == null || slot.state == MemberState.FAILED) {
                continue;
            }
            try {
                int written = MetadataIo.write(d, bitmapStartBytes + offset, bytes, fua);
                array.meter().issuedWrite(IoCause.METADATA, written);
            } catch (CoreException e) {
                MdRaidArray.rethrowIfFatal(e, slot, d);
                failed.add(new FailedWrite(slot, d));
            }
        }
        if (failed.isEmpty()) {
            return null;
        }
        return () -> failed.forEach(f -> array.markFailed(f.slot(), f.device(), "bitmap write failed"));
    }

    /** Before the first write after a clean state: superblocks say "active" (resync_offset 0), flushed. */
    void markActive() {
        if (!active) {
            synchronized (lock) {
                if (!active) {
                    active = true;
                    writeSuperblocks();
                }
            }
        }
    }

    /**
     * Leaves read-auto before a write that does not make the array dirty (a read repair rewrites
     * what redundancy says): the superblocks are written (events + 1, still clean), so the stop
     * writes them clean again with what changed (the member's corrected-read count). No-op unless
     * read-auto.
     */
    void leaveReadAuto() {
        if (readAuto) {
            synchronized (lock) {
                if (readAuto) {
                    writeSuperblocks();
                }
            }
        }
    }

    /**
     * Clean stop, after the members were flushed: superblocks clean, then (with a bitmap whose
     * clear began before that flush) the bitmap cleared, so its events equal the superblock's.
     * Still read-auto (nothing written since the assembly found every member clean): nothing to
     * write, as md's stop of a read-auto array writes nothing.
     */
    void writeClean(boolean clearBitmap) {
        synchronized (lock) {
            if (readAuto) {
                return;
            }
            active = false;
            writeSuperblocks();
            WriteIntentBitmap bitmap = array.bitmap;
            if (bitmap != null && clearBitmap) {
                bitmap.clearAllIdle();
                persistBitmap(bitmap.image(), true);
            }
        }
    }

    /**
     * Records member blocks {@code bad} (device LBAs) in {@code slot}'s bad-block log: the log is
     * written and flushed, then every superblock (BAD_BLOCKS set on this member), as md_update_sb
     * writes the bad-block page before the superblock. False, recording nothing, when the member
     * has no log, the log would overflow, or its write fails.
     */
    boolean recordBadBlocks(Slot slot, List<Long> bad) {
        BadBlockLog bblog = slot.bblog;
        if (bblog == null) {
            return false;
        }
        int spb = array.sectorsPerBlock;
        synchronized (lock) {
            BadBlockLog candidate = new BadBlockLog(bblog.offsetSectors(), bblog.sizeSectors(), bblog.shift());
            for (long[] r : bblog.ranges()) {
                candidate.add(r[0], r[1]);
            }
            for (long lba : bad) {
                candidate.add(lba * spb, spb);
            }
            if (candidate.entryCount() > candidate.capacity()) {
                return false;
            }
            try {
                int written = MetadataIo.write(slot.device, candidate.byteOffset(), candidate.encode());
                array.meter().issuedWrite(IoCause.METADATA, written);
                slot.device.flush();
            } catch (CoreException e) {
                MdRaidArray.rethrowIfFatal(e);
                return false;
            }
            slot.bblog = candidate;
            writeSuperblocks();
            return slot.state != MemberState.FAILED;
        }
    }

    /** Records device number {@code devNumber} faulty in the role table (caller holds {@link #lock}). */
    void recordFaulty(int devNumber) {
        if (devNumber >= 0 && devNumber < devRoles.length) {
            devRoles[devNumber] = ROLE_FAULTY;
        }
    }

    /**
     * A device number for a replacement in {@code slot}: the first one no other present member uses
     * and the role table lists as not active, or a new one at the end (caller holds {@link #lock}).
     */
    int freeDevNumber(Slot slot) {
        for (int i = 0; i < devRoles.length; i++) {
            boolean used = false;
            for (Slot s : array.slots) {
                used |= s.devNumber == i && s != slot && s.device != null;
            }
            for (MemberSelection.Spare spare : array.spares) {
                used |= spare.sb().devNumber == i; // a spare's device number stays its own
            }
            if (!used && devRoles[i] >= ROLE_MAX) {
                return i;
            }
        }
        devRoles = java.util.Arrays.copyOf(devRoles, devRoles.length + 1);
        devRoles[devRoles.length - 1] = ROLE_SPARE;
        return devRoles.length - 1;
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
    void writeNewMemberMetadata(Slot slot) {
        BlockDevice device = slot.device;
        if (array.bitmap != null) {
            // with the events of the superblock written next: the bitmap is never behind it
            int written = MetadataIo.write(device, bitmapStartBytes, array.bitmap.image(events + 1));
            array.meter().issuedWrite(IoCause.METADATA, written);
            device.flush();
        }
        // the events of the writeSuperblocks that follows: whatever part of it a cut lets through,
        // no member is more than one event behind the freshest
        MdSuperblock sb = superblockFor(slot, MdSuperblock.mdTime(System.currentTimeMillis()));
        sb.events = events + 1;
        int written = MetadataIo.write(device, SUPER_OFFSET_BYTES, sb.encode());
        array.meter().issuedWrite(IoCause.METADATA, written);
        device.flush();
    }

    /** A metadata write that failed on {@code device}, then in {@code slot}: failed after the loop ({@link MdRaidArray#markFailed(Slot, BlockDevice, String)}). */
    private record FailedWrite(Slot slot, BlockDevice device) {
    }
}
