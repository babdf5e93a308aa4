package dev.scemu.flash;

/**
 * Geometry of a flash device: pages (the program unit) grouped into erase blocks (the erase unit).
 *
 * @param pageSizeBytes bytes per page: a power of two, 512..65536
 * @param pagesPerEraseBlock pages per erase block: a power of two, at least 1
 * @param eraseBlockCount number of erase blocks, at least 1
 */
public record FlashGeometry(int pageSizeBytes, int pagesPerEraseBlock, int eraseBlockCount) {

    /** 4 KiB pages. */
    public static final int DEFAULT_PAGE_SIZE_BYTES = 4096;
    /** 16 pages = 64 KiB erase blocks. */
    public static final int DEFAULT_PAGES_PER_ERASE_BLOCK = 16;
    /** 256 erase blocks = 16 MiB. */
    public static final int DEFAULT_ERASE_BLOCK_COUNT = 256;

    public FlashGeometry {
        if (pageSizeBytes < 512 || pageSizeBytes > 65536 || Integer.bitCount(pageSizeBytes) != 1) {
            throw new FlashException(FlashError.INVALID_ARGUMENT,
                    "page size " + pageSizeBytes + " bytes must be a power of two in [512, 65536]");
        }
        if (pagesPerEraseBlock < 1 || Integer.bitCount(pagesPerEraseBlock) != 1) {
            throw new FlashException(FlashError.INVALID_ARGUMENT,
                    "pages per erase block " + pagesPerEraseBlock + " must be a power of two");
        }
        if (eraseBlockCount < 1 || (long) eraseBlockCount * pagesPerEraseBlock * pageSizeBytes > (1L << 40)) {
            throw new FlashException(FlashError.INVALID_ARGUMENT,
                    "erase block count " + eraseBlockCount + " is out of range");
        }
    }

    /** 16 MiB of 4 KiB pages in 64 KiB erase blocks. */
    public static FlashGeometry defaults() {
        return new FlashGeometry(DEFAULT_PAGE_SIZE_BYTES, DEFAULT_PAGES_PER_ERASE_BLOCK, DEFAULT_ERASE_BLOCK_COUNT);
    }

    public int eraseBlockSizeBytes() {
        return pageSizeBytes * pagesPerEraseBlock;
    }

    public long pageCount() {
        return (long) pagesPerEraseBlock * eraseBlockCount;
    }

    public long capacityBytes() {
        return pageCount() * pageSizeBytes;
    }

    public long pageOf(long offset) {
        return offset / pageSizeBytes;
    }

    public int eraseBlockOf(long offset) {
        return (int) (offset / eraseBlockSizeBytes());
    }

    public long offsetOfPage(long pageIndex) {
        return pageIndex * pageSizeBytes;
    }

    public long offsetOfEraseBlock(int eraseBlock) {
        return (long) eraseBlock * eraseBlockSizeBytes();
    }

    /** Throws {@link FlashError#OUT_OF_RANGE} unless {@code [offset, offset+length)} lies on the device. */
    public void checkRange(long offset, long length) {
        if (offset < 0 || length < 0 || offset > capacityBytes() || length > capacityBytes() - offset) {
            throw new FlashException(FlashError.OUT_OF_RANGE, "bytes [" + offset + ", +" + length
                    + ") are outside the flash of " + capacityBytes() + " bytes");
        }
    }

    public void checkEraseBlock(int eraseBlock) {
        if (eraseBlock < 0 || eraseBlock >= eraseBlockCount) {
            throw new FlashException(FlashError.OUT_OF_RANGE,
                    "erase block " + eraseBlock + " is outside [0, " + eraseBlockCount + ")");
        }
    }

    @Override
    public String toString() {
        return eraseBlockCount + " x " + pagesPerEraseBlock + " x " + pageSizeBytes + " B";
    }
}
