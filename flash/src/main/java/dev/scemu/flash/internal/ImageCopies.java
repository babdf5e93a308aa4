package dev.scemu.flash.internal;

import dev.scemu.flash.BackupRegion;
import dev.scemu.flash.FirmwareImage;
import dev.scemu.flash.FirmwareStore;
import dev.scemu.flash.FlashError;
import dev.scemu.flash.FlashException;
import dev.scemu.flash.ImageCheck;
import dev.scemu.flash.ImageLocation;
import dev.scemu.flash.TrustedKeys;

/**
 * The three image copies the lifecycle works with — flash, backup slot, staging slot — read and
 * verified against the trusted keys, and written with read-back verification.
 */
final class ImageCopies {

    private final FirmwareStore store;
    private final BackupRegion backupRegion;
    private final TrustedKeys keys;

    ImageCopies(FirmwareStore store, BackupRegion backupRegion, TrustedKeys keys) {
        this.store = store;
        this.backupRegion = backupRegion;
        this.keys = keys;
    }

    FirmwareStore store() {
        return store;
    }

    BackupRegion backupRegion() {
        return backupRegion;
    }

    /** Inspects the flash image (S1) without changing anything. */
    ImageCheck checkFlash() {
        long capacity = store.capacityBytes();
        try {
            if (capacity < FirmwareImageLayout.HEADER_BYTES) {
                return new ImageCheck(ImageLocation.FLASH, ImageCheck.State.CORRUPT, null, "store too small");
            }
            byte[] header = readStore(0, FirmwareImageLayout.HEADER_BYTES);
            boolean erased = true;
            for (byte b : header) {
                erased &= b == (byte) 0xFF;
            }
            if (erased) {
                return new ImageCheck(ImageLocation.FLASH, ImageCheck.State.MISSING, null, "flash is erased");
            }
            long infoAt = FirmwareImage.tlvInfoOffset(header);
            if (infoAt + FirmwareImageLayout.TLV_INFO_BYTES > capacity) {
                return corruptFlash("TLV info at offset " + infoAt + " lies beyond the store of " + capacity + " bytes");
            }
            long total = FirmwareImage.totalLength(header, readStore(infoAt, FirmwareImageLayout.TLV_INFO_BYTES));
            if (total > capacity || total > Integer.MAX_VALUE - 8) {
                return corruptFlash("image of " + total + " bytes exceeds the store of " + capacity + " bytes");
            }
            FirmwareImage image = FirmwareImage.parse(readStore(0, (int) total), keys);
            return new ImageCheck(ImageLocation.FLASH, ImageCheck.State.VALID, image, "verified");
        } catch (FlashException e) {
            if (e.code() == FlashError.POWER_LOST || e.code() == FlashError.CLOSED) {
                throw e;
            }
            return corruptFlash(e.getMessage());
        }
    }

    /** Inspects a backup-region slot without changing anything. */
    ImageCheck checkSlot(BackupRegion.Slot slot) {
        ImageLocation location = slot == BackupRegion.Slot.BACKUP ? ImageLocation.BACKUP : ImageLocation.STAGING;
        BackupRegion.SlotContents contents = backupRegion.read(slot);
        switch (contents.state()) {
            case EMPTY:
                return new ImageCheck(location, ImageCheck.State.MISSING, null, contents.detail());
            case CORRUPT:
                return new ImageCheck(location, ImageCheck.State.CORRUPT, null, contents.detail());
            default:
                try {
                    return new ImageCheck(location, ImageCheck.State.VALID, FirmwareImage.parse(contents.image(), keys),
                            contents.detail());
                } catch (FlashException e) {
                    return new ImageCheck(location, ImageCheck.State.CORRUPT, null, e.getMessage());
                }
        }
    }

    private ImageCheck corruptFlash(String detail) {
        return new ImageCheck(ImageLocation.FLASH, ImageCheck.State.CORRUPT, null, detail);
    }

    private byte[] readStore(long offset, int length) {
        byte[] bytes = new byte[length];
        store.read(offset, bytes, 0, length);
        return bytes;
    }

    /** Erases and programs {@code image} into the flash, then reads it back and verifies it. */
    void programFlash(FirmwareImage image) {
        store.write(image.bytes());
        ImageCheck after = checkFlash();
        if (!after.holds(image)) {
            throw new FlashException(FlashError.VERIFY_FAILED, "flash does not hold " + image + " after programming: "
                    + after);
        }
    }

    /** Writes {@code image} to the backup slot, then reads it back and verifies it. */
    void writeBackup(FirmwareImage image) {
        backupRegion.write(BackupRegion.Slot.BACKUP, image.bytes());
        ImageCheck after = checkSlot(BackupRegion.Slot.BACKUP);
        if (!after.holds(image)) {
            throw new FlashException(FlashError.VERIFY_FAILED, "backup slot does not hold " + image + " after writing: "
                    + after);
        }
    }

}
