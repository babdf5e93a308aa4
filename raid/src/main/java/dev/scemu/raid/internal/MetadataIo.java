package dev.scemu.raid.internal;

import dev.scemu.core.BlockDevice;
import java.nio.ByteBuffer;

/**
 * Byte-addressed reads and writes of metadata (superblock, bitmap) on a member of any block size:
 * whole blocks are read, patched and written back when the range does not cover them exactly.
 * Not on the hot path.
 */
final class MetadataIo {

    private MetadataIo() {
    }

    static byte[] read(BlockDevice device, long byteOffset, int length) {
        int blockSize = device.blockSize();
        long firstLba = byteOffset / blockSize;
        long endLba = (byteOffset + length + blockSize - 1) / blockSize;
        int blocks = (int) (endLba - firstLba);
        ByteBuffer buffer = ByteBuffer.allocateDirect(blocks * blockSize);
        device.read(firstLba, blocks, buffer, 0);
        byte[] bytes = new byte[length];
        buffer.get((int) (byteOffset - firstLba * blockSize), bytes);
        return bytes;
    }

    /** Writes {@code bytes} at {@code byteOffset}; returns the bytes written to the device (whole blocks). */
    static int write(BlockDevice device, long byteOffset, byte[] bytes) {
        return write(device, byteOffset, bytes, false);
    }

    /** Like {@link #write(BlockDevice, long, byte[])}, with FUA if {@code fua}: durable when it returns. */
    static int write(BlockDevice device, long byteOffset, byte[] bytes, boolean fua) {
        int blockSize = device.blockSize();
        long firstLba = byteOffset / blockSize;
        long endLba = (byteOffset + bytes.length + blockSize - 1) / blockSize;
        int blocks = (int) (endLba - firstLba);
        ByteBuffer buffer = ByteBuffer.allocateDirect(blocks * blockSize);
        int within = (int) (byteOffset - firstLba * blockSize);
        if (within != 0 || bytes.length != blocks * blockSize) {
            device.read(firstLba, blocks, buffer, 0);
        }
        buffer.put(within, bytes);
        device.write(firstLba, blocks, buffer, 0, fua);
        return blocks * blockSize;
    }
}
