package dev.scemu.core;

import dev.scemu.core.internal.LittleEndian;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * The header every on-disk record of scemu starts with: a magic, a format version, flags, the
 * record length and a CRC-32C over the whole record. One class checks all of them, so every
 * structure (superblock, journal block, mapping-table page, firmware header, backup chunk) fails
 * the same way on corruption: a {@link CoreException} with {@link CoreError#CORRUPT_RECORD} whose
 * message names the record and the expected and found values.
 *
 * <h2>Byte layout (little-endian, 16 bytes, at the start of the record)</h2>
 * <pre>
 *  offset  0               4       6       8               12              16
 *          +---------------+-------+-------+---------------+---------------+----------------
 *          | magic   u32   |version| flags | length  u32   | crc32c  u32   | body ...
 *          |               |  u16  |  u16  |               |               |
 *          +---------------+-------+-------+---------------+---------------+----------------
 *          |&lt;------------------------------- length bytes ---------------------------------&gt;|
 * </pre>
 * <ul>
 *   <li>{@code magic}: four ASCII characters, the first one in the lowest byte, so a hex dump
 *       reads as text (see {@link #magic(String)}).</li>
 *   <li>{@code length}: bytes covered by the record, this header included (at least 16).</li>
 *   <li>{@code crc32c}: CRC-32C ({@link CRC32C}, Castagnoli) of the {@code length} bytes with the
 *       crc field itself taken as four zero bytes.</li>
 * </ul>
 * Bytes after {@code length} (for example the rest of a block) are not covered and are ignored.
 *
 * <p>All methods address the buffer absolutely: its position, limit and byte order are neither
 * used nor changed. Malformed input (truncated buffer, garbage, extreme length fields) always
 * yields {@code CORRUPT_RECORD}, never an index exception.
 */
public final class ChecksummedRecord {

    /** Bytes of the header. */
    public static final int HEADER_BYTES = 16;

    static final int MAGIC_OFFSET = 0;
    static final int VERSION_OFFSET = 4;
    static final int FLAGS_OFFSET = 6;
    static final int LENGTH_OFFSET = 8;
    static final int CRC_OFFSET = 12;

    private static final byte[] ZERO_CRC = new byte[4];

    private ChecksummedRecord() {
    }

    /**
     * The checked header of a record.
     *
     * @param magic the record's magic
     * @param version format version, 0..65535
     * @param flags flag bits, 0..65535
     * @param length bytes covered, header included
     * @param crc32c the stored (and verified) checksum
     */
    public record Header(int magic, int version, int flags, int length, int crc32c) {
        @Override
        public String toString() {
            return "Header[" + magicToString(magic) + " v" + version + " flags=0x" + Integer.toHexString(flags)
                    + " length=" + length + " crc32c=" + hex(crc32c) + "]";
        }
    }

    /** The u32 magic of four ASCII characters, first character in the lowest byte. */
    public static int magic(String fourChars) {
        if (fourChars == null || fourChars.length() != 4
                || !StandardCharsets.US_ASCII.newEncoder().canEncode(fourChars)) {
            throw new CoreException(CoreError.INVALID_ARGUMENT,
                    "magic must be exactly four ASCII characters, got " + (fourChars == null ? "null" : "'" + fourChars + "'"));
        }
        int value = 0;
        for (int i = 3; i >= 0; i--) {
            value = (value << 8) | fourChars.charAt(i);
        }
        return value;
    }

    /** The magic as text if it is printable ASCII, with its hex value. */
    public static String magicToString(int magic) {
        StringBuilder text = new StringBuilder(4);
        for (int i = 0; i < 4; i++) {
            int c = (magic >>> (8 * i)) & 0xFF;
            if (c < 0x20 || c > 0x7E) {
                return hex(magic);
            }
            text.append((char) c);
        }
        return "'" + text + "' (" + hex(magic) + ")";
    }

    /**
     * Writes the header of the record of {@code length} bytes at {@code offset} and its checksum;
     * the body ({@code offset + 16 .. offset + length}) must already be in place.
     *
     * @return the crc32c written
     */
    public static int seal(ByteBuffer buffer, int offset, int magic, int version, int flags, int length) {
        if (version < 0 || version > 0xFFFF || flags < 0 || flags > 0xFFFF) {
            throw new CoreException(CoreError.INVALID_ARGUMENT,
                    "record version " + version + " and flags " + flags + " must be in 0..65535");
        }
        if (length < HEADER_BYTES || offset < 0 || offset > buffer.limit() - length) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, "record of " + length + " bytes at offset " + offset
                    + " does not fit a buffer of limit " + buffer.limit() + " (a record has at least "
                    + HEADER_BYTES + " bytes)");
        }
        LittleEndian.putI32(buffer, offset + MAGIC_OFFSET, magic);
        LittleEndian.putU16(buffer, offset + VERSION_OFFSET, version);
        LittleEndian.putU16(buffer, offset + FLAGS_OFFSET, flags);
        LittleEndian.putI32(buffer, offset + LENGTH_OFFSET, length);
        int crc = crc32c(buffer, offset, length);
        LittleEndian.putI32(buffer, offset + CRC_OFFSET, crc);
        return crc;
    }

    /**
     * Checks the record at {@code offset}: magic, version range, length (at least the header, at
     * most {@code maxLength} and within the buffer's limit) and checksum, in that order.
     *
     * @param what names the record in the error message, for example {@code "journal block 7 of log0"}
     * @return the header
     * @throws CoreException {@link CoreError#CORRUPT_RECORD} if a check fails
     */
    public static Header verify(ByteBuffer buffer, int offset, int expectedMagic, int minVersion, int maxVersion,
                                int maxLength, String what) {
        if (buffer == null) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, what + ": buffer is null");
        }
        if (offset < 0 || offset > buffer.limit() - HEADER_BYTES) {
            throw corrupt(what, "header of " + HEADER_BYTES + " bytes at offset " + offset
                    + " lies beyond the buffer limit " + buffer.limit());
        }
        int magic = LittleEndian.getI32(buffer, offset + MAGIC_OFFSET);
        if (magic != expectedMagic) {
            throw corrupt(what, "bad magic: expected " + magicToString(expectedMagic) + ", found " + magicToString(magic));
        }
        int version = LittleEndian.getU16(buffer, offset + VERSION_OFFSET);
        if (version < minVersion || version > maxVersion) {
            throw corrupt(what, "unsupported format version " + version + ": expected " + minVersion + ".." + maxVersion);
        }
        long length = LittleEndian.getU32(buffer, offset + LENGTH_OFFSET);
        if (length < HEADER_BYTES || length > maxLength) {
            throw corrupt(what, "length " + length + " bytes is out of range: expected " + HEADER_BYTES + ".."
                    + maxLength);
        }
        if (length > buffer.limit() - offset) {
            throw corrupt(what, "length " + length + " bytes at offset " + offset + " reaches beyond the buffer limit "
                    + buffer.limit());
        }
        int stored = LittleEndian.getI32(buffer, offset + CRC_OFFSET);
        int computed = crc32c(buffer, offset, (int) length);
        if (stored != computed) {
            throw corrupt(what, "checksum mismatch: stored crc32c " + hex(stored) + ", computed " + hex(computed)
                    + " over " + length + " bytes");
        }
        int flags = LittleEndian.getU16(buffer, offset + FLAGS_OFFSET);
        return new Header(magic, version, flags, (int) length, stored);
    }

    /** CRC-32C of {@code length} bytes at {@code offset}, with the crc field counted as zero. */
    static int crc32c(ByteBuffer buffer, int offset, int length) {
        CRC32C crc = new CRC32C();
        update(crc, buffer, offset, CRC_OFFSET);
        crc.update(ZERO_CRC, 0, ZERO_CRC.length);
        update(crc, buffer, offset + HEADER_BYTES, length - HEADER_BYTES);
        return (int) crc.getValue();
    }

    private static void update(CRC32C crc, ByteBuffer buffer, int offset, int length) {
        if (length == 0) {
            return;
        }
        if (buffer.hasArray()) {
            crc.update(buffer.array(), buffer.arrayOffset() + offset, length);
        } else {
            crc.update(buffer.duplicate().limit(offset + length).position(offset));
        }
    }

    private static CoreException corrupt(String what, String detail) {
        return new CoreException(CoreError.CORRUPT_RECORD, what + ": " + detail);
    }

    private static String hex(int value) {
        return String.format("0x%08x", value);
    }
}
