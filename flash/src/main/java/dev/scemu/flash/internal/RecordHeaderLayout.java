package dev.scemu.flash.internal;

import dev.scemu.flash.FlashError;
import dev.scemu.flash.FlashException;
import dev.scemu.flash.Migrations;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32;
import java.util.zip.CRC32C;

/**
 * Two versions of the 16-byte header of a block-sized persistent record (a mapping-table page):
 * the data the example {@link Migrations#recordHeaderV1ToV2 v1→v2 migration} rewrites. The
 * payload is the rest of the block, unchanged by the migration. An all-zero block is an unused
 * record.
 *
 * <pre>
 *  v1   0        4        6             8            12           16
 *       +--------+--------+-------------+------------+------------+--------------
 *       | magic  | version| entry count | payload    | reserved   | payload ...
 *       | "SCMT" | u16 =1 | u16         | CRC32 u32  | u32 = 0    |
 *       +--------+--------+-------------+------------+------------+--------------
 *  v2   0        4        6        8                 12           16
 *       +--------+--------+--------+-----------------+------------+--------------
 *       | magic  | version| flags  | entry count     | CRC32C of  | payload ...
 *       | "SCMT" | u16 =2 | u16 =0 | u32             | bytes 0..12 + payload
 *       +--------+--------+--------+-----------------+------------+--------------
 * </pre>
 * v2 widens the entry count and checksums the header too (CRC32C instead of CRC32 of the payload).
 */
public final class RecordHeaderLayout {

    /** "SCMT" in file order. */
    public static final int MAGIC = 0x544D4353;
    public static final int HEADER_BYTES = 16;

    private RecordHeaderLayout() {
    }

    /** A decoded record header: {@code version} 0 means an unused (all-zero) block. */
    public record Header(int version, long entryCount) {
    }

    /** Writes a v1 record header for {@code entryCount} over the payload already in {@code block}. */
    public static void encodeV1(ByteBuffer block, int entryCount) {
        ByteBuffer b = block.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, MAGIC).putShort(4, (short) 1).putShort(6, (short) entryCount).putInt(8, crc32(b))
                .putInt(12, 0);
    }

    /** Writes a v2 record header for {@code entryCount} over the payload already in {@code block}. */
    public static void encodeV2(ByteBuffer block, long entryCount) {
        ByteBuffer b = block.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, MAGIC).putShort(4, (short) 2).putShort(6, (short) 0).putInt(8, (int) entryCount);
        b.putInt(12, crc32c(b));
    }

    /** Decodes and verifies; throws {@link FlashError#MIGRATION_FAILED} with the reason if damaged. */
    public static Header decode(ByteBuffer block) {
        ByteBuffer b = block.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        boolean zero = true;
        for (int i = 0; i < b.capacity() && zero; i++) {
            zero = b.get(i) == 0;
        }
        if (zero) {
            return new Header(0, 0);
        }
        if (b.getInt(0) != MAGIC) {
            throw new FlashException(FlashError.MIGRATION_FAILED, String.format("record magic 0x%08x, expected 0x%08x",
                    b.getInt(0), MAGIC));
        }
        int version = b.getShort(4);
        if (version == 1) {
            if (b.getInt(8) != crc32(b) || b.getInt(12) != 0) {
                throw new FlashException(FlashError.MIGRATION_FAILED, "v1 record payload CRC32 does not match");
            }
            return new Header(1, b.getShort(6) & 0xFFFF);
        }
        if (version == 2) {
            if (b.getInt(12) != crc32c(b) || b.getShort(6) != 0) {
                throw new FlashException(FlashError.MIGRATION_FAILED, "v2 record CRC32C does not match");
            }
            return new Header(2, Integer.toUnsignedLong(b.getInt(8)));
        }
        throw new FlashException(FlashError.MIGRATION_FAILED, "record version " + version + " is unknown");
    }

    private static int crc32(ByteBuffer b) {
        CRC32 crc = new CRC32();
        crc.update(b.duplicate().position(HEADER_BYTES).limit(b.capacity()));
        return (int) crc.getValue();
    }

    private static int crc32c(ByteBuffer b) {
        CRC32C crc = new CRC32C();
        crc.update(b.duplicate().position(0).limit(12));
        crc.update(b.duplicate().position(HEADER_BYTES).limit(b.capacity()));
        return (int) crc.getValue();
    }
}
