package dev.scemu.flash.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The slot header of a backup-region slot: the first block of the slot, little-endian.
 *
 * <pre>
 *   0        4        6        8             12        16           24                 56        60
 *   +--------+--------+--------+-------------+---------+------------+------------------+---------+-----
 *   | magic  | format | slot   | image       | reserved| sequence   | image SHA-256    | crc32c  | 0...
 *   | "SCFS" | version| u16    | length u32  | u32 = 0 | u64        | 32 bytes         | of 0..56|
 *   |        | u16 =1 |        |             |         |            |                  |         |
 *   +--------+--------+--------+-------------+---------+------------+------------------+---------+-----
 * </pre>
 * A block of zeros is an empty slot. (To be expressed with controller-core's ChecksummedRecord
 * once it is on main.)
 */
public final class SlotHeaderLayout {

    /** "SCFS" in file order. */
    public static final int MAGIC = 0x53464353;
    public static final int FORMAT_VERSION = 1;
    public static final int OFFSET_MAGIC = 0;
    public static final int OFFSET_VERSION = 4;
    public static final int OFFSET_SLOT = 6;
    public static final int OFFSET_IMAGE_LENGTH = 8;
    public static final int OFFSET_RESERVED = 12;
    public static final int OFFSET_SEQUENCE = 16;
    public static final int OFFSET_SHA256 = 24;
    public static final int OFFSET_CRC = 56;
    public static final int LENGTH = 60;

    private SlotHeaderLayout() {
    }

    /** Decoded header. */
    public record Header(int slot, long imageLength, long sequence, byte[] sha256) {
    }

    public static void encode(ByteBuffer block, Header header) {
        ByteBuffer b = block.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < b.capacity(); i++) {
            b.put(i, (byte) 0);
        }
        b.putInt(OFFSET_MAGIC, MAGIC).putShort(OFFSET_VERSION, (short) FORMAT_VERSION)
                .putShort(OFFSET_SLOT, (short) header.slot()).putInt(OFFSET_IMAGE_LENGTH, (int) header.imageLength())
                .putInt(OFFSET_RESERVED, 0).putLong(OFFSET_SEQUENCE, header.sequence()).put(OFFSET_SHA256, header.sha256());
        b.putInt(OFFSET_CRC, crc(b));
    }

    /** The header, null for an empty (all-zero) block; throws IllegalStateException with the reason if damaged. */
    public static Header decode(ByteBuffer block) {
        ByteBuffer b = block.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        boolean zero = true;
        for (int i = 0; i < LENGTH && zero; i++) {
            zero = b.get(i) == 0;
        }
        if (zero) {
            return null;
        }
        if (b.getInt(OFFSET_MAGIC) != MAGIC) {
            throw new IllegalStateException(String.format("slot header magic 0x%08x, expected 0x%08x",
                    b.getInt(OFFSET_MAGIC), MAGIC));
        }
        if (b.getInt(OFFSET_CRC) != crc(b)) {
            throw new IllegalStateException(String.format("slot header crc32c 0x%08x does not match 0x%08x",
                    b.getInt(OFFSET_CRC), crc(b)));
        }
        if (b.getShort(OFFSET_VERSION) != FORMAT_VERSION) {
            throw new IllegalStateException("slot header format version " + b.getShort(OFFSET_VERSION) + " is unknown");
        }
        byte[] sha = new byte[32];
        b.get(OFFSET_SHA256, sha);
        return new Header(b.getShort(OFFSET_SLOT), Integer.toUnsignedLong(b.getInt(OFFSET_IMAGE_LENGTH)),
                b.getLong(OFFSET_SEQUENCE), sha);
    }

    private static int crc(ByteBuffer b) {
        CRC32C crc = new CRC32C();
        crc.update(b.duplicate().position(0).limit(OFFSET_CRC));
        return (int) crc.getValue();
    }
}
