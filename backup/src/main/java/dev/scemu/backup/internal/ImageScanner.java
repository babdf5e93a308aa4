package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.core.Extent;
import java.util.List;

/**
 * Streams the chunks of an {@link OpenedImage} in order through the worker pipeline, checking
 * every record against the trailer index, the window it claims and the extent map, and hands each
 * decoded chunk to a sink on the calling thread. Nothing is handed to the sink before its chunk
 * passed all checks (xxHash3, SHA-256 against the authenticated index, GCM tag, decompressed size).
 */
final class ImageScanner {

    /** Receives decoded chunks in image order on the calling thread. */
    interface Sink {
        void accept(long ordinal, DecodedChunk chunk);
    }

    private ImageScanner() {
    }

    /**
     * Scans chunks {@code [startOrdinal, chunkCount)}; when starting at 0 also checks that stored
     * extents and zero runs add up to the covered extents. Returns the plain bytes decoded.
     */
    static long scan(OpenedImage image, int threads, long startOrdinal, Sink sink, ProgressMeter progress) {
        ImageHeader h = image.header;
        List<ChunkIndexEntry> index = image.trailer.index();
        long chunkBlocks = h.chunkBlocks();
        ExtentRuns.Builder stored = new ExtentRuns.Builder();
        long plainBytes = 0;
        byte[] noncePrefix = new byte[4];
        try (Workers<DecodedChunk> workers = new Workers<>("restore", threads, h.chunkSizeBytes(),
                () -> new ChunkCodec(h.blockSize(), h.compressionLevel(), image.keys, h.imageId(), noncePrefix))) {
            long ordinal = startOrdinal;
            long nextToSink = startOrdinal;
            while (ordinal < index.size() || workers.hasInFlight()) {
                ChunkSlot slot = ordinal < index.size() ? workers.freeSlot() : null;
                if (slot == null) {
                    DecodedChunk done = workers.next();
                    plainBytes += done.header().plainLength();
                    sink.accept(nextToSink++, done);
                    progress.add(done.header().plainLength());
                    workers.release(done.slot());
                    continue;
                }
                ChunkIndexEntry entry = index.get((int) ordinal);
                readChunk(image, entry, slot, chunkBlocks);
                stored.addAll(slot.chunkHeader.extents());
                workers.submit(slot, codec -> codec::decode);
                ordinal++;
            }
        }
        if (startOrdinal == 0) {
            List<Extent> storedExtents = stored.build();
            List<Extent> expected = ExtentRuns.subtract(image.extentMap.covered(), image.extentMap.zeros());
            if (!storedExtents.equals(expected) || ExtentRuns.blocks(storedExtents) != image.trailer.storedBlockCount()) {
                throw new BackupException(BackupError.CORRUPT_IMAGE, "image " + image.imageId + ": the chunks store "
                        + ExtentRuns.blocks(storedExtents) + " blocks in " + storedExtents.size() + " runs, the extent map "
                        + "and trailer say " + image.trailer.storedBlockCount() + " blocks in " + expected.size() + " runs");
            }
        }
        return plainBytes;
    }

    private static void readChunk(OpenedImage image, ChunkIndexEntry entry, ChunkSlot slot, long chunkBlocks) {
        ImageHeader h = image.header;
        String what = "image " + image.imageId + " chunk " + entry.sequence() + " at image offset " + entry.offset();
        RecordIo.Read record = RecordIo.read(image.reader, entry.offset(), ArchiveLayout.CHUNK_MAGIC,
                ChunkHeader.FIXED_BYTES + ChunkHeader.EXTENT_BYTES * chunkBlocks, what);
        ChunkHeader ch = ChunkHeader.fromPayload(record.header(), record.payload(), entry.offset());
        long windowStart = ch.sequence() * chunkBlocks;
        long windowEnd = Math.min(windowStart + chunkBlocks, h.blockCount());
        long blocks = 0;
        long cursor = windowStart;
        for (Extent e : ch.extents()) {
            if (e.lba() < cursor || e.endLba() > windowEnd) {
                throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": extent " + e + " is out of order or outside "
                        + "the chunk window [" + windowStart + ", " + windowEnd + ")");
            }
            cursor = e.endLba();
            blocks += e.blockCount();
        }
        boolean encrypted = (ch.flags() & ArchiveLayout.CHUNK_FLAG_ENCRYPTED) != 0;
        if (ch.sequence() != entry.sequence() || (long) record.bytes().length + ch.storedLength() != entry.length()
                || blocks * h.blockSize() != ch.plainLength() || ch.storedLength() > slot.capacity()
                || encrypted != h.encrypted() || ch.extents().get(0).lba() != entry.firstLba()
                || cursor != entry.endLba()) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": record (sequence " + ch.sequence() + ", "
                    + blocks + " blocks, plain " + ch.plainLength() + " B, stored " + ch.storedLength() + " B, encrypted "
                    + encrypted + ") does not match the index entry or the image");
        }
        image.reader.read(entry.offset() + record.bytes().length, slot.input.duplicate().clear().limit(ch.storedLength()));
        slot.chunkHeader = ch;
        slot.headerRecord = record.bytes();
        slot.indexEntry = entry;
    }
}
