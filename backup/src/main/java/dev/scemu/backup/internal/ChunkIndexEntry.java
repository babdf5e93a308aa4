package dev.scemu.backup.internal;

/**
 * Where a chunk lies in the image and its SHA-256 (trailer index, backup checkpoint).
 *
 * @param offset image offset of the chunk header record
 * @param length header record + stored bytes
 * @param sequence chunk window number
 * @param firstLba first stored block
 * @param endLba one past the last stored block
 * @param sha256 SHA-256 of header record + stored bytes
 */
record ChunkIndexEntry(long offset, int length, long sequence, long firstLba, long endLba, byte[] sha256) {

    long end() {
        return offset + length;
    }

    void writeTo(Bin.Writer w) {
        w.u64(offset).u32(length).u64(sequence).u64(firstLba).u64(endLba).bytes(sha256);
    }

    static ChunkIndexEntry readFrom(Bin.Reader r) {
        return new ChunkIndexEntry(r.u64(), r.u32(), r.u64(), r.u64(), r.u64(), r.bytes(ArchiveLayout.SHA256_BYTES));
    }
}
