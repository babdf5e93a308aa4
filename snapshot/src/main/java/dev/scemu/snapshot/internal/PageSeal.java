package dev.scemu.snapshot.internal;

import dev.scemu.snapshot.SnapshotError;
import dev.scemu.snapshot.SnapshotException;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The 16-byte checksummed header in front of every on-disk record of the snapshot layer.
 *
 * <pre>
 * 0  u32 magic      4  u16 version   6  u16 flags
 * 8  u32 length (payload bytes after the header)
 * 12 u32 crc32c over bytes [0, 12) and the payload [16, 16 + length)
 * </pre>
 * Big-endian. Same field layout as controller-core's ChecksummedRecord.
 */
final class PageSeal {

    static final int HEADER_BYTES = 16;

    private PageSeal() {
    }

    static void seal(ByteBuffer buffer, int offset, int magic, int version, int flags, int length) {
        buffer.putInt(offset, magic);
        buffer.putShort(offset + 4, (short) version);
        buffer.putShort(offset + 6, (short) flags);
        buffer.putInt(offset + 8, length);
        buffer.putInt(offset + 12, crc(buffer, offset, length));
    }

    /** Checks magic, version range, length and checksum; returns the payload length. */
    static int verify(ByteBuffer buffer, int offset, int magic, int minVersion, int maxVersion, int maxLength, String what) {
        int storedMagic = buffer.getInt(offset);
        if (storedMagic != magic) {
            throw corrupt(what + ": magic 0x" + Integer.toHexString(storedMagic) + " is not 0x" + Integer.toHexString(magic));
        }
        int version = buffer.getShort(offset + 4) & 0xFFFF;
        if (version < minVersion || version > maxVersion) {
            throw corrupt(what + ": format version " + version + " not in [" + minVersion + ", " + maxVersion + "]");
        }
        int length = buffer.getInt(offset + 8);
        if (length < 0 || length > maxLength) {
            throw corrupt(what + ": length " + length + " not in [0, " + maxLength + "]");
        }
        int stored = buffer.getInt(offset + 12);
        int actual = crc(buffer, offset, length);
        if (stored != actual) {
            throw corrupt(what + ": crc32c 0x" + Integer.toHexString(stored) + " != computed 0x" + Integer.toHexString(actual));
        }
        return length;
    }

    static int version(ByteBuffer buffer, int offset) {
        return buffer.getShort(offset + 4) & 0xFFFF;
    }

    private static int crc(ByteBuffer buffer, int offset, int length) {
        CRC32C crc = new CRC32C();
        ByteBuffer view = buffer.duplicate().clear();
        view.limit(offset + 12).position(offset);
        crc.update(view);
        view.limit(offset + HEADER_BYTES + length).position(offset + HEADER_BYTES);
        crc.update(view);
        return (int) crc.getValue();
    }

    static SnapshotException corrupt(String message) {
        return new SnapshotException(SnapshotError.CORRUPT_METADATA, message);
    }
}
