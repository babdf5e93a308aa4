package dev.scemu.snapshot.internal;

import java.nio.ByteBuffer;

/** Small buffer helpers for the hot path (no allocation). */
final class Buffers {

    private Buffers() {
    }

    /**
     * Whether {@code a[aOffset, +length)} equals {@code b[bOffset, +length)}. {@code a} and {@code b}
     * are scratch views (their position and limit are changed): {@link BlockCompare#equal}.
     */
    static boolean equal(ByteBuffer a, int aOffset, ByteBuffer b, int bOffset, int length) {
        return BlockCompare.equal(a, aOffset, b, bOffset, length);
    }

    /** A direct buffer of {@code capacity} bytes at a 4096-aligned address. */
    static ByteBuffer allocateAligned(int capacity) {
        return dev.scemu.core.NativeMemory.allocateAligned(capacity, 4096);
    }

    static void zero(ByteBuffer buffer, int offset, int length) {
        dev.scemu.core.NativeMemory.zero(buffer, offset, length);
    }
}
