package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.core.Extent;
import java.util.ArrayList;
import java.util.List;

/**
 * Resume point of an interrupted backup ('SCBK' record, stored as a checkpoint blob on the
 * target). Payload, little-endian:
 * <pre>
 * str  imageId, str snapshotToken
 * u64  durableLength        image bytes that are durable on the target (header + listed chunks)
 * str  writerState          target-specific resume state (S3: upload id and part ETags)
 * u32  headerRecordLength, header record bytes
 * u64  nextSequence         first chunk window still to read
 * u64  scannedBytes         source bytes read so far (progress)
 * u64  entryCount, entryCount × chunk index entry (as in the trailer)
 * u64  storedCount, storedCount × (u64 lba, u64 blockCount)   stored extents so far
 * </pre>
 */
record BackupCheckpoint(String imageId, String snapshotToken, long durableLength, String writerState,
                        byte[] headerRecord, long nextSequence, long scannedBytes, List<ChunkIndexEntry> entries,
                        List<Extent> stored) {

    static String blobName(String imageId) {
        return imageId + ".backup";
    }

    byte[] toRecord() {
        Bin.Writer w = new Bin.Writer(256 + headerRecord.length + entries.size() * Trailer.ENTRY_BYTES + stored.size() * 16);
        w.string(imageId).string(snapshotToken).u64(durableLength).string(writerState)
                .u32(headerRecord.length).bytes(headerRecord).u64(nextSequence).u64(scannedBytes).u64(entries.size());
        for (ChunkIndexEntry e : entries) {
            e.writeTo(w);
        }
        w.extents(stored);
        return RecordHeader.seal(ArchiveLayout.BACKUP_CHECKPOINT_MAGIC, ArchiveLayout.FORMAT_VERSION, 0, w.toArray());
    }

    static BackupCheckpoint fromBlob(byte[] blob, String what) {
        byte[] payload = Checkpoints.open(blob, ArchiveLayout.BACKUP_CHECKPOINT_MAGIC, what);
        Bin.Reader r = new Bin.Reader(payload, what);
        String imageId = r.string();
        String token = r.string();
        long durable = r.u64();
        String state = r.string();
        byte[] header = r.bytes(r.u32());
        long next = r.u64();
        long scanned = r.u64();
        long count = r.u64();
        if (count < 0 || count * Trailer.ENTRY_BYTES > r.remaining()) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": entry count " + count + " is not valid");
        }
        List<ChunkIndexEntry> entries = new ArrayList<>((int) count);
        for (long i = 0; i < count; i++) {
            entries.add(ChunkIndexEntry.readFrom(r));
        }
        List<Extent> stored = r.extents();
        r.expectEnd();
        return new BackupCheckpoint(imageId, token, durable, state, header, next, scanned, entries, stored);
    }
}
