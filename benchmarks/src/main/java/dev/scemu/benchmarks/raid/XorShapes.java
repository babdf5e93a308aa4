package dev.scemu.benchmarks.raid;

import java.nio.ByteBuffer;
import net.openhft.chronicle.core.UnsafeMemory;

/** One-pass 4-source XOR loop shapes compared by {@link InterleavedRatios} ({@code -Dscemu.xor.shapes=true}). */
final class XorShapes {

    private static final sun.misc.Unsafe U = UnsafeMemory.UNSAFE;

    private XorShapes() {
    }

    /** Off-heap only: {@code Unsafe.getLong(long address)}, no base object, C2 sees raw memory. */
    static void addressOnly4(long p, long a, long b, long c, long d, int length) {
        for (long i = 0; i < length; i += 32) {
            long w0 = U.getLong(a + i) ^ U.getLong(b + i) ^ U.getLong(c + i) ^ U.getLong(d + i);
            long w1 = U.getLong(a + i + 8) ^ U.getLong(b + i + 8) ^ U.getLong(c + i + 8) ^ U.getLong(d + i + 8);
            long w2 = U.getLong(a + i + 16) ^ U.getLong(b + i + 16) ^ U.getLong(c + i + 16) ^ U.getLong(d + i + 16);
            long w3 = U.getLong(a + i + 24) ^ U.getLong(b + i + 24) ^ U.getLong(c + i + 24) ^ U.getLong(d + i + 24);
            U.putLong(p + i, w0);
            U.putLong(p + i + 8, w1);
            U.putLong(p + i + 16, w2);
            U.putLong(p + i + 24, w3);
        }
    }

    static void addressOnly8(long p, long a, long b, long c, long d, int length) {
        for (long i = 0; i < length; i += 64) {
            for (int k = 0; k < 64; k += 8) {
                long o = i + k;
                U.putLong(p + o, U.getLong(a + o) ^ U.getLong(b + o) ^ U.getLong(c + o) ^ U.getLong(d + o));
            }
        }
    }

    /** Heap or off-heap: {@code Unsafe.getLong(Object, long)} with a base object unknown to C2. */
    static void objectBase4(Object po, long p, Object ao, long a, Object bo, long b, Object co, long c, Object d0,
                            long d, int length) {
        for (int i = 0; i <= length - 32; i += 32) {
            for (int k = 0; k < 32; k += 8) {
                int o = i + k;
                U.putLong(po, p + o, U.getLong(ao, a + o) ^ U.getLong(bo, b + o) ^ U.getLong(co, c + o)
                        ^ U.getLong(d0, d + o));
            }
        }
    }

    static void byteBuffer4(ByteBuffer p, ByteBuffer a, ByteBuffer b, ByteBuffer c, ByteBuffer d, int length) {
        for (int i = 0; i <= length - 32; i += 32) {
            for (int o = i; o < i + 32; o += 8) {
                p.putLong(o, a.getLong(o) ^ b.getLong(o) ^ c.getLong(o) ^ d.getLong(o));
            }
        }
    }
}
