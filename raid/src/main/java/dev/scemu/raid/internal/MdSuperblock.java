package dev.scemu.raid.internal;

import static dev.scemu.raid.internal.MdSuperblockLayout.*;

import dev.scemu.raid.RaidError;
import dev.scemu.raid.RaidException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.UUID;

/**
 * One md v1.2 superblock in memory, with its codec ({@link #encode}, {@link #decode}) and md's
 * checksum. Layout: {@link MdSuperblockLayout}. Mutable; a copy per member.
 */
public final class MdSuperblock {

    public int featureMap;
    public UUID setUuid;
    public String setName = "";
    public long ctime;
    public int level;
    public int layout;
    /** Used data sectors per member. */
    public long sizeSectors;
    public int chunkSectors;
    public int raidDisks;
    /** Signed sectors from the superblock to the bitmap. */
    public int bitmapOffsetSectors;
    public long dataOffsetSectors;
    public long dataSizeSectors;
    public long superOffsetSectors = SUPER_OFFSET_SECTORS;
    public long recoveryOffsetSectors;
    public int devNumber;
    public int correctedReads;
    public UUID deviceUuid;
    public long utime;
    public long events;
    public long resyncOffsetSectors = MAX_SECTOR;
    public int devflags;
    public int bblogShift;
    /** Sectors of the bad-block log; 0 = none. */
    public int bblogSize;
    /** Signed sectors from the superblock to the bad-block log. */
    public int bblogOffsetSectors;
    public int newLevel;
    public long reshapePosition;
    public int deltaDisks;
    public int newLayout;
    public int newChunk;
    public int newOffset;
    /** Role of each dev_number; length is max_dev. */
    public int[] devRoles = new int[0];

    public MdSuperblock copy() {
        MdSuperblock c = new MdSuperblock();
        c.featureMap = featureMap;
        c.setUuid = setUuid;
        c.setName = setName;
        c.ctime = ctime;
        c.level = level;
        c.layout = layout;
        c.sizeSectors = sizeSectors;
        c.chunkSectors = chunkSectors;
        c.raidDisks = raidDisks;
        c.bitmapOffsetSectors = bitmapOffsetSectors;
        c.dataOffsetSectors = dataOffsetSectors;
        c.dataSizeSectors = dataSizeSectors;
        c.superOffsetSectors = superOffsetSectors;
        c.recoveryOffsetSectors = recoveryOffsetSectors;
        c.devNumber = devNumber;
        c.correctedReads = correctedReads;
        c.deviceUuid = deviceUuid;
        c.utime = utime;
        c.events = events;
        c.resyncOffsetSectors = resyncOffsetSectors;
        c.devflags = devflags;
        c.bblogShift = bblogShift;
        c.bblogSize = bblogSize;
        c.bblogOffsetSectors = bblogOffsetSectors;
        c.newLevel = newLevel;
        c.reshapePosition = reshapePosition;
        c.deltaDisks = deltaDisks;
        c.newLayout = newLayout;
        c.newChunk = newChunk;
        c.newOffset = newOffset;
        c.devRoles = devRoles.clone();
        return c;
    }

    /** Role of this device from its own dev_roles entry. */
    public int role() {
        return devNumber < devRoles.length ? devRoles[devNumber] : ROLE_SPARE;
    }

    public boolean isClean() {
        return resyncOffsetSectors == MAX_SECTOR;
    }

    public boolean hasBadBlockLog() {
        return bblogSize > 0 && bblogOffsetSectors != 0;
    }

    public boolean hasBitmap() {
        return (featureMap & FEATURE_BITMAP_OFFSET) != 0;
    }

    public boolean isRecovering() {
        return (featureMap & FEATURE_RECOVERY_OFFSET) != 0;
    }

    /** md's time format: seconds in the low 40 bits, microseconds in the high 24. */
    public static long mdTime(long epochMillis) {
        long seconds = epochMillis / 1000;
        long micros = (epochMillis % 1000) * 1000;
        return (seconds & 0xff_ffff_ffffL) | (micros << 40);
    }

    /** Encodes into {@code SUPERBLOCK_BYTES} bytes (zeros beyond dev_roles), checksum included. */
    public byte[] encode() {
        if (devRoles.length > MAX_DEV_LIMIT) {
            throw new RaidException(RaidError.INVALID_CONFIG, "max_dev " + devRoles.length + " exceeds " + MAX_DEV_LIMIT);
        }
        ByteBuffer b = ByteBuffer.allocate(SUPERBLOCK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(OFF_MAGIC, MAGIC);
        b.putInt(OFF_MAJOR_VERSION, MAJOR_VERSION);
        b.putInt(OFF_FEATURE_MAP, featureMap);
        putUuid(b, OFF_SET_UUID, setUuid);
        byte[] name = setName.getBytes(StandardCharsets.UTF_8);
        b.put(OFF_SET_NAME, name, 0, Math.min(name.length, SET_NAME_BYTES));
        b.putLong(OFF_CTIME, ctime);
        b.putInt(OFF_LEVEL, level);
        b.putInt(OFF_LAYOUT, layout);
        b.putLong(OFF_SIZE, sizeSectors);
        b.putInt(OFF_CHUNKSIZE, chunkSectors);
        b.putInt(OFF_RAID_DISKS, raidDisks);
        b.putInt(OFF_BITMAP_OFFSET, bitmapOffsetSectors);
        b.putInt(OFF_NEW_LEVEL, newLevel);
        b.putLong(OFF_RESHAPE_POSITION, reshapePosition);
        b.putInt(OFF_DELTA_DISKS, deltaDisks);
        b.putInt(OFF_NEW_LAYOUT, newLayout);
        b.putInt(OFF_NEW_CHUNK, newChunk);
        b.putInt(OFF_NEW_OFFSET, newOffset);
        b.putLong(OFF_DATA_OFFSET, dataOffsetSectors);
        b.putLong(OFF_DATA_SIZE, dataSizeSectors);
        b.putLong(OFF_SUPER_OFFSET, superOffsetSectors);
        b.putLong(OFF_RECOVERY_OFFSET, recoveryOffsetSectors);
        b.putInt(OFF_DEV_NUMBER, devNumber);
        b.putInt(OFF_CNT_CORRECTED_READ, correctedReads);
        putUuid(b, OFF_DEVICE_UUID, deviceUuid);
        b.put(OFF_DEVFLAGS, (byte) devflags);
        b.put(OFF_BBLOG_SHIFT, (byte) bblogShift);
        b.putShort(OFF_BBLOG_SIZE, (short) bblogSize);
        b.putInt(OFF_BBLOG_OFFSET, bblogOffsetSectors);
        b.putLong(OFF_UTIME, utime);
        b.putLong(OFF_EVENTS, events);
        b.putLong(OFF_RESYNC_OFFSET, resyncOffsetSectors);
        b.putInt(OFF_MAX_DEV, devRoles.length);
        for (int i = 0; i < devRoles.length; i++) {
            b.putShort(OFF_DEV_ROLES + 2 * i, (short) devRoles[i]);
        }
        b.putInt(OFF_SB_CSUM, checksum(b));
        return b.array();
    }

    /**
     * Decodes the 4 KiB at the superblock offset; throws {@link RaidError#NO_SUPERBLOCK} naming
     * {@code member} when magic, version, super_offset or checksum is wrong.
     */
    public static MdSuperblock decode(byte[] bytes, String member) {
        if (bytes == null || bytes.length < OFF_DEV_ROLES) {
            throw new RaidException(RaidError.NO_SUPERBLOCK, "member " + member + ": md superblock of "
                    + (bytes == null ? 0 : bytes.length) + " bytes is shorter than its " + OFF_DEV_ROLES + "-byte header");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(OFF_MAGIC) != MAGIC) {
            throw new RaidException(RaidError.NO_SUPERBLOCK, String.format(
                    "member %s: no md superblock at byte %d (magic 0x%08x, expected 0x%08x)",
                    member, SUPER_OFFSET_BYTES, b.getInt(OFF_MAGIC), MAGIC));
        }
        if (b.getInt(OFF_MAJOR_VERSION) != MAJOR_VERSION || b.getLong(OFF_SUPER_OFFSET) != SUPER_OFFSET_SECTORS) {
            throw new RaidException(RaidError.NO_SUPERBLOCK, "member " + member + ": md superblock major_version "
                    + b.getInt(OFF_MAJOR_VERSION) + " super_offset " + b.getLong(OFF_SUPER_OFFSET)
                    + " is not metadata 1.2 (1, 8)");
        }
        int maxDev = b.getInt(OFF_MAX_DEV);
        if (maxDev < 0 || maxDev > MAX_DEV_LIMIT) {
            throw new RaidException(RaidError.NO_SUPERBLOCK, "member " + member + ": max_dev " + maxDev + " is invalid");
        }
        if (OFF_DEV_ROLES + 2L * maxDev > bytes.length) {
            throw new RaidException(RaidError.NO_SUPERBLOCK, "member " + member + ": max_dev " + maxDev
                    + " needs " + (OFF_DEV_ROLES + 2L * maxDev) + " bytes, the superblock has " + bytes.length);
        }
        int stored = b.getInt(OFF_SB_CSUM);
        int computed = checksum(b);
        if (stored != computed) {
            throw new RaidException(RaidError.NO_SUPERBLOCK, String.format(
                    "member %s: md superblock checksum mismatch: stored 0x%08x, computed 0x%08x", member, stored, computed));
        }
        MdSuperblock sb = new MdSuperblock();
        sb.featureMap = b.getInt(OFF_FEATURE_MAP);
        sb.setUuid = getUuid(b, OFF_SET_UUID);
        byte[] name = new byte[SET_NAME_BYTES];
        b.get(OFF_SET_NAME, name);
        int end = 0;
        while (end < name.length && name[end] != 0) {
            end++;
        }
        sb.setName = new String(name, 0, end, StandardCharsets.UTF_8);
        sb.ctime = b.getLong(OFF_CTIME);
        sb.level = b.getInt(OFF_LEVEL);
        sb.layout = b.getInt(OFF_LAYOUT);
        sb.sizeSectors = b.getLong(OFF_SIZE);
        sb.chunkSectors = b.getInt(OFF_CHUNKSIZE);
        sb.raidDisks = b.getInt(OFF_RAID_DISKS);
        sb.bitmapOffsetSectors = b.getInt(OFF_BITMAP_OFFSET);
        sb.dataOffsetSectors = b.getLong(OFF_DATA_OFFSET);
        sb.dataSizeSectors = b.getLong(OFF_DATA_SIZE);
        sb.superOffsetSectors = b.getLong(OFF_SUPER_OFFSET);
        sb.recoveryOffsetSectors = b.getLong(OFF_RECOVERY_OFFSET);
        sb.devNumber = b.getInt(OFF_DEV_NUMBER);
        sb.correctedReads = b.getInt(OFF_CNT_CORRECTED_READ);
        sb.deviceUuid = getUuid(b, OFF_DEVICE_UUID);
        sb.devflags = Byte.toUnsignedInt(b.get(OFF_DEVFLAGS));
        sb.bblogShift = Byte.toUnsignedInt(b.get(OFF_BBLOG_SHIFT));
        sb.bblogSize = Short.toUnsignedInt(b.getShort(OFF_BBLOG_SIZE));
        sb.bblogOffsetSectors = b.getInt(OFF_BBLOG_OFFSET);
        sb.newLevel = b.getInt(OFF_NEW_LEVEL);
        sb.reshapePosition = b.getLong(OFF_RESHAPE_POSITION);
        sb.deltaDisks = b.getInt(OFF_DELTA_DISKS);
        sb.newLayout = b.getInt(OFF_NEW_LAYOUT);
        sb.newChunk = b.getInt(OFF_NEW_CHUNK);
        sb.newOffset = b.getInt(OFF_NEW_OFFSET);
        sb.utime = b.getLong(OFF_UTIME);
        sb.events = b.getLong(OFF_EVENTS);
        sb.resyncOffsetSectors = b.getLong(OFF_RESYNC_OFFSET);
        sb.devRoles = new int[maxDev];
        for (int i = 0; i < maxDev; i++) {
            sb.devRoles[i] = Short.toUnsignedInt(b.getShort(OFF_DEV_ROLES + 2 * i));
        }
        return sb;
    }

    /**
     * md's {@code calc_sb_1_csum}: the sum of the little-endian 32-bit words of the first
     * {@code 256 + 2 * max_dev} bytes with sb_csum taken as zero (a trailing 16-bit half-word
     * added as is), folded once: {@code (sum & 0xffffffff) + (sum >> 32)}, truncated to 32 bits.
     */
    public static int checksum(ByteBuffer littleEndian) {
        int size = OFF_DEV_ROLES + 2 * littleEndian.getInt(OFF_MAX_DEV);
        long sum = 0;
        int offset = 0;
        for (; size >= 4; size -= 4, offset += 4) {
            if (offset != OFF_SB_CSUM) {
                sum += Integer.toUnsignedLong(littleEndian.getInt(offset));
            }
        }
        if (size == 2) {
            sum += Short.toUnsignedInt(littleEndian.getShort(offset));
        }
        return (int) ((sum & 0xffff_ffffL) + (sum >>> 32));
    }

    /** md stores UUIDs as 16 raw bytes; scemu writes them in {@link UUID}'s big-endian order. */
    static void putUuid(ByteBuffer b, int offset, UUID uuid) {
        if (uuid == null) {
            return;
        }
        ByteBuffer be = ByteBuffer.allocate(16);
        be.putLong(uuid.getMostSignificantBits()).putLong(uuid.getLeastSignificantBits());
        b.put(offset, be.array());
    }

    static UUID getUuid(ByteBuffer b, int offset) {
        byte[] raw = new byte[16];
        b.get(offset, raw);
        ByteBuffer be = ByteBuffer.wrap(raw);
        return new UUID(be.getLong(), be.getLong());
    }

    /** mdadm's UUID spelling: four groups of 8 hex digits separated by colons. */
    public static String mdadmUuid(UUID uuid) {
        String hex = String.format("%016x%016x", uuid.getMostSignificantBits(), uuid.getLeastSignificantBits());
        return hex.substring(0, 8) + ":" + hex.substring(8, 16) + ":" + hex.substring(16, 24) + ":" + hex.substring(24);
    }

    @Override
    public String toString() {
        return "MdSuperblock[dev " + devNumber + " role " + role() + " events " + events + " level " + level
                + " disks " + raidDisks + " roles " + Arrays.toString(devRoles) + "]";
    }
}
