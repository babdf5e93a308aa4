package dev.scemu.flash.internal;

import dev.scemu.flash.FirmwareStore;
import dev.scemu.flash.FlashDevice;
import dev.scemu.flash.FlashError;
import dev.scemu.flash.FlashException;
import dev.scemu.flash.FlashGeometry;

/**
 * A {@link FirmwareStore} on a run of erase blocks of a {@link FlashDevice}.
 *
 * <p>Ordering: {@link #write} erases every erase block the image touches, in ascending order, then
 * programs the image page by page in ascending order. Blocks beyond the image are left as they
 * are (the image header gives the length).
 */
public final class FlashFirmwareStore implements FirmwareStore {

    private final FlashDevice flash;
    private final int firstEraseBlock;
    private final int eraseBlockCount;
    private final long baseOffset;
    private final long capacityBytes;

    public FlashFirmwareStore(FlashDevice flash, int firstEraseBlock, int eraseBlockCount) {
        FlashGeometry geometry = flash.geometry();
        if (firstEraseBlock < 0 || eraseBlockCount < 1
                || (long) firstEraseBlock + eraseBlockCount > geometry.eraseBlockCount()) {
            throw new FlashException(FlashError.OUT_OF_RANGE, "erase blocks [" + firstEraseBlock + ", +"
                    + eraseBlockCount + ") are outside flash " + flash.name() + " of " + geometry.eraseBlockCount());
        }
        this.flash = flash;
        this.firstEraseBlock = firstEraseBlock;
        this.eraseBlockCount = eraseBlockCount;
        this.baseOffset = geometry.offsetOfEraseBlock(firstEraseBlock);
        this.capacityBytes = (long) eraseBlockCount * geometry.eraseBlockSizeBytes();
    }

    @Override
    public String name() {
        return flash.name() + "[eb " + firstEraseBlock + "+" + eraseBlockCount + "]";
    }

    @Override
    public long capacityBytes() {
        return capacityBytes;
    }

    @Override
    public void read(long offset, byte[] buffer, int bufferOffset, int length) {
        checkRange(offset, length);
        flash.read(baseOffset + offset, buffer, bufferOffset, length);
    }

    @Override
    public void write(byte[] image) {
        checkRange(0, image.length);
        flash.eraseRange(baseOffset, Math.max(1, image.length));
        int pageSize = flash.geometry().pageSizeBytes();
        for (int done = 0; done < image.length; done += pageSize) {
            flash.program(baseOffset + done, image, done, Math.min(pageSize, image.length - done));
        }
    }

    @Override
    public long writeCostBytes(long imageLength) {
        int eraseBlock = flash.geometry().eraseBlockSizeBytes();
        return (imageLength + eraseBlock - 1) / eraseBlock * eraseBlock + imageLength;
    }

    private void checkRange(long offset, long length) {
        if (offset < 0 || length < 0 || offset > capacityBytes || length > capacityBytes - offset) {
            throw new FlashException(length > capacityBytes ? FlashError.IMAGE_TOO_LARGE : FlashError.OUT_OF_RANGE,
                    "bytes [" + offset + ", +" + length + ") do not fit firmware store " + name() + " of "
                            + capacityBytes + " bytes");
        }
    }

    @Override
    public String toString() {
        return "FlashFirmwareStore[" + name() + "]";
    }
}
