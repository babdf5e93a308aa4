package dev.scemu.core.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Absolute little-endian reads and writes on a {@link ByteBuffer} of any byte order, without
 * touching its position, limit or order and without allocating. Callers check ranges.
 */
public final class LittleEndian {

    private LittleEndian() {
    }

    private static boolean little(ByteBuffer buffer) {
        return buffer.order() == ByteOrder.LITTLE_ENDIAN;
    }

    public static int getU8(ByteBuffer buffer, int index) {
        return buffer.get(index) & 0xFF;
    }

    public static int getU16(ByteBuffer buffer, int index) {
        short v = buffer.getShort(index);
        return (little(buffer) ? v : Short.reverseBytes(v)) & 0xFFFF;
    }

    public static int getI32(ByteBuffer buffer, int index) {
        int v = buffer.getInt(index);
        return little(buffer) ? v : Integer.reverseBytes(v);
    }

    public static long getU32(ByteBuffer buffer, int index) {
        return Integer.toUnsignedLong(getI32(buffer, index));
    }

    public static long getI64(ByteBuffer buffer, int index) {
        long v = buffer.getLong(index);
        return little(buffer) ? v : Long.reverseBytes(v);
    }

    public static void putU8(ByteBuffer buffer, int index, int value) {
        buffer.put(index, (byte) value);
    }

    public static void putU16(ByteBuffer buffer, int index, int value) {
        short v = (short) value;
        buffer.putShort(index, little(buffer) ? v : Short.reverseBytes(v));
    }

    public static void putI32(ByteBuffer buffer, int index, int value) {
        buffer.putInt(index, little(buffer) ? value : Integer.reverseBytes(value));
    }

    public static void putI64(ByteBuffer buffer, int index, long value) {
        buffer.putLong(index, little(buffer) ? value : Long.reverseBytes(value));
    }
}
