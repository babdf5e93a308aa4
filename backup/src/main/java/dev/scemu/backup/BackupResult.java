package dev.scemu.backup;

import java.time.Duration;

/**
 * Outcome of a backup.
 *
 * @param info the committed image
 * @param scannedBytes volume bytes read from the source
 * @param elapsed wall time
 */
public record BackupResult(ImageInfo info, long scannedBytes, Duration elapsed) {

    public String imageId() {
        return info.imageId();
    }
}
