package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import java.util.ArrayList;
import java.util.List;

/**
 * The trailer record ('SCBT'). Payload, little-endian:
 * <pre>
 * u64    chunkCount
 * u64    storedBlockCount
 * u64    zeroBlockCount
 * u64    storedEndLba        one past the highest stored block (0 if none)
 * u64    extentMapOffset     image offset of the extent map record
 * u32    extentMapLength     its length, header included
 * u8[32] imageSha256         whole-image hash (see ArchiveLayout)
 * u8[32] imageMac            HMAC-SHA256(macKey, imageSha256 || u64 chunkCount); zeros if not encrypted
 * chunkCount × index entry (68 bytes):
 *   u64 offset, u32 length (header record + stored bytes), u64 sequence, u64 firstLba,
 *   u64 endLba, u8[32] sha256 (of header record + stored bytes)
 * </pre>
 */
record Trailer(long chunkCount, long storedBlockCount, long zeroBlockCount, long storedEndLba, long extentMapOffset,
               int extentMapLength, byte[] imageSha256, byte[] imageMac, List<ChunkIndexEntry> index) {

    static final int ENTRY_BYTES = 8 + 4 + 8 + 8 + 8 + ArchiveLayout.SHA256_BYTES;

    byte[] toRecord() {
        Bin.Writer w = new Bin.Writer(120 + ENTRY_BYTES * index.size());
        w.u64(chunkCount).u64(storedBlockCount).u64(zeroBlockCount).u64(storedEndLba).u64(extentMapOffset)
                .u32(extentMapLength).bytes(imageSha256).bytes(imageMac);
        for (ChunkIndexEntry e : index) {
            e.writeTo(w);
        }
        return RecordHeader.seal(ArchiveLayout.TRAILER_MAGIC, ArchiveLayout.FORMAT_VERSION, 0, w.toArray());
    }

    static Trailer fromPayload(byte[] payload) {
        String what = "trailer";
        Bin.Reader r = new Bin.Reader(payload, what);
        long chunkCount = r.u64();
        long stored = r.u64();
        long zeros = r.u64();
        long storedEnd = r.u64();
        long mapOffset = r.u64();
        int mapLength = r.u32();
        byte[] sha = r.bytes(ArchiveLayout.SHA256_BYTES);
        byte[] mac = r.bytes(ArchiveLayout.SHA256_BYTES);
        if (chunkCount < 0 || chunkCount * ENTRY_BYTES != r.remaining() || stored < 0 || zeros < 0 || storedEnd < 0
                || mapOffset < 0 || mapLength < RecordHeader.BYTES) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": chunkCount=" + chunkCount + " stored=" + stored
                    + " zeros=" + zeros + " storedEnd=" + storedEnd + " map at " + mapOffset + "+" + mapLength
                    + " do not match the " + r.remaining() + " index bytes");
        }
        List<ChunkIndexEntry> index = new ArrayList<>((int) chunkCount);
        for (long i = 0; i < chunkCount; i++) {
            index.add(ChunkIndexEntry.readFrom(r));
        }
        return new Trailer(chunkCount, stored, zeros, storedEnd, mapOffset, mapLength, sha, mac, index);
    }
}
