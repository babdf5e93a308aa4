package dev.scemu.flash;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.Extent;
import dev.scemu.flash.internal.BlockBackupRegion;

/**
 * The firmware-backup region on the array (a GPT partition, in the control unit): two slots, each
 * a checksummed slot header and an image. {@link Slot#BACKUP} holds a verified copy of the
 * running image; {@link Slot#STAGING} holds an image being updated to.
 *
 * <p>Ordering: {@link #write} writes the image blocks, flushes, then writes the slot header with
 * FUA; the header carries the image's length and SHA-256, so a slot whose write was cut reads as
 * {@link SlotState#CORRUPT}, never as a wrong image.
 */
public interface BackupRegion {

    enum Slot { BACKUP, STAGING }

    enum SlotState {
        /** Never written, or erased. */
        EMPTY,
        /** Header verifies and the image matches its length and SHA-256. */
        VALID,
        /** Header damaged, or the image does not match it. */
        CORRUPT
    }

    /**
     * What a slot holds.
     *
     * @param slot the slot
     * @param state its state
     * @param image the image bytes if {@link SlotState#VALID}, else null
     * @param sequence the header's write sequence number (0 if none)
     * @param detail why it is not valid, or a summary
     */
    record SlotContents(Slot slot, SlotState state, byte[] image, long sequence, String detail) {
    }

    String name();

    /** Largest image a slot holds, in bytes. */
    long slotCapacityBytes();

    SlotContents read(Slot slot);

    /** Stores {@code image} in {@code slot}; durable when this returns. */
    void write(Slot slot, byte[] image);

    /** Marks {@code slot} empty; durable when this returns. */
    void erase(Slot slot);

    /** Two slots splitting {@code extent} of {@code device} (at least 4 blocks). */
    static BackupRegion on(BlockDevice device, Extent extent) {
        return new BlockBackupRegion(device, extent);
    }
}
