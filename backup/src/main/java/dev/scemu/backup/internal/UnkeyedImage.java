package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.backup.BackupTarget;
import dev.scemu.backup.ImageReader;

/**
 * The first, key-free phase of opening an image ({@link OpenedImage}): the locator, the trailer
 * and header records (magic, version, length, CRC-32C), that the header names the image, and, with
 * a password, that the image is encrypted ({@code NOT_ENCRYPTED} otherwise). Nothing here is
 * authenticated yet: the header's fields (its base id, KDF parameters, salt) and the trailer's
 * whole-image hash are only trusted once {@link OpenedImage#check} passed. The reader stays open;
 * whoever holds this closes it, or hands it on to the {@link OpenedImage} made from it.
 */
final class UnkeyedImage {

    final String imageId;
    final ImageReader reader;
    final Locator locator;
    final RecordIo.Read trailerRecord;
    final Trailer trailer;
    final RecordIo.Read headerRecord;
    final ImageHeader header;

    private UnkeyedImage(String imageId, ImageReader reader, Locator locator, RecordIo.Read trailerRecord,
                         Trailer trailer, RecordIo.Read headerRecord, ImageHeader header) {
        this.imageId = imageId;
        this.reader = reader;
        this.locator = locator;
        this.trailerRecord = trailerRecord;
        this.trailer = trailer;
        this.headerRecord = headerRecord;
        this.header = header;
    }

    /** Opens {@code imageId} on {@code target} and reads it; the reader is closed if the read fails. */
    static UnkeyedImage open(BackupTarget target, String imageId, boolean withPassword) {
        ImageReader reader = target.openImage(imageId);
        try {
            return read(imageId, reader, withPassword);
        } catch (RuntimeException | Error e) {
            reader.close();
            throw e;
        }
    }

    /** Reads and checks the key-free metadata of {@code imageId} from {@code reader} (not closed here). */
    static UnkeyedImage read(String imageId, ImageReader reader, boolean withPassword) {
        String what = "image " + imageId;
        long size = reader.size();
        if (size < RecordHeader.BYTES * 4L + Locator.RECORD_BYTES) {
            throw new BackupException(BackupError.TRUNCATED_IMAGE, what + " has only " + size + " bytes");
        }
        Locator locator;
        try {
            locator = Locator.fromPayload(RecordIo.read(reader, size - Locator.RECORD_BYTES, ArchiveLayout.LOCATOR_MAGIC,
                    Locator.PAYLOAD_BYTES, what + " locator").payload());
        } catch (BackupException e) {
            throw new BackupException(BackupError.TRUNCATED_IMAGE, what + " has no valid locator in its last "
                    + Locator.RECORD_BYTES + " bytes (truncated or corrupt): " + e.getMessage(), e);
        }
        long trailerEnd = size - Locator.RECORD_BYTES;
        if (locator.trailerOffset() < 0 || locator.trailerLength() < RecordHeader.BYTES
                || locator.trailerOffset() + locator.trailerLength() != trailerEnd) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": locator points at trailer " + locator.trailerOffset()
                    + "+" + locator.trailerLength() + " but the trailer must end at " + trailerEnd);
        }
        RecordIo.Read trailerRecord = RecordIo.read(reader, locator.trailerOffset(), ArchiveLayout.TRAILER_MAGIC,
                locator.trailerLength() - RecordHeader.BYTES, what + " trailer");
        if (trailerRecord.bytes().length != locator.trailerLength()) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": trailer is " + trailerRecord.bytes().length
                    + " bytes, locator says " + locator.trailerLength());
        }
        Trailer trailer = Trailer.fromPayload(trailerRecord.payload());
        RecordIo.Read headerRecord = RecordIo.read(reader, 0, ArchiveLayout.HEADER_MAGIC, 1 << 20, what + " header");
        ImageHeader header = ImageHeader.fromPayload(headerRecord.header(), headerRecord.payload());
        if (!header.imageId().equals(imageId)) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + ": header names image " + header.imageId());
        }
        if (withPassword && !header.encrypted()) {
            throw new BackupException(BackupError.NOT_ENCRYPTED, what + " is not encrypted, but a password was given: "
                    + "refused, an unencrypted image must not stand in for an encrypted one (forged or swapped image?)");
        }
        return new UnkeyedImage(imageId, reader, locator, trailerRecord, trailer, headerRecord, header);
    }
}
