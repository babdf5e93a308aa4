package dev.scemu.raid.internal;

import static dev.scemu.raid.internal.MdSuperblockLayout.SECTOR_BYTES;
import static dev.scemu.raid.internal.MdSuperblockLayout.SUPERBLOCK_BYTES;
import static dev.scemu.raid.internal.MdSuperblockLayout.SUPER_OFFSET_BYTES;

import dev.scemu.core.BlockDevice;
import dev.scemu.raid.RaidError;
import dev.scemu.raid.RaidException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * md's bad-block log of one member: the sectors the member cannot hold, read like the kernel's
 * {@code super_1_load} and written like its {@code super_1_sync} (drivers/md/md.c). It sits
 * {@code bblog_offset} sectors (signed) from the superblock and is {@code bblog_size} sectors long
 * (mdadm: 8 sectors at superblock + 16, room for 512 entries); every entry is a little-endian u64:
 *
 * <pre>
 *  bits 63..10  first bad sector >> bblog_shift, counted from the start of the member (not data_offset)
 *  bits  9..0   sectors >> bblog_shift (1..512; 0 = no entry, as mdadm leaves a fresh log)
 *  ~0           end of the list (md fills the unused entries with 0xff)
 * </pre>
 *
 * <p>Rules (see docs/raid-on-disk.md, "Bad-block log"): a listed sector is never read as data, the
 * engine reconstructs it from redundancy (md's {@code is_badblock} checks in raid1/raid5); it is
 * not written either (md skips bad ranges on writes); a failed member write is narrowed to blocks
 * and the failing blocks are recorded ({@code narrow_write_error} / {@code rdev_set_badblocks}),
 * the log written before the superblock that sets feature bit BAD_BLOCKS; only when the log is full
 * (or the member has none) does the write fail the member. Guarded by the array's metadata lock.
 */
final class BadBlockLog {

    static final int ENTRY_BYTES = 8;
    /** Largest count one entry holds, in units of 2^shift sectors (md's BB_MAX_LEN). */
    static final int MAX_ENTRY_LENGTH = 512;

    private final int offsetSectors;
    private final int sizeSectors;
    private final int shift;
    /** Bad ranges: first sector (from the member start) to sector count; disjoint, not adjacent. */
    private final TreeMap<Long, Long> ranges = new TreeMap<>();

    BadBlockLog(int offsetSectors, int sizeSectors, int shift) {
        this.offsetSectors = offsetSectors;
        this.sizeSectors = sizeSectors;
        this.shift = shift;
    }

    /** The log of {@code member} as its superblock {@code sb} places it, or null when it has none. */
    static BadBlockLog read(BlockDevice member, MdSuperblock sb) {
        if (!sb.hasBadBlockLog()) {
            return null;
        }
        long start = SUPER_OFFSET_BYTES + (long) sb.bblogOffsetSectors * SECTOR_BYTES;
        long end = start + (long) sb.bblogSize * SECTOR_BYTES;
        if (start < SUPER_OFFSET_BYTES + SUPERBLOCK_BYTES || end > sb.dataOffsetSectors * SECTOR_BYTES
                || sb.bblogShift > 30) {
            throw new RaidException(RaidError.NO_SUPERBLOCK, "member " + member.name() + ": bad-block log of "
                    + sb.bblogSize + " sectors at superblock " + (sb.bblogOffsetSectors >= 0 ? "+" : "")
                    + sb.bblogOffsetSectors + " sectors (shift " + sb.bblogShift + ") is not between the superblock"
                    + " and data_offset " + sb.dataOffsetSectors);
        }
        BadBlockLog log = new BadBlockLog(sb.bblogOffsetSectors, sb.bblogSize, sb.bblogShift);
        ByteBuffer b = ByteBuffer.wrap(MetadataIo.read(member, start, sb.bblogSize * SECTOR_BYTES))
                .order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < b.capacity() / ENTRY_BYTES; i++) {
            long entry = b.getLong(i * ENTRY_BYTES);
            if (entry == -1L) {
                break;
            }
            long count = (entry & 0x3ff) << sb.bblogShift;
            long sector = (entry >>> 10) << sb.bblogShift;
            if (count > 0) {
                log.add(sector, count);
            }
        }
        return log;
    }

    int offsetSectors() {
        return offsetSectors;
    }

    int sizeSectors() {
        return sizeSectors;
    }

    int shift() {
        return shift;
    }

    long byteOffset() {
        return SUPER_OFFSET_BYTES + (long) offsetSectors * SECTOR_BYTES;
    }

    synchronized boolean isEmpty() {
        return ranges.isEmpty();
    }

    /** Entries the log's sectors hold. */
    int capacity() {
        return sizeSectors * SECTOR_BYTES / ENTRY_BYTES;
    }

    /** Whether any sector of {@code [sector, +count)} (from the member start) is listed. */
    synchronized boolean isBad(long sector, long count) {
        Map.Entry<Long, Long> before = ranges.floorEntry(sector + count - 1);
        return before != null && before.getKey() + before.getValue() > sector;
    }

    /** Listed ranges as {first sector, sector count}, in order. */
    synchronized List<long[]> ranges() {
        List<long[]> out = new ArrayList<>();
        ranges.forEach((k, v) -> out.add(new long[] {k, v}));
        return out;
    }

    /** Adds {@code [sector, +count)}, merged with overlapping or adjacent ranges (md's badblocks_set). */
    synchronized void add(long sector, long count) {
        long start = sector;
        long end = sector + count;
        Map.Entry<Long, Long> e = ranges.floorEntry(end);
        while (e != null && e.getKey() + e.getValue() >= start) {
            start = Math.min(start, e.getKey());
            end = Math.max(end, e.getKey() + e.getValue());
            ranges.remove(e.getKey());
            e = ranges.floorEntry(end);
        }
        ranges.put(start, end - start);
    }

    /** Entries needed to store the ranges (a range longer than an entry takes several). */
    synchronized int entryCount() {
        long unit = 1L << shift;
        long max = MAX_ENTRY_LENGTH * unit;
        int n = 0;
        for (Map.Entry<Long, Long> e : ranges.entrySet()) {
            long first = e.getKey() / unit * unit;
            long end = (e.getKey() + e.getValue() + unit - 1) / unit * unit;
            n += (int) ((end - first + max - 1) / max);
        }
        return n;
    }

    /** The on-disk log: entries in sector order, the rest 0xff (super_1_sync). */
    synchronized byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(sizeSectors * SECTOR_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < b.capacity(); i++) {
            b.put(i, (byte) 0xff);
        }
        long unit = 1L << shift;
        int i = 0;
        for (Map.Entry<Long, Long> e : ranges.entrySet()) {
            long first = e.getKey() / unit;
            long end = (e.getKey() + e.getValue() + unit - 1) / unit;
            for (long s = first; s < end && i < capacity(); s += MAX_ENTRY_LENGTH) {
                long len = Math.min(MAX_ENTRY_LENGTH, end - s);
                b.putLong(i++ * ENTRY_BYTES, (s << 10) | len);
            }
        }
        return b.array();
    }
}
