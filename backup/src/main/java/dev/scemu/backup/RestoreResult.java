package dev.scemu.backup;

import java.time.Duration;
import java.util.List;

/**
 * Outcome of a restore (or a verify, which writes nothing).
 *
 * @param chain the images applied, base first
 * @param dataBytes stored data bytes decoded (and written, for a restore)
 * @param zeroBlocks zero-run blocks handled per the zero policy
 * @param elapsed wall time
 */
public record RestoreResult(List<ImageInfo> chain, long dataBytes, long zeroBlocks, Duration elapsed) {
}
