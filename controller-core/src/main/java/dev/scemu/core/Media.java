package dev.scemu.core;

import dev.scemu.core.internal.MemoryBlockDevice;

/**
 * Factory of the media backends, the bottom of every stack:
 * <ul>
 *   <li>{@link #memory}: off-heap memory, sparse, volatile;</li>
 * </ul>
 */
public final class Media {

    private Media() {
    }

    /** An off-heap memory device, all zeros, allocated lazily as it is written. */
    public static BlockDevice memory(String name, BlockGeometry geometry) {
        return new MemoryBlockDevice(name, geometry);
    }
}
