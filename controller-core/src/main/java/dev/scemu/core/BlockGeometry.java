package dev.scemu.core;

/**
 * Block size and block count of a device, and the one place that converts between blocks and
 * bytes and checks ranges.
 *
 * @param blockSize bytes per block: a power of two, at least 512
 * @param blockCount number of addressable blocks
 */
public record BlockGeometry(int blockSize, long blockCount) {

    public static final int MIN_BLOCK_SIZE = 512;
    public static final int DEFAULT_BLOCK_SIZE = 4096;

    public BlockGeometry {
        if (blockSize < MIN_BLOCK_SIZE || Integer.bitCount(blockSize) != 1) {
            throw new CoreException(CoreError.MISALIGNED,
                    "block size " + blockSize + " must be a power of two >= " + MIN_BLOCK_SIZE);
        }
        if (blockCount < 0 || blockCount > Long.MAX_VALUE / blockSize) {
            throw new CoreException(CoreError.INVALID_ARGUMENT,
                    "block count " + blockCount + " is out of range for block size " + blockSize);
        }
    }

    /** Geometry of {@code capacityBytes} bytes in blocks of {@code blockSize}; the capacity must be a whole number of blocks. */
    public static BlockGeometry ofBytes(int blockSize, long capacityBytes) {
        if (blockSize >= MIN_BLOCK_SIZE && Integer.bitCount(blockSize) == 1 && capacityBytes % blockSize != 0) {
            throw new CoreException(CoreError.MISALIGNED,
                    "capacity " + capacityBytes + " bytes is not a multiple of block size " + blockSize);
        }
        return new BlockGeometry(blockSize, capacityBytes / Math.max(1, blockSize));
    }

    public long capacityBytes() {
        return blockCount * blockSize;
    }

    public int blockShift() {
        return Integer.numberOfTrailingZeros(blockSize);
    }

    /** Byte offset of {@code lba}. */
    public long offsetOf(long lba) {
        return lba << blockShift();
    }

    /** Length in bytes of {@code blockCount} blocks. */
    public long lengthOf(long blockCount) {
        return blockCount << blockShift();
    }

    /** Length in bytes of {@code blockCount} blocks, checked to fit one buffer. */
    public int bufferLengthOf(int blockCount) {
        long length = lengthOf(blockCount);
        if (length > Integer.MAX_VALUE) {
            throw new CoreException(CoreError.INVALID_ARGUMENT,
                    blockCount + " blocks of " + blockSize + " bytes do not fit one buffer");
        }
        return (int) length;
    }

    /** Blocks in {@code length} bytes; the length must be a whole number of blocks. */
    public long blocksIn(long length) {
        if ((length & (blockSize - 1)) != 0) {
            throw new CoreException(CoreError.MISALIGNED,
                    "length " + length + " bytes is not a multiple of block size " + blockSize);
        }
        return length >>> blockShift();
    }

    public Extent all() {
        return new Extent(0, blockCount);
    }

    /** Throws {@link CoreError#OUT_OF_RANGE} unless {@code [lba, lba+count)} lies on the device. */
    public void checkRange(long lba, long count) {
        if (lba < 0 || count < 0 || lba > blockCount || count > blockCount - lba) {
            throw new CoreException(CoreError.OUT_OF_RANGE,
                    "blocks [" + lba + ", +" + count + ") are outside the device of " + blockCount
                            + " blocks of " + blockSize + " bytes");
        }
    }

    @Override
    public String toString() {
        return blockCount + " x " + blockSize + " B";
    }
}
