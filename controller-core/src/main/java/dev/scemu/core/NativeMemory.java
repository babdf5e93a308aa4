package dev.scemu.core;

import java.nio.ByteBuffer;
import net.openhft.chronicle.core.Jvm;
import net.openhft.chronicle.core.UnsafeMemory;

/**
 * Raw memory operations between native addresses and {@link ByteBuffer}s (direct or heap), the
 * hot-path primitive of the media backends. Addresses come from Chronicle Bytes stores or direct
 * buffers; callers guarantee ranges are valid.
 */
public final class NativeMemory {

    private static final UnsafeMemory MEMORY = UnsafeMemory.MEMORY;
    private static final long BYTE_ARRAY_BASE = UnsafeMemory.UNSAFE.arrayBaseOffset(byte[].class);

    private NativeMemory() {
    }

    /** Native address of byte 0 of a direct buffer. */
    public static long address(ByteBuffer direct) {
        if (!direct.isDirect()) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, "buffer is not direct");
        }
        return Jvm.address(direct);
    }

    /** Copies {@code length} bytes from native {@code address} into {@code buffer} at {@code offset}. */
    public static void copyToBuffer(long address, ByteBuffer buffer, int offset, int length) {
        if (buffer.isDirect()) {
            MEMORY.copyMemory(address, Jvm.address(buffer) + offset, length);
        } else if (buffer.hasArray()) {
            MEMORY.copyMemory(address, buffer.array(), BYTE_ARRAY_BASE + buffer.arrayOffset() + offset, length);
        } else {
            throw new CoreException(CoreError.READ_ONLY, "buffer is read-only");
        }
    }

    /** Copies {@code length} bytes from {@code buffer} at {@code offset} to native {@code address}. */
    public static void copyFromBuffer(ByteBuffer buffer, int offset, long address, int length) {
        if (buffer.isDirect()) {
            MEMORY.copyMemory(Jvm.address(buffer) + offset, address, length);
        } else if (buffer.hasArray()) {
            MEMORY.copyMemory(buffer.array(), BYTE_ARRAY_BASE + buffer.arrayOffset() + offset, address, length);
        } else {
            // read-only heap buffer: no array access, copy through a duplicate
            ByteBuffer view = buffer.duplicate().limit(offset + length).position(offset);
            for (int i = 0; i < length; i++) {
                MEMORY.writeByte(address + i, view.get());
            }
        }
    }

    /** Copies between two native addresses. */
    public static void copy(long fromAddress, long toAddress, long length) {
        MEMORY.copyMemory(fromAddress, toAddress, length);
    }

    /** Sets {@code length} bytes at {@code address} to zero. */
    public static void zero(long address, long length) {
        MEMORY.setMemory(address, length, (byte) 0);
    }

    /** Sets bytes {@code [offset, offset + length)} of {@code buffer} (direct or heap) to zero. */
    public static void zero(ByteBuffer buffer, int offset, int length) {
        if (buffer.isDirect()) {
            MEMORY.setMemory(Jvm.address(buffer) + offset, length, (byte) 0);
        } else if (buffer.hasArray()) {
            java.util.Arrays.fill(buffer.array(), buffer.arrayOffset() + offset,
                    buffer.arrayOffset() + offset + length, (byte) 0);
        } else {
            throw new CoreException(CoreError.READ_ONLY, "buffer is read-only");
        }
    }

    /**
     * Whether bytes {@code [offset, offset + length)} of {@code buffer} (direct or heap) are all zero.
     * Reads 64 bytes a step in the machine's order (no byte swapping: only zero or not matters), which
     * is what a cold command's C1 code needs: {@code ByteBuffer.getLong} there byte-swaps each long of a
     * big-endian buffer in a call of its own, 1.4 GB/s against 19-29 GB/s for this loop (C2: 8.6 against
     * 17-41 GB/s; docs/benchmarks.md, "#21, thirteenth session").
     */
    public static boolean isZero(ByteBuffer buffer, int offset, int length) {
        if (buffer.isDirect()) {
            return isZero(null, Jvm.address(buffer) + offset, length);
        }
        if (buffer.hasArray()) {
            return isZero(buffer.array(), BYTE_ARRAY_BASE + buffer.arrayOffset() + offset, length);
        }
        for (int i = offset; i < offset + length; i++) { // a read-only heap buffer
            if (buffer.get(i) != 0) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@code length} bytes at native {@code address} are all zero. */
    public static boolean isZero(long address, long length) {
        return isZero(null, address, length);
    }

    private static boolean isZero(Object base, long offset, long length) {
        long i = 0;
        for (; i + 64 <= length; i += 64) {
            long o = offset + i;
            long or = MEMORY.readLong(base, o) | MEMORY.readLong(base, o + 8) | MEMORY.readLong(base, o + 16)
                    | MEMORY.readLong(base, o + 24) | MEMORY.readLong(base, o + 32) | MEMORY.readLong(base, o + 40)
                    | MEMORY.readLong(base, o + 48) | MEMORY.readLong(base, o + 56);
            if (or != 0) {
                return false;
            }
        }
        for (; i + 8 <= length; i += 8) {
            if (MEMORY.readLong(base, offset + i) != 0) {
                return false;
            }
        }
        for (; i < length; i++) {
            if (MEMORY.readByte(base, offset + i) != 0) {
                return false;
            }
        }
        return true;
    }

    /** A direct buffer of {@code capacity} bytes whose address is a multiple of {@code alignment} (a power of two). */
    public static ByteBuffer allocateAligned(int capacity, int alignment) {
        if (alignment <= 0 || Integer.bitCount(alignment) != 1 || capacity < 0) {
            throw new CoreException(CoreError.INVALID_ARGUMENT,
                    "aligned buffer of " + capacity + " bytes at alignment " + alignment + " is not valid");
        }
        // alignedSlice rounds both ends inward: over-allocate so the aligned part still holds capacity bytes
        int roundedCapacity = (capacity + alignment - 1) & -alignment;
        ByteBuffer aligned = ByteBuffer.allocateDirect(roundedCapacity + alignment).alignedSlice(alignment);
        return aligned.limit(capacity).slice();
    }
}
