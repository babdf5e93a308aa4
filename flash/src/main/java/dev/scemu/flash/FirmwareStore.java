package dev.scemu.flash;

import dev.scemu.flash.internal.FlashFirmwareStore;

/**
 * Where the primary (running) firmware image lives: the NVRAM flash, or a region of it. The
 * control unit may supply another implementation.
 *
 * <p>Ordering: {@link #write} is not atomic. It erases what the image needs, then programs it in
 * ascending order; a power cut in between leaves a torn image that fails verification (and boot
 * recovers it from the backup region). A completed write is durable.
 */
public interface FirmwareStore {

    String name();

    long capacityBytes();

    /** Reads {@code length} bytes at {@code offset}. */
    void read(long offset, byte[] buffer, int bufferOffset, int length);

    /** Replaces the stored image with {@code image} (erase + program). */
    void write(byte[] image);

    /** Bytes a {@link #write} of {@code imageLength} bytes erases and programs (for reports). */
    default long writeCostBytes(long imageLength) {
        return imageLength;
    }

    /** The whole {@code flash}. */
    static FirmwareStore onFlash(FlashDevice flash) {
        return new FlashFirmwareStore(flash, 0, flash.geometry().eraseBlockCount());
    }

    /** Erase blocks {@code [firstEraseBlock, firstEraseBlock + eraseBlockCount)} of {@code flash}. */
    static FirmwareStore onFlash(FlashDevice flash, int firstEraseBlock, int eraseBlockCount) {
        return new FlashFirmwareStore(flash, firstEraseBlock, eraseBlockCount);
    }
}
