package dev.scemu.benchmarks.raid;

import java.nio.ByteBuffer;
import net.openhft.chronicle.core.Jvm;
import net.openhft.chronicle.core.UnsafeMemory;

/**
 * The raid module's {@code Xor.xorInto} loop as it was before the one-pass kernels (commit 21d5512),
 * kept verbatim for direct buffers so benchmarks can show before and after in the same run: parity
 * was {@code copy} of the first source plus one read-modify-write pass per further source.
 */
final class LegacyXor {

    private static final sun.misc.Unsafe UNSAFE = UnsafeMemory.UNSAFE;

    private LegacyXor() {
    }

    /** {@code dst = s[0] ^ s[1] ^ ...}, pairwise: copy then xorInto per source (the old RAID-5 shape). */
    static void parity(ByteBuffer dst, ByteBuffer[] sources, int length) {
        UNSAFE.copyMemory(Jvm.address(sources[0]), Jvm.address(dst), length);
        for (int i = 1; i < sources.length; i++) {
            xorInto(dst, sources[i], length);
        }
    }

    static void xorInto(ByteBuffer dst, ByteBuffer src, int length) {
        Object d = null;
        long dOff = Jvm.address(dst);
        Object s = null;
        long sOff = Jvm.address(src);
        int i = 0;
        for (; i + 32 <= length; i += 32) {
            long a0 = UNSAFE.getLong(s, sOff + i);
            long a1 = UNSAFE.getLong(s, sOff + i + 8);
            long a2 = UNSAFE.getLong(s, sOff + i + 16);
            long a3 = UNSAFE.getLong(s, sOff + i + 24);
            UNSAFE.putLong(d, dOff + i, UNSAFE.getLong(d, dOff + i) ^ a0);
            UNSAFE.putLong(d, dOff + i + 8, UNSAFE.getLong(d, dOff + i + 8) ^ a1);
            UNSAFE.putLong(d, dOff + i + 16, UNSAFE.getLong(d, dOff + i + 16) ^ a2);
            UNSAFE.putLong(d, dOff + i + 24, UNSAFE.getLong(d, dOff + i + 24) ^ a3);
        }
        for (; i + 8 <= length; i += 8) {
            UNSAFE.putLong(d, dOff + i, UNSAFE.getLong(d, dOff + i) ^ UNSAFE.getLong(s, sOff + i));
        }
        for (; i < length; i++) {
            UNSAFE.putByte(d, dOff + i, (byte) (UNSAFE.getByte(d, dOff + i) ^ UNSAFE.getByte(s, sOff + i)));
        }
    }
}
