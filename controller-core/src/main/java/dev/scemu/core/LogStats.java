package dev.scemu.core;

/**
 * Counters of an {@link ExecutionLog} since it was formatted or opened.
 *
 * @param recordsAppended BEGIN, STEP, COMMIT and ABORT records appended
 * @param recordBytes bytes of those records (16-byte record header plus payload)
 * @param blocksWritten data-block writes issued (a block re-written by several syncs counts each time)
 * @param bytesWritten bytes of data-block and header writes issued
 * @param syncs calls of {@link ExecutionLog#sync()}
 * @param reclaims header updates that advanced the tail to free ring space
 */
public record LogStats(long recordsAppended, long recordBytes, long blocksWritten, long bytesWritten, long syncs,
                       long reclaims) {
}
