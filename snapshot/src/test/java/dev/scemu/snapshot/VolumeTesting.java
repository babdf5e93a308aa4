package dev.scemu.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;

/** Helpers shared by the snapshot tests. */
final class VolumeTesting {

    private VolumeTesting() {
    }

    static byte[] read(BlockDevice device, long lba, int blocks) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(blocks * device.blockSize());
        device.read(lba, blocks, buffer, 0);
        byte[] bytes = new byte[buffer.capacity()];
        buffer.get(0, bytes);
        return bytes;
    }

    static void write(BlockDevice device, long lba, byte[] bytes, boolean fua) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(bytes.length);
        buffer.put(0, bytes);
        device.write(lba, bytes.length / device.blockSize(), buffer, 0, fua);
    }

    static byte[] randomBytes(Random random, int length) {
        byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        return bytes;
    }

    static byte[] filled(int value, int length) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) value);
        return bytes;
    }

    /** Compares whole devices, reporting the first differing block instead of dumping arrays. */
    static void assertSameContents(byte[] actual, byte[] expected, int blockSize, String what) {
        int mismatch = Arrays.mismatch(actual, expected);
        assertThat(mismatch == -1 ? -1 : mismatch / blockSize)
                .as("%s: first differing block (-1 = identical)", what).isEqualTo(-1);
    }
}
