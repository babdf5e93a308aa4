package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The 16-byte header every archive record starts with; the same layout as controller-core's
 * {@code ChecksummedRecord} (kept here behind this one class until that lands on main):
 *
 * <pre>
 *  0      4        6        8         12        16
 *  +------+--------+--------+---------+---------+---------------------+
 *  |magic |version | flags  | length  | crc32c  | payload (length B)  |
 *  | u32  |  u16   |  u16   |  u32    |  u32    |                     |
 *  +------+--------+--------+---------+---------+---------------------+
 * </pre>
 * Little-endian. {@code crc32c} covers header bytes 0..11 and the payload.
 *
 * @param magic record kind
 * @param version format version of the record
 * @param flags record-specific flags
 * @param length payload bytes
 * @param crc32c stored checksum
 */
record RecordHeader(int magic, int version, int flags, int length, int crc32c) {

    static final int BYTES = 16;

    /** Header plus payload, sealed with its checksum. */
    static byte[] seal(int magic, int version, int flags, byte[] payload) {
        byte[] record = new byte[BYTES + payload.length];
        ByteBuffer buffer = ByteBuffer.wrap(record).order(ByteOrder.LITTLE_ENDIAN);
        buffer.putInt(magic).putShort((short) version).putShort((short) flags).putInt(payload.length);
        System.arraycopy(payload, 0, record, BYTES, payload.length);
        CRC32C crc = new CRC32C();
        crc.update(record, 0, 12);
        crc.update(record, BYTES, payload.length);
        buffer.putInt(12, (int) crc.getValue());
        return record;
    }

    /**
     * Parses a header and checks its magic, version and length bound; the checksum is checked by
     * {@link #verify} once the payload is read.
     */
    static RecordHeader parse(byte[] header, int expectedMagic, int maxVersion, long maxLength, String what) {
        ByteBuffer buffer = ByteBuffer.wrap(header, 0, BYTES).order(ByteOrder.LITTLE_ENDIAN);
        int magic = buffer.getInt();
        int version = buffer.getShort() & 0xFFFF;
        int flags = buffer.getShort() & 0xFFFF;
        int length = buffer.getInt();
        int crc = buffer.getInt();
        if (magic != expectedMagic) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": magic 0x" + Integer.toHexString(magic)
                    + " is not 0x" + Integer.toHexString(expectedMagic) + " (" + ArchiveLayout.magicName(expectedMagic) + ")");
        }
        if (version == 0 || version > maxVersion) {
            throw new BackupException(version == 0 ? BackupError.CORRUPT_IMAGE : BackupError.UNSUPPORTED_VERSION,
                    what + ": format version " + version + " is not supported (this build reads up to " + maxVersion + ")");
        }
        if (length < 0 || length > maxLength) {
            throw new BackupException(BackupError.CORRUPT_IMAGE,
                    what + ": payload length " + (length & 0xFFFFFFFFL) + " exceeds the limit of " + maxLength + " bytes");
        }
        return new RecordHeader(magic, version, flags, length, crc);
    }

    /** Checks the checksum over {@code header} (first 12 bytes) and {@code payload}. */
    void verify(byte[] header, byte[] payload, String what) {
        CRC32C crc = new CRC32C();
        crc.update(header, 0, 12);
        crc.update(payload, 0, length);
        if ((int) crc.getValue() != crc32c) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": crc32c 0x" + Integer.toHexString((int) crc.getValue())
                    + " does not match the stored 0x" + Integer.toHexString(crc32c));
        }
    }
}
