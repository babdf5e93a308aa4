package dev.scemu.core;

/**
 * What a range of blocks holds, as far as the device knows without reading it: the answer of
 * {@link BlockDevice#mapAllocation}. It is the one allocation query of scemu: the NBD server's
 * block status ({@code base:allocation}) and the backup engine's skipping of unused ranges both
 * ask it, so they cannot disagree.
 *
 * <p>Every state but {@link #DATA} is a promise that the blocks read as zeros; a device that does
 * not know reports {@link #DATA}, which is always correct.
 */
public enum Allocation {
    /** The blocks may hold any data: read them to know. */
    DATA,
    /** The blocks are allocated (backed by storage) and read as zeros. */
    ZERO,
    /** The blocks are not allocated (never written, or trimmed) and read as zeros. */
    HOLE;

    /** Whether blocks in this state are guaranteed to read as zeros. */
    public boolean readsAsZeros() {
        return this != DATA;
    }

    /**
     * The parts of {@code range} that {@code device} reports as {@link #DATA} (may hold anything
     * but zeros), increasing and clipped to the range: what a writer of zeros has to touch.
     */
    public static java.util.List<Extent> dataExtents(BlockDevice device, Extent range) {
        java.util.List<Extent> data = new java.util.ArrayList<>();
        device.mapAllocation(range.lba(), range.blockCount(), (lba, blockCount, allocation) -> {
            if (allocation == DATA) {
                Extent inside = new Extent(lba, blockCount).intersection(range);
                if (!inside.isEmpty()) {
                    data.add(inside);
                }
            }
            return true;
        });
        return data;
    }
}
