package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.backup.ImageReader;
import java.nio.ByteBuffer;

/** Reads whole checksummed records out of an image. */
final class RecordIo {

    private RecordIo() {
    }

    /**
     * A record read and checked.
     *
     * @param header parsed header
     * @param bytes header + payload, as stored (hashed into the whole-image hash)
     * @param payload the payload
     */
    record Read(RecordHeader header, byte[] bytes, byte[] payload) {
    }

    static Read read(ImageReader reader, long offset, int magic, long maxPayload, String what) {
        String where = what + " at image offset " + offset;
        byte[] headerBytes = readBytes(reader, offset, RecordHeader.BYTES, where);
        RecordHeader header = RecordHeader.parse(headerBytes, magic, ArchiveLayout.FORMAT_VERSION,
                Math.min(maxPayload, ArchiveLayout.MAX_RECORD_PAYLOAD_BYTES), where);
        byte[] payload = readBytes(reader, offset + RecordHeader.BYTES, header.length(), where);
        header.verify(headerBytes, payload, where);
        byte[] all = new byte[RecordHeader.BYTES + payload.length];
        System.arraycopy(headerBytes, 0, all, 0, RecordHeader.BYTES);
        System.arraycopy(payload, 0, all, RecordHeader.BYTES, payload.length);
        return new Read(header, all, payload);
    }

    static byte[] readBytes(ImageReader reader, long offset, int length, String where) {
        if (offset < 0 || offset + length > reader.size()) {
            throw new BackupException(BackupError.TRUNCATED_IMAGE, where + ": " + length + " bytes at offset " + offset
                    + " lie beyond the end of the image (" + reader.size() + " bytes)");
        }
        byte[] bytes = new byte[length];
        reader.read(offset, ByteBuffer.wrap(bytes));
        return bytes;
    }
}
