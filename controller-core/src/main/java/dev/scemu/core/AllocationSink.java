package dev.scemu.core;

/**
 * Receives the extents of an allocation map from {@link BlockDevice#mapAllocation}, in ascending
 * block order, contiguous, each non-empty.
 */
@FunctionalInterface
public interface AllocationSink {

    /**
     * One extent of the map.
     *
     * @return {@code true} to receive the next extent, {@code false} to stop the walk early (the
     *     map then ends after this extent)
     */
    boolean extent(long lba, long blockCount, Allocation allocation);
}
