package dev.scemu.flash.internal;

import dev.scemu.core.ChecksummedRecord;
import dev.scemu.core.CoreException;
import dev.scemu.flash.FlashError;
import dev.scemu.flash.FlashException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The slot header of a backup-region slot: the first block of the slot, one
 * {@link ChecksummedRecord} (magic "SCFS", version 1, 64 bytes), little-endian.
 *
 * <pre>
 *   0                16       18        20            24            32                  64
 *   +----------------+--------+---------+-------------+-------------+-------------------+-- 0 ...
 *   | record header  | slot   | reserved| image       | sequence    | image SHA-256     |
 *   | "SCFS" v1 len64| u16    | u16 = 0 | length u32  | u64         | 32 bytes          |
 *   | crc32c         |        |         |             |             |                   |
 *   +----------------+--------+---------+-------------+-------------+-------------------+-- ...
 * </pre>
 * A block of zeros is an empty slot.
 */
public final class SlotHeaderLayout {

    public static final int MAGIC = ChecksummedRecord.magic("SCFS");
    public static final int FORMAT_VERSION = 1;
    public static final int OFFSET_SLOT = 16;
    public static final int OFFSET_RESERVED = 18;
    public static final int OFFSET_IMAGE_LENGTH = 20;
    public static final int OFFSET_SEQUENCE = 24;
    public static final int OFFSET_SHA256 = 32;
    public static final int LENGTH = 64;

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
        b.putShort(OFFSET_SLOT, (short) header.slot()).putShort(OFFSET_RESERVED, (short) 0)
                .putInt(OFFSET_IMAGE_LENGTH, (int) header.imageLength()).putLong(OFFSET_SEQUENCE, header.sequence())
                .put(OFFSET_SHA256, header.sha256());
        ChecksummedRecord.seal(b, 0, MAGIC, FORMAT_VERSION, 0, LENGTH);
    }

    /**
     * The header, null for an empty (all-zero) block; throws {@link FlashException}
     * {@link FlashError#CORRUPT_SLOT} with the reason if damaged (a block shorter than the header included).
     */
    public static Header decode(ByteBuffer block, String what) {
        ByteBuffer b = block.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        boolean zero = true;
        for (int i = 0; i < Math.min(LENGTH, b.limit()) && zero; i++) {
            zero = b.get(i) == 0;
        }
        if (zero && b.limit() >= LENGTH) {
            return null;
        }
        try {
            ChecksummedRecord.Header header = ChecksummedRecord.verify(b, 0, MAGIC, FORMAT_VERSION, FORMAT_VERSION,
                    LENGTH, what);
            if (header.length() != LENGTH) {
                throw new FlashException(FlashError.CORRUPT_SLOT, what + ": record length " + header.length()
                        + ", expected " + LENGTH);
            }
        } catch (CoreException e) {
            throw new FlashException(FlashError.CORRUPT_SLOT, e.getMessage(), e);
        }
        byte[] sha = new byte[32];
        b.get(OFFSET_SHA256, sha);
        return new Header(b.getShort(OFFSET_SLOT), Integer.toUnsignedLong(b.getInt(OFFSET_IMAGE_LENGTH)),
                b.getLong(OFFSET_SEQUENCE), sha);
    }
}
