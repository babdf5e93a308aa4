package dev.scemu.flash.internal;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.Extent;
import dev.scemu.flash.BackupRegion;
import dev.scemu.flash.FlashError;
import dev.scemu.flash.FlashException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A {@link BackupRegion} on an extent of a {@link BlockDevice}: the extent is split in two halves,
 * {@code BACKUP} then {@code STAGING}; each half is one header block ({@link SlotHeaderLayout})
 * followed by image blocks.
 *
 * <p>Ordering: image blocks (no FUA), flush, header block (FUA).
 */
public final class BlockBackupRegion implements BackupRegion {

    private final BlockDevice device;
    private final Extent extent;
    private final long slotBlocks;
    private long sequence;

    public BlockBackupRegion(BlockDevice device, Extent extent) {
        device.geometry().checkRange(extent.lba(), extent.blockCount());
        if (extent.blockCount() < 4) {
            throw new FlashException(FlashError.INVALID_ARGUMENT, "backup region " + extent + " of " + device.name()
                    + " needs at least 4 blocks");
        }
        this.device = device;
        this.extent = extent;
        this.slotBlocks = extent.blockCount() / 2;
    }

    @Override
    public String name() {
        return device.name() + extent;
    }

    @Override
    public long slotCapacityBytes() {
        return Math.min(0xFFFF_FFFFL, (slotBlocks - 1) * device.blockSize());
    }

    private long headerLba(Slot slot) {
        return extent.lba() + slot.ordinal() * slotBlocks;
    }

    @Override
    public synchronized SlotContents read(Slot slot) {
        int blockSize = device.blockSize();
        ByteBuffer block = ByteBuffer.allocate(blockSize);
        device.read(headerLba(slot), 1, block, 0);
        SlotHeaderLayout.Header header;
        try {
            header = SlotHeaderLayout.decode(block, "slot header " + slot + " of " + name());
        } catch (FlashException e) {
            if (e.code() != FlashError.CORRUPT_SLOT) {
                throw e;
            }
            return new SlotContents(slot, SlotState.CORRUPT, null, 0, e.getMessage());
        }
        if (header == null) {
            return new SlotContents(slot, SlotState.EMPTY, null, 0, "slot " + slot + " is empty");
        }
        sequence = Math.max(sequence, header.sequence());
        if (header.slot() != slot.ordinal() || header.imageLength() > slotCapacityBytes()) {
            return new SlotContents(slot, SlotState.CORRUPT, null, header.sequence(), "slot " + slot + " header names slot "
                    + header.slot() + " and image length " + header.imageLength() + " (capacity " + slotCapacityBytes() + ")");
        }
        int length = (int) header.imageLength();
        int blocks = (int) ((length + blockSize - 1) / blockSize);
        ByteBuffer data = ByteBuffer.allocate(blocks * blockSize);
        device.read(headerLba(slot) + 1, blocks, data, 0);
        byte[] image = new byte[length];
        data.get(0, image);
        byte[] sha = sha256(image);
        if (!MessageDigest.isEqual(sha, header.sha256())) {
            return new SlotContents(slot, SlotState.CORRUPT, null, header.sequence(), "slot " + slot + " image of "
                    + length + " bytes has SHA-256 " + HexFormat.of().formatHex(sha, 0, 8) + "..., header says "
                    + HexFormat.of().formatHex(header.sha256(), 0, 8) + "...");
        }
        return new SlotContents(slot, SlotState.VALID, image, header.sequence(), "slot " + slot + ": " + length
                + " bytes, sequence " + header.sequence());
    }

    @Override
    public synchronized void write(Slot slot, byte[] image) {
        if (image.length > slotCapacityBytes()) {
            throw new FlashException(FlashError.IMAGE_TOO_LARGE, "image of " + image.length + " bytes does not fit slot "
                    + slot + " of " + slotCapacityBytes() + " bytes in " + name());
        }
        int blockSize = device.blockSize();
        int blocks = (image.length + blockSize - 1) / blockSize;
        if (blocks > 0) {
            ByteBuffer data = ByteBuffer.allocate(blocks * blockSize);
            data.put(0, image);
            device.write(headerLba(slot) + 1, blocks, data, 0);
        }
        device.flush();
        if (sequence == 0) {
            for (Slot other : Slot.values()) {
                read(other);
            }
        }
        ByteBuffer header = ByteBuffer.allocate(blockSize);
        SlotHeaderLayout.encode(header, new SlotHeaderLayout.Header(slot.ordinal(), image.length, ++sequence,
                sha256(image)));
        device.write(headerLba(slot), 1, header, 0, true);
    }

    @Override
    public synchronized void erase(Slot slot) {
        device.write(headerLba(slot), 1, ByteBuffer.allocate(device.blockSize()), 0, true);
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return "BlockBackupRegion[" + name() + ", slot capacity " + slotCapacityBytes() + " B]";
    }
}
