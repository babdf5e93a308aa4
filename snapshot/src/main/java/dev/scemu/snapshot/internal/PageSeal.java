package dev.scemu.snapshot.internal;

import dev.scemu.core.ChecksummedRecord;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.snapshot.SnapshotError;
import dev.scemu.snapshot.SnapshotException;
import java.nio.ByteBuffer;

/**
 * Every metadata block of the snapshot layer (superblock, checkpoint pages) is one
 * {@link ChecksummedRecord} covering the whole block: 16-byte header (u32 magic, u16 version,
 * u16 flags, u32 length = block size, u32 crc32c), little-endian, then the body at byte 16.
 * A failed check becomes {@link SnapshotError#CORRUPT_METADATA}.
 */
final class PageSeal {

    static final int HEADER_BYTES = ChecksummedRecord.HEADER_BYTES;

    private PageSeal() {
    }

    /** Seals the block of {@code blockSize} bytes at {@code offset} (body already in place). */
    static void seal(ByteBuffer buffer, int offset, int magic, int version, int blockSize) {
        ChecksummedRecord.seal(buffer, offset, magic, version, 0, blockSize);
    }

    /** Checks magic, version, length (= the whole block) and checksum. */
    static void verify(ByteBuffer buffer, int offset, int magic, int version, int blockSize, String what) {
        ChecksummedRecord.Header header;
        try {
            header = ChecksummedRecord.verify(buffer, offset, magic, version, version, blockSize, what);
        } catch (CoreException e) {
            if (e.code() == CoreError.CORRUPT_RECORD) {
                throw new SnapshotException(SnapshotError.CORRUPT_METADATA, e.getMessage(), e);
            }
            throw e;
        }
        if (header.length() != blockSize) {
            throw corrupt(what + ": record length " + header.length() + " does not cover its block of " + blockSize + " bytes");
        }
    }

    static SnapshotException corrupt(String message) {
        return new SnapshotException(SnapshotError.CORRUPT_METADATA, message);
    }
}
