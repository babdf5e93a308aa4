package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import java.security.MessageDigest;
import java.util.Arrays;

/**
 * The image header record ('SCBH'). Payload, little-endian:
 * <pre>
 * str   imageId             (u16 length + UTF-8)
 * u64   createdEpochMillis
 * str   scemuVersion
 * str   sourceVolumeId
 * str   snapshotToken
 * u32   blockSize
 * u64   blockCount
 * u32   chunkSizeBytes
 * str   userLabel
 * str   baseImageId         ("" for a full image)
 * str   baseSnapshotToken   ("" for a full image)
 * u8    compression         (0 none, 1 zstd)
 * u8    compressionLevel
 * u8    kdf                 (0 none, 1 Argon2id v1.3)
 * u32   kdfMemoryKiB, u32 kdfIterations, u32 kdfParallelism
 * u8[16] salt
 * u8[32] keyCheck           (HMAC-SHA256(master, "scemu-backup key check" || imageId))
 * -- version 2 and later:
 * u8[32] baseImageSha256    (whole-image hash of the base; zeros for a full image)
 * u8[32] headerMac          (HMAC-SHA256(headerKey, record bytes 0..12 || payload without this field);
 *                            zeros when not encrypted)
 * </pre>
 * The header MAC covers the record's magic, version, flags (encrypted, incremental) and length
 * and every payload field before it; only the CRC-32C (which covers the MAC) is left out. Record
 * flags: {@link ArchiveLayout#HEADER_FLAG_ENCRYPTED}, {@link ArchiveLayout#HEADER_FLAG_INCREMENTAL}.
 */
record ImageHeader(int version, String imageId, long createdEpochMillis, String scemuVersion, String sourceVolumeId,
                   String snapshotToken, int blockSize, long blockCount, int chunkSizeBytes, String userLabel,
                   String baseImageId, String baseSnapshotToken, int compressionLevel, boolean encrypted,
                   int kdfMemoryKiB, int kdfIterations, int kdfParallelism, byte[] salt, byte[] keyCheck,
                   byte[] baseImageSha256, byte[] headerMac) {

    /** Bytes of the record header the MAC covers: magic, version, flags, length (not the CRC). */
    private static final int MAC_COVERED_RECORD_HEADER = 12;

    boolean incremental() {
        return !baseImageId.isEmpty();
    }

    int flags() {
        return (encrypted ? ArchiveLayout.HEADER_FLAG_ENCRYPTED : 0) | (incremental() ? ArchiveLayout.HEADER_FLAG_INCREMENTAL : 0);
    }

    int chunkBlocks() {
        return chunkSizeBytes / blockSize;
    }

    /** Whether this header carries a MAC (version 2 and later). */
    boolean hasHeaderMac() {
        return version >= 2;
    }

    /**
     * The sealed record of this (current-version) header; when {@code keys} is given, with its
     * header MAC computed, otherwise with zeros there.
     */
    byte[] toRecord(ImageKeys keys) {
        if (version != ArchiveLayout.FORMAT_VERSION) {
            throw new IllegalStateException("only version " + ArchiveLayout.FORMAT_VERSION + " headers are written");
        }
        byte[] record = seal(new byte[ArchiveLayout.HEADER_MAC_BYTES]);
        if (keys == null) {
            return record;
        }
        return seal(keys.headerMac(macInput(record)));
    }

    private byte[] seal(byte[] mac) {
        Bin.Writer w = new Bin.Writer(320);
        w.string(imageId).u64(createdEpochMillis).string(scemuVersion).string(sourceVolumeId).string(snapshotToken)
                .u32(blockSize).u64(blockCount).u32(chunkSizeBytes).string(userLabel).string(baseImageId)
                .string(baseSnapshotToken).u8(compressionLevel > 0 ? 1 : 0).u8(compressionLevel)
                .u8(encrypted ? 1 : 0).u32(kdfMemoryKiB).u32(kdfIterations).u32(kdfParallelism)
                .bytes(salt).bytes(keyCheck).bytes(baseImageSha256).bytes(mac);
        return RecordHeader.seal(ArchiveLayout.HEADER_MAGIC, version, flags(), w.toArray());
    }

    /** What the header MAC of a version-2 header record covers: bytes 0..12 and the payload before the MAC. */
    static byte[] macInput(byte[] record) {
        byte[] input = Arrays.copyOf(record, record.length - RecordHeader.BYTES + MAC_COVERED_RECORD_HEADER
                - ArchiveLayout.HEADER_MAC_BYTES);
        System.arraycopy(record, RecordHeader.BYTES, input, MAC_COVERED_RECORD_HEADER,
                input.length - MAC_COVERED_RECORD_HEADER);
        return input;
    }

    /**
     * Checks the header MAC of this version-2 header, read as {@code record}, with the keys derived
     * from the password (which already passed the key check).
     *
     * @throws BackupException {@code AUTHENTICATION_FAILED} if a header field was changed
     */
    void authenticate(byte[] record, ImageKeys keys) {
        if (!hasHeaderMac()) {
            return; // version 1: the header is authenticated by the image MAC only (docs/backup-format.md, Versions)
        }
        if (!MessageDigest.isEqual(keys.headerMac(macInput(record)), headerMac)) {
            throw new BackupException(BackupError.AUTHENTICATION_FAILED, "image " + imageId + ": the header MAC does "
                    + "not verify: a header field (encryption, KDF, chunk size, volume, snapshot, base, ...) was changed");
        }
    }

    static ImageHeader fromPayload(RecordHeader header, byte[] payload) {
        String what = "image header";
        Bin.Reader r = new Bin.Reader(payload, what);
        String imageId = r.string();
        long created = r.u64();
        String scemuVersion = r.string();
        String volumeId = r.string();
        String token = r.string();
        int blockSize = r.u32();
        long blockCount = r.u64();
        int chunkSize = r.u32();
        String label = r.string();
        String baseId = r.string();
        String baseToken = r.string();
        int compression = r.u8();
        int level = r.u8();
        int kdf = r.u8();
        int memory = r.u32();
        int iterations = r.u32();
        int parallelism = r.u32();
        byte[] salt = r.bytes(ArchiveLayout.SALT_BYTES);
        byte[] keyCheck = r.bytes(ArchiveLayout.KEY_CHECK_BYTES);
        byte[] baseSha = new byte[ArchiveLayout.SHA256_BYTES];
        byte[] mac = new byte[ArchiveLayout.HEADER_MAC_BYTES];
        if (header.version() >= 2) {
            baseSha = r.bytes(ArchiveLayout.SHA256_BYTES);
            mac = r.bytes(ArchiveLayout.HEADER_MAC_BYTES);
        }
        r.expectEnd();
        boolean encrypted = (header.flags() & ArchiveLayout.HEADER_FLAG_ENCRYPTED) != 0;
        boolean incremental = (header.flags() & ArchiveLayout.HEADER_FLAG_INCREMENTAL) != 0;
        if (blockSize < 512 || Integer.bitCount(blockSize) != 1 || blockCount < 0 || chunkSize < blockSize
                || chunkSize % blockSize != 0 || compression > 1 || (compression == 1) != (level > 0) || kdf > 1
                || (kdf == 1) != encrypted || incremental == baseId.isEmpty()) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, what + " of image " + imageId + " is inconsistent: blockSize="
                    + blockSize + " blockCount=" + blockCount + " chunkSize=" + chunkSize + " compression=" + compression
                    + " level=" + level + " kdf=" + kdf + " flags=" + header.flags() + " base='" + baseId + "'");
        }
        return new ImageHeader(header.version(), imageId, created, scemuVersion, volumeId, token, blockSize, blockCount,
                chunkSize, label, baseId, baseToken, level, encrypted, memory, iterations, parallelism, salt, keyCheck,
                baseSha, mac);
    }
}
