package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.backup.BackupTarget;
import dev.scemu.backup.ImageInfo;
import dev.scemu.backup.ImageReader;
import dev.scemu.core.Extent;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;

/**
 * An image opened for verify or restore with all its metadata checked: locator, trailer, header;
 * with a password, that the image is encrypted ({@code NOT_ENCRYPTED} otherwise), the key check
 * and the header MAC; then the extent map, chunk index layout, whole-image hash over the recorded
 * digests and, when encrypted, the image MAC. What is left to check is each chunk's
 * bytes, which {@link ImageScanner} does while streaming. Idempotent close.
 *
 * <p>Opening runs in two phases: {@link UnkeyedImage#read} (everything that needs no key), then,
 * with the image's keys ({@link ImageKeys#open}: the one Argon2id derivation), {@link #check}.
 * {@link #open} runs both in a row; {@link ImageChain#open} runs the first phase of every image of a
 * chain, derives their keys concurrently ({@link ChainKeys}), then the second phase in chain order.
 */
final class OpenedImage implements AutoCloseable {

    final String imageId;
    final ImageReader reader;
    final ImageHeader header;
    final byte[] headerSha256;
    final long headerRecordLength;
    final Trailer trailer;
    final ExtentMap extentMap;
    final ImageKeys keys;
    private boolean closed;

    private OpenedImage(String imageId, ImageReader reader, ImageHeader header, byte[] headerSha256,
                        long headerRecordLength, Trailer trailer, ExtentMap extentMap, ImageKeys keys) {
        this.imageId = imageId;
        this.reader = reader;
        this.header = header;
        this.headerSha256 = headerSha256;
        this.headerRecordLength = headerRecordLength;
        this.trailer = trailer;
        this.extentMap = extentMap;
        this.keys = keys;
    }

    static OpenedImage open(BackupTarget target, String imageId, char[] password) {
        ImageReader reader = target.openImage(imageId);
        try {
            return open(imageId, reader, password);
        } catch (RuntimeException e) {
            reader.close();
            throw e;
        }
    }

    private static OpenedImage open(String imageId, ImageReader reader, char[] password) {
        UnkeyedImage image = UnkeyedImage.read(imageId, reader, password != null);
        return check(image, image.header.encrypted() ? ImageKeys.open(password, image.header) : null);
    }

    /**
     * The second phase of opening an image, after {@link UnkeyedImage#read} and, when it is
     * encrypted, {@link ImageKeys#open} (which checked the password): the header MAC, the trailer's
     * version, the extent map, the chunk index, the whole-image hash and the image MAC, in this
     * order. {@code keys} is null for an unencrypted image. The reader is not closed on failure.
     */
    static OpenedImage check(UnkeyedImage image, ImageKeys keys) {
        String what = "image " + image.imageId;
        ImageHeader header = image.header;
        Trailer trailer = image.trailer;
        Locator locator = image.locator;
        RecordIo.Read trailerRecord = image.trailerRecord;
        RecordIo.Read headerRecord = image.headerRecord;
        if (header.encrypted() != (keys != null)) {
            throw new IllegalArgumentException(what + (keys == null ? " is encrypted: keys are required" : " has no keys"));
        }
        if (keys != null) {
            header.authenticate(headerRecord.bytes(), keys); // AUTHENTICATION_FAILED if a header field changed
        }
        if (trailerRecord.header().version() != header.version()) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": header is format version " + header.version()
                    + " but the trailer is version " + trailerRecord.header().version());
        }
        if (trailer.extentMapOffset() + trailer.extentMapLength() != locator.trailerOffset()) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": extent map " + trailer.extentMapOffset() + "+"
                    + trailer.extentMapLength() + " does not end where the trailer starts (" + locator.trailerOffset() + ")");
        }
        RecordIo.Read mapRecord = RecordIo.read(image.reader, trailer.extentMapOffset(), ArchiveLayout.EXTENT_MAP_MAGIC,
                trailer.extentMapLength() - RecordHeader.BYTES, what + " extent map");
        if (mapRecord.bytes().length != trailer.extentMapLength()) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": extent map length differs from the trailer's");
        }
        ExtentMap map = ExtentMap.fromPayload(mapRecord.payload());
        checkIndex(what, header, trailer, headerRecord.bytes().length);
        checkExtentMap(what, header, trailer, map);

        MessageDigest sha = ChunkCodec.newSha256();
        byte[] headerSha = sha.digest(headerRecord.bytes());
        byte[] mapSha = sha.digest(mapRecord.bytes());
        byte[] whole = WholeImageHash.of(headerSha, trailer.index(), mapSha);
        if (!MessageDigest.isEqual(whole, trailer.imageSha256())) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": whole-image SHA-256 over the header, the chunk "
                    + "index and the extent map does not match the trailer");
        }
        if (keys != null) {
            if (!MessageDigest.isEqual(keys.imageMac(whole, trailer.chunkCount()), trailer.imageMac())) {
                throw new BackupException(BackupError.AUTHENTICATION_FAILED, what + ": image MAC does not verify "
                        + "(header, index or extent map were changed)");
            }
        }
        return new OpenedImage(image.imageId, image.reader, header, headerSha, headerRecord.bytes().length, trailer, map,
                keys);
    }

    private static void checkIndex(String what, ImageHeader header, Trailer trailer, long headerLength) {
        long expectedOffset = headerLength;
        long previousSequence = -1;
        long windows = (header.blockCount() + header.chunkBlocks() - 1) / header.chunkBlocks();
        for (int i = 0; i < trailer.index().size(); i++) {
            ChunkIndexEntry e = trailer.index().get(i);
            if (e.offset() != expectedOffset || e.length() <= RecordHeader.BYTES || e.sequence() <= previousSequence
                    || e.sequence() >= windows || e.firstLba() >= e.endLba() || e.endLba() > header.blockCount()) {
                throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": chunk index entry " + i + " (offset "
                        + e.offset() + ", length " + e.length() + ", sequence " + e.sequence() + ", blocks ["
                        + e.firstLba() + ", " + e.endLba() + ")) is not consistent (expected offset " + expectedOffset + ")");
            }
            expectedOffset = e.end();
            previousSequence = e.sequence();
        }
        if (expectedOffset != trailer.extentMapOffset()) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": chunks end at " + expectedOffset
                    + " but the extent map starts at " + trailer.extentMapOffset());
        }
        long lastEnd = trailer.index().isEmpty() ? 0 : trailer.index().get(trailer.index().size() - 1).endLba();
        if (trailer.storedEndLba() != lastEnd || trailer.chunkCount() != trailer.index().size()) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": stored end lba " + trailer.storedEndLba()
                    + " differs from the last chunk's " + lastEnd);
        }
    }

    private static void checkExtentMap(String what, ImageHeader header, Trailer trailer, ExtentMap map) {
        List<Extent> covered = map.covered();
        if (!covered.equals(ExtentRuns.normalize(covered, header.blockCount()))
                || !map.zeros().equals(ExtentRuns.normalize(map.zeros(), header.blockCount()))
                || !ExtentRuns.containsAll(covered, map.zeros())
                || (!header.incremental() && !covered.equals(header.blockCount() == 0 ? List.of()
                        : List.of(new Extent(0, header.blockCount()))))) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": extent map is not consistent with the volume of "
                    + header.blockCount() + " blocks");
        }
        long zeros = ExtentRuns.blocks(map.zeros());
        if (zeros != trailer.zeroBlockCount() || zeros + trailer.storedBlockCount() != ExtentRuns.blocks(covered)) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": " + trailer.storedBlockCount() + " stored + "
                    + zeros + " zero blocks do not add up to the " + ExtentRuns.blocks(covered) + " covered blocks");
        }
    }

    ImageInfo info() {
        ImageHeader h = header;
        return new ImageInfo(imageId, h.version(), Instant.ofEpochMilli(h.createdEpochMillis()),
                h.scemuVersion(), h.sourceVolumeId(), h.snapshotToken(), h.blockSize(), h.blockCount(),
                h.chunkSizeBytes(), h.userLabel(), h.incremental() ? h.baseImageId() : null, h.encrypted(),
                trailer.chunkCount(), trailer.storedBlockCount(), trailer.zeroBlockCount(), trailer.storedEndLba(),
                reader.size(), HexFormat.of().formatHex(trailer.imageSha256()));
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            reader.close();
        }
    }
}
