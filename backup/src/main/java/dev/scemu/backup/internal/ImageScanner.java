package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.core.Extent;
import java.util.List;

/**
 * Streams the chunks of an {@link OpenedImage} through the worker pipeline, checking every record
 * against the trailer index, the window it claims and the extent map.
 *
 * <p>Two kinds of pass: {@link #authenticate} checks every chunk's stored bytes against the
 * authenticated index (SHA-256) without decrypting them: a restore runs it before its first write.
 * {@link #scan} decodes the chunks (SHA-256 unless the same records passed {@link #authenticate},
 * GCM tag, decompressed size) and hands each decoded chunk to a sink on the worker that decoded it,
 * then reports it done on the calling thread in image order. Nothing is handed to a sink before its
 * chunk passed all checks.
 *
 * <p>Ordering: the calling thread only hands out chunk ordinals (at most {@code threads + 2} in
 * flight, one {@link ChunkSlot} each) and takes the results back in image order; each worker reads
 * its chunk's record and stored bytes itself (positional reads, {@link dev.scemu.backup.ImageReader}
 * is safe for concurrent reads), checks and decodes them, and for a restore writes them. So chunks
 * are read, decoded and written out of order and concurrently, each to its own blocks (windows are
 * disjoint), while everything order-dependent (the stored extents adding up, progress, restore
 * checkpoints) stays on the calling thread in image order.
 */
final class ImageScanner {

    /** Receives a decoded chunk on the worker thread that decoded it (chunks arrive concurrently). */
    interface Sink {
        void accept(long ordinal, DecodedChunk chunk);
    }

    /** Told on the calling thread, in image order, that a chunk went through its {@link Sink}. */
    interface Done {
        void done(long ordinal, ChunkHeader header);
    }

    /**
     * What an integrity pass saw of each chunk record: a restore's decode pass (which reads every
     * record again) must find the same records (their SHA-256), since it does not hash the stored
     * bytes again. Written by the workers, each ordinal once, read after the pass joined them.
     */
    static final class Authenticated {
        private final byte[][] recordDigests;

        private Authenticated(int chunks) {
            this.recordDigests = new byte[chunks][];
        }
    }

    private ImageScanner() {
    }

    /**
     * The integrity pass: reads every chunk record and its stored bytes and checks them against the
     * authenticated index (record CRC, index entry, window, SHA-256; unencrypted zstd: one frame of
     * the plain length) on the workers, then that the stored extents and zero runs add up to the
     * covered extents. Decrypts nothing; writes nothing.
     */
    static Authenticated authenticate(OpenedImage image, int threads, ProgressMeter progress) {
        ImageHeader h = image.header;
        List<ChunkIndexEntry> index = image.trailer.index();
        long chunkBlocks = h.chunkBlocks();
        ExtentRuns.Builder stored = new ExtentRuns.Builder();
        Authenticated result = new Authenticated(index.size());
        try (Workers<ChunkSlot> workers = new Workers<>("verify", threads, h.chunkSizeBytes(),
                () -> new ChunkCodec(h.blockSize(), h.compressionLevel(), image.keys, h.imageId(), new byte[4]))) {
            int ordinal = 0;
            while (ordinal < index.size() || workers.hasInFlight()) {
                ChunkSlot slot = ordinal < index.size() ? workers.freeSlot() : null;
                if (slot == null) {
                    ChunkSlot done = workers.next();
                    stored.addAll(done.chunkHeader.extents());
                    progress.add(done.chunkHeader.plainLength());
                    workers.release(done);
                    continue;
                }
                ChunkIndexEntry entry = index.get(ordinal);
                int thisOrdinal = ordinal;
                workers.submit(slot, codec -> s -> {
                    readChunk(image, entry, s, chunkBlocks);
                    codec.authenticate(s);
                    result.recordDigests[thisOrdinal] = codec.recordDigest(s.headerRecord);
                    return s;
                });
                ordinal++;
            }
        }
        checkStoredExtents(image, stored.build());
        return result;
    }

    /**
     * Scans chunks {@code [startOrdinal, chunkCount)}; when starting at 0 also checks that stored
     * extents and zero runs add up to the covered extents. {@code authenticated}: the result of
     * {@link #authenticate} on this image in this run, or null (then every chunk's SHA-256 is
     * checked here). Returns the plain bytes decoded.
     */
    static long scan(OpenedImage image, int threads, long startOrdinal, Authenticated authenticated, Sink sink, Done done,
                     ProgressMeter progress) {
        ImageHeader h = image.header;
        List<ChunkIndexEntry> index = image.trailer.index();
        long chunkBlocks = h.chunkBlocks();
        ExtentRuns.Builder stored = new ExtentRuns.Builder();
        long plainBytes = 0;
        byte[] noncePrefix = new byte[4];
        boolean skipSha = authenticated != null;
        try (Workers<ChunkSlot> workers = new Workers<>("restore", threads, h.chunkSizeBytes(),
                () -> new ChunkCodec(h.blockSize(), h.compressionLevel(), image.keys, h.imageId(), noncePrefix))) {
            long ordinal = startOrdinal;
            long nextDone = startOrdinal;
            while (ordinal < index.size() || workers.hasInFlight()) {
                ChunkSlot slot = ordinal < index.size() ? workers.freeSlot() : null;
                if (slot == null) {
                    ChunkSlot finished = workers.next();
                    ChunkHeader header = finished.chunkHeader;
                    stored.addAll(header.extents());
                    plainBytes += header.plainLength();
                    done.done(nextDone++, header);
                    progress.add(header.plainLength());
                    workers.release(finished);
                    continue;
                }
                ChunkIndexEntry entry = index.get((int) ordinal);
                long thisOrdinal = ordinal;
                workers.submit(slot, codec -> s -> {
                    readChunk(image, entry, s, chunkBlocks);
                    if (skipSha && !java.security.MessageDigest.isEqual(codec.recordDigest(s.headerRecord),
                            authenticated.recordDigests[(int) thisOrdinal])) {
                        throw new BackupException(BackupError.CORRUPT_IMAGE, "image " + image.imageId + " chunk "
                                + entry.sequence() + ": its record changed since the integrity pass of this restore");
                    }
                    sink.accept(thisOrdinal, codec.decode(s, skipSha));
                    return s;
                });
                ordinal++;
            }
        }
        if (startOrdinal == 0) {
            checkStoredExtents(image, stored.build());
        }
        return plainBytes;
    }

    private static void checkStoredExtents(OpenedImage image, List<Extent> storedExtents) {
        List<Extent> expected = ExtentRuns.subtract(image.extentMap.covered(), image.extentMap.zeros());
        if (!storedExtents.equals(expected) || ExtentRuns.blocks(storedExtents) != image.trailer.storedBlockCount()) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, "image " + image.imageId + ": the chunks store "
                    + ExtentRuns.blocks(storedExtents) + " blocks in " + storedExtents.size() + " runs, the extent map "
                    + "and trailer say " + image.trailer.storedBlockCount() + " blocks in " + expected.size() + " runs");
        }
    }

    private static void readChunk(OpenedImage image, ChunkIndexEntry entry, ChunkSlot slot, long chunkBlocks) {
        ImageHeader h = image.header;
        String chunk = "image " + image.imageId + " chunk " + entry.sequence();
        String what = chunk + " at image offset " + entry.offset();
        RecordIo.Read record = RecordIo.read(image.reader, entry.offset(), ArchiveLayout.CHUNK_MAGIC,
                ChunkHeader.FIXED_BYTES + ChunkHeader.EXTENT_BYTES * chunkBlocks, chunk); // RecordIo adds the offset
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
