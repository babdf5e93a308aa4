package dev.scemu.backup;

import java.time.Instant;

/**
 * What an image header and trailer say about an image.
 *
 * @param imageId id of the image
 * @param formatVersion archive format version
 * @param created creation time
 * @param scemuVersion scemu version that wrote it
 * @param sourceVolumeId id of the backed-up volume
 * @param snapshotToken token of the snapshot that was read
 * @param blockSize source block size in bytes
 * @param blockCount source block count
 * @param chunkSizeBytes volume bytes per chunk window
 * @param userLabel free text
 * @param baseImageId base of an incremental, or null for a full image
 * @param encrypted whether a password protects the image
 * @param chunkCount chunk records stored
 * @param storedBlockCount blocks stored in chunks
 * @param zeroBlockCount blocks recorded as zero/unused runs
 * @param storedEndLba one past the highest stored block (0 if none): the smallest destination that fits
 * @param imageBytes size of the image in bytes
 * @param imageSha256Hex whole-image hash (see docs/backup-format.md)
 */
public record ImageInfo(String imageId, int formatVersion, Instant created, String scemuVersion, String sourceVolumeId,
                        String snapshotToken, int blockSize, long blockCount, int chunkSizeBytes, String userLabel,
                        String baseImageId, boolean encrypted, long chunkCount, long storedBlockCount,
                        long zeroBlockCount, long storedEndLba, long imageBytes, String imageSha256Hex) {

    public boolean isIncremental() {
        return baseImageId != null;
    }
}
