package dev.scemu.snapshot.internal;

import java.nio.ByteBuffer;

/** Small buffer helpers for the hot path (no allocation). */
final class Buffers {

    private Buffers() {
    }

    /**
     * Whether {@code a[aOffset, +length)} equals {@code b[bOffset, +length)}. {@code a} and {@code b}
     * are scratch views (their position and limit are changed): vectorized {@link ByteBuffer#mismatch}.
     */
    static boolean equal(ByteBuffer a, int aOffset, ByteBuffer b, int bOffset, int length) {
        a.limit(aOffset + length).position(aOffset);
        b.limit(bOffset + length).position(bOffset);
        return a.mismatch(b) < 0;
    }

    /**
     * A direct buffer of {@code capacity} bytes at a 4096-aligned address. (controller-core's
     * NativeMemory.allocateAligned fails unless capacity is a multiple of the alignment.)
     */
    static ByteBuffer allocateAligned(int capacity) {
        int alignment = 4096;
        int rounded = (capacity + alignment - 1) / alignment * alignment;
        return ByteBuffer.allocateDirect(rounded + alignment).alignedSlice(alignment).limit(capacity).slice();
    }

    static void zero(ByteBuffer buffer, int offset, int length) {
        if (buffer.hasArray()) {
            java.util.Arrays.fill(buffer.array(), buffer.arrayOffset() + offset, buffer.arrayOffset() + offset + length, (byte) 0);
        } else {
            int i = 0;
            for (; i + 8 <= length; i += 8) {
                buffer.putLong(offset + i, 0);
            }
            for (; i < length; i++) {
                buffer.put(offset + i, (byte) 0);
            }
        }
    }
}
