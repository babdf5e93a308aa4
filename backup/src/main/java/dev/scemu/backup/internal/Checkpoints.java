package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import java.util.Arrays;

/** Opens checkpoint blobs: one sealed record each. */
final class Checkpoints {

    private Checkpoints() {
    }

    static byte[] open(byte[] blob, int magic, String what) {
        if (blob.length < RecordHeader.BYTES) {
            throw new BackupException(BackupError.NO_CHECKPOINT, what + " of " + blob.length + " bytes is cut short");
        }
        byte[] header = Arrays.copyOf(blob, RecordHeader.BYTES);
        RecordHeader h = RecordHeader.parse(header, magic, ArchiveLayout.FORMAT_VERSION, blob.length - RecordHeader.BYTES, what);
        if (h.length() != blob.length - RecordHeader.BYTES) {
            throw new BackupException(BackupError.NO_CHECKPOINT, what + ": record length " + h.length()
                    + " does not match the blob of " + blob.length + " bytes");
        }
        byte[] payload = Arrays.copyOfRange(blob, RecordHeader.BYTES, blob.length);
        h.verify(header, payload, what);
        return payload;
    }
}
