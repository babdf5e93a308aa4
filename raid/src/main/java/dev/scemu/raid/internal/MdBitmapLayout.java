package dev.scemu.raid.internal;

import dev.scemu.raid.RaidError;
import dev.scemu.raid.RaidException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.UUID;

/**
 * Byte layout of md's internal write-intent bitmap ({@code bitmap_super_t} in
 * drivers/md/md-bitmap.h), little-endian, at {@code bitmap_offset} sectors after the v1.2
 * superblock (scemu: 8 sectors, so at byte 8192 of each member). The 256-byte header is followed
 * directly by the bits: bit {@code k} (byte {@code k / 8}, bit {@code k % 8}, little-endian bit
 * order) covers member data sectors {@code [k * chunk, (k + 1) * chunk)} from data_offset.
 *
 * <pre>
 * offset  size  field              scemu value
 * ------  ----  -----------------  -------------------------------------------------
 *      0     4  magic              0x6d746962 ("bitm")
 *      4     4  version            4 (BITMAP_MAJOR_HI: little-endian bits)
 *      8    16  uuid               array set_uuid
 *     24     8  events             superblock events when last written
 *     32     8  events_cleared     events when bits were last cleared
 *     40     8  sync_size          member data sectors covered (md's size)
 *     48     4  state              0 (bit 1 STALE, bit 2 WRITE_ERROR)
 *     52     4  chunksize          bytes of member data per bit
 *     56     4  daemon_sleep       5 (seconds, md's default)
 *     60     4  write_behind       0
 *     64     4  sectors_reserved   sectors reserved for header + bits (0 from mdadm 4.2: md
 *                                  then reserves what header and bits need)
 *     68     4  nodes              0
 *     72    64  cluster_name       0
 *    136   120  pad                0
 *    256     n  bits               ceil(sync_size / (chunksize / 512)) bits
 * </pre>
 */
public final class MdBitmapLayout {

    private MdBitmapLayout() {
    }

    public static final int MAGIC = 0x6d746962;
    public static final int VERSION = 4;
    public static final int HEADER_BYTES = 256;
    public static final int DEFAULT_DAEMON_SLEEP_SECONDS = 5;

    public static final int OFF_MAGIC = 0;
    public static final int OFF_VERSION = 4;
    public static final int OFF_UUID = 8;
    public static final int OFF_EVENTS = 24;
    public static final int OFF_EVENTS_CLEARED = 32;
    public static final int OFF_SYNC_SIZE = 40;
    public static final int OFF_STATE = 48;
    public static final int OFF_CHUNKSIZE = 52;
    public static final int OFF_DAEMON_SLEEP = 56;
    public static final int OFF_WRITE_BEHIND = 60;
    public static final int OFF_SECTORS_RESERVED = 64;
    public static final int OFF_NODES = 68;

    /** Decoded header fields. */
    public record Header(UUID uuid, long events, long eventsCleared, long syncSizeSectors, int state,
                         int chunkBytes, int sectorsReserved) {

        public long bitCount() {
            long chunkSectors = chunkBytes / 512;
            return (syncSizeSectors + chunkSectors - 1) / chunkSectors;
        }

        /**
         * Sectors the bitmap may occupy: sectors_reserved, or, when it is 0 (mdadm 4.2 writes 0),
         * what header and bits need, as md_bitmap_resize computes it when bitmap_info.space is 0.
         */
        public int reservedSectors() {
            if (sectorsReserved != 0) {
                return sectorsReserved;
            }
            return (int) ((HEADER_BYTES + (bitCount() + 7) / 8 + 511) / 512);
        }
    }

    /** Encodes the header followed by the bits (little-endian bit order) into {@code length} bytes. */
    public static byte[] encode(Header header, long[] bits, int length) {
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(OFF_MAGIC, MAGIC);
        b.putInt(OFF_VERSION, VERSION);
        MdSuperblock.putUuid(b, OFF_UUID, header.uuid());
        b.putLong(OFF_EVENTS, header.events());
        b.putLong(OFF_EVENTS_CLEARED, header.eventsCleared());
        b.putLong(OFF_SYNC_SIZE, header.syncSizeSectors());
        b.putInt(OFF_STATE, header.state());
        b.putInt(OFF_CHUNKSIZE, header.chunkBytes());
        b.putInt(OFF_DAEMON_SLEEP, DEFAULT_DAEMON_SLEEP_SECONDS);
        b.putInt(OFF_SECTORS_RESERVED, header.sectorsReserved());
        long bitCount = header.bitCount();
        for (long k = 0; k < bitCount; k++) {
            if ((bits[(int) (k >>> 6)] & (1L << (k & 63))) != 0) {
                int index = HEADER_BYTES + (int) (k >>> 3);
                b.put(index, (byte) (b.get(index) | (1 << (k & 7))));
            }
        }
        return b.array();
    }

    /** Decodes a header; throws {@link RaidError#NO_SUPERBLOCK} naming {@code member} on a bad magic or version. */
    public static Header decodeHeader(byte[] bytes, String member) {
        if (bytes == null || bytes.length < HEADER_BYTES) {
            throw new RaidException(RaidError.NO_SUPERBLOCK, "member " + member + ": md bitmap header of "
                    + (bytes == null ? 0 : bytes.length) + " bytes is shorter than " + HEADER_BYTES);
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(OFF_MAGIC) != MAGIC || b.getInt(OFF_VERSION) != VERSION) {
            throw new RaidException(RaidError.NO_SUPERBLOCK, String.format(
                    "member %s: no md bitmap (magic 0x%08x version %d)", member, b.getInt(OFF_MAGIC),
                    b.getInt(OFF_VERSION)));
        }
        int chunkBytes = b.getInt(OFF_CHUNKSIZE);
        long syncSize = b.getLong(OFF_SYNC_SIZE);
        int sectorsReserved = b.getInt(OFF_SECTORS_RESERVED);
        if (chunkBytes < 512 || Integer.bitCount(chunkBytes) != 1 || syncSize < 0 || sectorsReserved < 0
                || sectorsReserved > Integer.MAX_VALUE / 512) {
            throw new RaidException(RaidError.NO_SUPERBLOCK, "member " + member + ": md bitmap chunksize " + chunkBytes
                    + " (a power of two >= 512 expected), sync_size " + syncSize + " or sectors_reserved "
                    + sectorsReserved + " is invalid");
        }
        Header header = new Header(MdSuperblock.getUuid(b, OFF_UUID), b.getLong(OFF_EVENTS),
                b.getLong(OFF_EVENTS_CLEARED), syncSize, b.getInt(OFF_STATE), chunkBytes, sectorsReserved);
        if (header.bitCount() < 0 || header.bitCount() > (1L << 31)
                || HEADER_BYTES + (header.bitCount() + 7) / 8 > (long) header.reservedSectors() * 512) {
            throw new RaidException(RaidError.NO_SUPERBLOCK, "member " + member + ": md bitmap of " + header.bitCount()
                    + " bits does not fit its sectors_reserved " + sectorsReserved);
        }
        return header;
    }

    /**
     * Checks that a decoded header describes this array's bitmap: it covers {@code syncSizeSectors}
     * and its reserved area ends by {@code availableBytes} (the room before data_offset).
     */
    public static void checkFits(Header header, long syncSizeSectors, long availableBytes, String member) {
        if (header.syncSizeSectors() != syncSizeSectors || (long) header.reservedSectors() * 512 > availableBytes) {
            throw new RaidException(RaidError.NO_SUPERBLOCK, "member " + member + ": md bitmap sync_size "
                    + header.syncSizeSectors() + " sectors_reserved " + header.reservedSectors()
                    + " does not match the array (size " + syncSizeSectors + " sectors, " + availableBytes
                    + " bytes before data_offset)");
        }
    }

    /** Decodes the bits following the header; {@link RaidError#NO_SUPERBLOCK} if {@code bytes} holds fewer. */
    public static long[] decodeBits(byte[] bytes, long bitCount) {
        if (bitCount < 0 || bitCount > 8L * (bytes.length - HEADER_BYTES)) {
            throw new RaidException(RaidError.NO_SUPERBLOCK, "md bitmap of " + bitCount + " bits does not fit the "
                    + bytes.length + " bytes read (header " + HEADER_BYTES + ")");
        }
        long[] bits = new long[(int) ((bitCount + 63) >>> 6)];
        for (long k = 0; k < bitCount; k++) {
            if ((bytes[HEADER_BYTES + (int) (k >>> 3)] & (1 << (k & 7))) != 0) {
                bits[(int) (k >>> 6)] |= 1L << (k & 63);
            }
        }
        return bits;
    }

    /** Bytes needed for header plus {@code bitCount} bits, rounded up to 4 KiB. */
    public static int reservedBytes(long bitCount) {
        long bytes = HEADER_BYTES + (bitCount + 7) / 8;
        return (int) ((bytes + 4095) / 4096 * 4096);
    }
}
