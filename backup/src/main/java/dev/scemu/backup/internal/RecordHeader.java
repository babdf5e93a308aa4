package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.core.ChecksummedRecord;
import dev.scemu.core.CoreException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The 16-byte header every archive record starts with: controller-core's
 * {@link ChecksummedRecord} (magic u32 | version u16 | flags u16 | length u32 | crc32c u32,
 * little-endian; {@code length} counts the whole record, header included; the CRC-32C covers the
 * whole record with the crc field taken as zero). This class adapts it to the archive: payload
 * lengths, and {@link BackupException}s ({@code UNSUPPORTED_VERSION} for a newer format,
 * {@code CORRUPT_IMAGE} otherwise).
 *
 * @param magic record kind
 * @param version format version of the record
 * @param flags record-specific flags
 * @param length payload bytes (record length minus the header)
 * @param crc32c stored checksum
 */
record RecordHeader(int magic, int version, int flags, int length, int crc32c) {

    static final int BYTES = ChecksummedRecord.HEADER_BYTES;

    /** Header plus payload, sealed with its checksum. */
    static byte[] seal(int magic, int version, int flags, byte[] payload) {
        byte[] record = new byte[BYTES + payload.length];
        System.arraycopy(payload, 0, record, BYTES, payload.length);
        ChecksummedRecord.seal(ByteBuffer.wrap(record), 0, magic, version, flags, record.length);
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
        long recordLength = buffer.getInt() & 0xFFFFFFFFL;
        int crc = buffer.getInt();
        if (magic != expectedMagic) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": magic " + ChecksummedRecord.magicToString(magic)
                    + " is not " + ChecksummedRecord.magicToString(expectedMagic));
        }
        if (version == 0 || version > maxVersion) {
            throw new BackupException(version == 0 ? BackupError.CORRUPT_IMAGE : BackupError.UNSUPPORTED_VERSION,
                    what + ": format version " + version + " is not supported (this build reads up to " + maxVersion + ")");
        }
        if (recordLength < BYTES || recordLength - BYTES > maxLength) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": record length " + recordLength
                    + " is not in " + BYTES + ".." + (BYTES + maxLength) + " bytes");
        }
        return new RecordHeader(magic, version, flags, (int) (recordLength - BYTES), crc);
    }

    /** Checks the checksum of the record made of {@code header} (16 bytes) and {@code payload}. */
    void verify(byte[] header, byte[] payload, String what) {
        byte[] record = new byte[BYTES + length];
        System.arraycopy(header, 0, record, 0, BYTES);
        System.arraycopy(payload, 0, record, BYTES, length);
        try {
            ChecksummedRecord.verify(ByteBuffer.wrap(record), 0, magic, 1, version, record.length, what);
        } catch (CoreException e) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, e.getMessage(), e);
        }
    }
}
