package dev.scemu.backup.internal;

/**
 * Resume point of an interrupted restore ('SCBR' record, a checkpoint blob on the target),
 * written only after the destination was flushed. Payload, little-endian:
 * <pre>
 * str  imageId                 the image restored (top of its chain)
 * str  destinationName
 * u64  destinationBlockCount
 * u32  chainIndex              image of the chain being applied (0 = the full base)
 * u64  nextChunkOrdinal        chunks of that image already written and flushed
 * u64  doneBytes               data bytes restored so far (progress)
 * </pre>
 */
record RestoreCheckpoint(String imageId, String destinationName, long destinationBlockCount, int chainIndex,
                         long nextChunkOrdinal, long doneBytes) {

    byte[] toRecord() {
        byte[] payload = new Bin.Writer(128).string(imageId).string(destinationName).u64(destinationBlockCount)
                .u32(chainIndex).u64(nextChunkOrdinal).u64(doneBytes).toArray();
        return RecordHeader.seal(ArchiveLayout.RESTORE_CHECKPOINT_MAGIC, ArchiveLayout.FORMAT_VERSION, 0, payload);
    }

    static RestoreCheckpoint fromBlob(byte[] blob, String what) {
        byte[] payload = Checkpoints.open(blob, ArchiveLayout.RESTORE_CHECKPOINT_MAGIC, what);
        Bin.Reader r = new Bin.Reader(payload, what);
        RestoreCheckpoint c = new RestoreCheckpoint(r.string(), r.string(), r.u64(), r.u32(), r.u64(), r.u64());
        r.expectEnd();
        return c;
    }
}
