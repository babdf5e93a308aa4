package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;

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
 * </pre>
 * Record flags: {@link ArchiveLayout#HEADER_FLAG_ENCRYPTED}, {@link ArchiveLayout#HEADER_FLAG_INCREMENTAL}.
 */
record ImageHeader(String imageId, long createdEpochMillis, String scemuVersion, String sourceVolumeId,
                   String snapshotToken, int blockSize, long blockCount, int chunkSizeBytes, String userLabel,
                   String baseImageId, String baseSnapshotToken, int compressionLevel, boolean encrypted,
                   int kdfMemoryKiB, int kdfIterations, int kdfParallelism, byte[] salt, byte[] keyCheck) {

    boolean incremental() {
        return !baseImageId.isEmpty();
    }

    int flags() {
        return (encrypted ? ArchiveLayout.HEADER_FLAG_ENCRYPTED : 0) | (incremental() ? ArchiveLayout.HEADER_FLAG_INCREMENTAL : 0);
    }

    int chunkBlocks() {
        return chunkSizeBytes / blockSize;
    }

    byte[] toRecord() {
        Bin.Writer w = new Bin.Writer(256);
        w.string(imageId).u64(createdEpochMillis).string(scemuVersion).string(sourceVolumeId).string(snapshotToken)
                .u32(blockSize).u64(blockCount).u32(chunkSizeBytes).string(userLabel).string(baseImageId)
                .string(baseSnapshotToken).u8(compressionLevel > 0 ? 1 : 0).u8(compressionLevel)
                .u8(encrypted ? 1 : 0).u32(kdfMemoryKiB).u32(kdfIterations).u32(kdfParallelism)
                .bytes(salt).bytes(keyCheck);
        return RecordHeader.seal(ArchiveLayout.HEADER_MAGIC, ArchiveLayout.FORMAT_VERSION, flags(), w.toArray());
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
        return new ImageHeader(imageId, created, scemuVersion, volumeId, token, blockSize, blockCount, chunkSize, label,
                baseId, baseToken, level, encrypted, memory, iterations, parallelism, salt, keyCheck);
    }
}
