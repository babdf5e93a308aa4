package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.core.Extent;
import java.util.ArrayList;
import java.util.List;

/**
 * A chunk header record ('SCBC'), followed in the image by {@code storedLength} stored bytes.
 * Payload, little-endian:
 * <pre>
 * u64    sequence       chunk window number: the chunk covers blocks of
 *                       [sequence × chunkBlocks, (sequence + 1) × chunkBlocks)
 * u32    plainLength    bytes of block data (sum of extents × blockSize)
 * u32    storedLength   bytes that follow the record (compressed and/or encrypted, + GCM tag)
 * u8[12] nonce          AES-GCM nonce (zeros when not encrypted)
 * u64    storedXxh3     xxHash3-64 (seed 0) of the stored bytes; 0 when encrypted (never checked there)
 * u32    extentCount
 * extentCount × (u64 lba, u32 blockCount)   the non-zero block runs, increasing, disjoint
 * </pre>
 * Record flags: {@link ArchiveLayout#CHUNK_FLAG_ZSTD}, {@link ArchiveLayout#CHUNK_FLAG_ENCRYPTED}.
 * The GCM additional data binds the chunk to its image and place:
 * {@code imageId UTF-8 || u64 sequence || u16 flags || u32 plainLength || u32 extentCount || extents}.
 */
record ChunkHeader(long sequence, int flags, int plainLength, int storedLength, byte[] nonce, long storedXxh3,
                   List<Extent> extents) {

    static final int FIXED_BYTES = 8 + 4 + 4 + ArchiveLayout.GCM_NONCE_BYTES + 8 + 4;
    static final int EXTENT_BYTES = 12;

    byte[] toRecord() {
        Bin.Writer w = new Bin.Writer(FIXED_BYTES + EXTENT_BYTES * extents.size());
        w.u64(sequence).u32(plainLength).u32(storedLength).bytes(nonce).u64(storedXxh3).u32(extents.size());
        for (Extent extent : extents) {
            w.u64(extent.lba()).u32((int) extent.blockCount());
        }
        return RecordHeader.seal(ArchiveLayout.CHUNK_MAGIC, ArchiveLayout.FORMAT_VERSION, flags, w.toArray());
    }

    /** The GCM additional authenticated data of this chunk in image {@code imageIdUtf8}. */
    byte[] additionalData(byte[] imageIdUtf8) {
        Bin.Writer w = new Bin.Writer(imageIdUtf8.length + 24 + EXTENT_BYTES * extents.size());
        w.bytes(imageIdUtf8).u64(sequence).u16(flags).u32(plainLength).u32(extents.size());
        for (Extent extent : extents) {
            w.u64(extent.lba()).u32((int) extent.blockCount());
        }
        return w.toArray();
    }

    static ChunkHeader fromPayload(RecordHeader header, byte[] payload, long offset) {
        String what = "chunk record at image offset " + offset;
        Bin.Reader r = new Bin.Reader(payload, what);
        long sequence = r.u64();
        int plainLength = r.u32();
        int storedLength = r.u32();
        byte[] nonce = r.bytes(ArchiveLayout.GCM_NONCE_BYTES);
        long xxh3 = r.u64();
        int count = r.u32();
        if (count <= 0 || (long) count * EXTENT_BYTES != r.remaining()) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": extent count " + count + " does not match the "
                    + r.remaining() + " bytes left in the record");
        }
        List<Extent> extents = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            long lba = r.u64();
            long blocks = r.u32() & 0xFFFFFFFFL;
            extents.add(r.extent(lba, blocks));
        }
        if (sequence < 0 || plainLength <= 0 || storedLength <= 0 || (header.flags() & ~3) != 0) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": sequence=" + sequence + " plainLength="
                    + plainLength + " storedLength=" + storedLength + " flags=" + header.flags() + " are not valid");
        }
        return new ChunkHeader(sequence, header.flags(), plainLength, storedLength, nonce, xxh3, extents);
    }
}
