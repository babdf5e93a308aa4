package dev.scemu.raid.internal;

import java.nio.ByteBuffer;
import net.openhft.chronicle.core.Jvm;
import net.openhft.chronicle.core.UnsafeMemory;

/**
 * Parity arithmetic: XOR and copy between buffers addressed absolutely (positions and limits are
 * ignored and not changed). Direct buffers are accessed through their native address, heap buffers
 * through their array, both with {@code sun.misc.Unsafe} (base object + offset), so callers' buffers
 * are used as they are: no native-order views, no allocation.
 *
 * <h2>Loop shape, and why</h2>
 * Every kernel computes {@code dst = s0 ^ s1 [^ s2 [^ s3]]} in <em>one pass</em>: per 8-byte word it
 * loads each source once and stores the parity once, four words per iteration. Parity of a RAID-5
 * row is one {@link #xor(ByteBuffer, int, ByteBuffer[], int[], int, int)} call instead of a copy
 * plus pairwise {@code xorInto} passes, which re-read and re-write the parity buffer once per
 * source (for 4 sources: 11 buffer passes of memory traffic instead of 5). More than 4 sources
 * are folded in groups of 3 with the parity itself as the first source.
 *
 * <p>When every buffer is direct (the RAID-5 case: pooled chunks and member I/O buffers) the
 * kernels take plain native addresses ({@code Unsafe.getLong(long)}); with any heap buffer they take
 * base object + offset. Measured interleaved (two runs), the base/offset kernels on direct buffers
 * ran at 0.86-0.91x of an address-only loop of the same shape; with the direct kernels 0.97-1.10x.
 *
 * <p>Why scalar {@code long} words through Unsafe: C2 does not auto-vectorize loops over Unsafe or
 * {@code ByteBuffer} accessors, absolute {@code ByteBuffer.getLong/putLong} loops ran at 0.15-0.5x
 * of this one, and on JDK 25 {@code MemorySegment} long loops were slow (PERFORMANCE.md). The Vector
 * API cannot read a direct {@code ByteBuffer} with one source on both JDKs ({@code fromByteBuffer}
 * on 17, only {@code fromMemorySegment} on 25, and {@code --release 17} cannot compile against the
 * incubator module); measured, it was no faster than this loop on JDK 17 and ~1.3x (noisy) on 25.
 * The cost of staying scalar is in cache: gcc's AVX-512 loop moves 64 bytes per load where this
 * moves 8, and was ~2x faster on 4 x 256 KiB; out of cache both are bound by memory bandwidth
 * (0.8-0.85x of C). See docs/benchmarks.md "RAID-5 parity XOR (tuned)", {@code XorKernelBenchmark}
 * and {@code InterleavedRatios} in the benchmarks module.
 *
 * <h2>Kernels</h2>
 * Each XOR entry point has an overload taking a {@link XorKernel}; the others use
 * {@link XorKernel#selected()} (ISA-L's {@code xor_gen} when {@code libisal} loads, else the Java
 * loops below; system property {@code scemu.xor=auto|java|isal}). Under ISA-L, a call all of whose
 * buffers are direct, 32-byte aligned and at least {@link IsalXor#MIN_LENGTH} long is one native call
 * over all sources (any count, no folding); every other call runs the Java loops. {@code copy},
 * {@code zero} and {@code equal} are the same for every kernel.
 *
 * <p>Aliasing: a source may be the destination at the same offset (each word is read before it is
 * written), in the array form one of the first four sources (later groups are folded into the
 * destination, so they must not be it); other overlaps are not supported.
 */
public final class Xor {

    private static final sun.misc.Unsafe U = UnsafeMemory.UNSAFE;
    private static final long BYTE_ARRAY_BASE = U.arrayBaseOffset(byte[].class);
    private static final XorKernel KERNEL = XorKernel.selected();

    private Xor() {
    }

    private static boolean accessible(ByteBuffer buffer) {
        return buffer.isDirect() || buffer.hasArray();
    }

    /** Unsafe base object: null for a direct buffer (absolute address), the array for a heap buffer. */
    private static Object base(ByteBuffer buffer) {
        if (buffer.isDirect()) {
            return null;
        }
        if (!buffer.hasArray()) {
            throw new IllegalArgumentException("read-only heap buffer has no accessible array");
        }
        return buffer.array();
    }

    /** Unsafe offset of byte {@code index}, bounds-checked against the buffer's capacity. */
    private static long offset(ByteBuffer buffer, int index, int length) {
        if (index < 0 || length < 0 || index > buffer.capacity() - length) {
            throw new IndexOutOfBoundsException("range [" + index + ", +" + length + ") outside capacity "
                    + buffer.capacity());
        }
        return buffer.isDirect() ? Jvm.address(buffer) + index : BYTE_ARRAY_BASE + buffer.arrayOffset() + index;
    }

    /** The kernel the entry points without a kernel argument use ({@link XorKernel#selected()}). */
    public static XorKernel kernel() {
        return KERNEL;
    }

    /** {@code dst[dstOffset..+length) ^= src[srcOffset..+length)}. */
    public static void xorInto(ByteBuffer dst, int dstOffset, ByteBuffer src, int srcOffset, int length) {
        xor(KERNEL, dst, dstOffset, dst, dstOffset, src, srcOffset, length);
    }

    /** {@link #xorInto} with the given kernel (tests and benchmarks; it must be {@link XorKernel#available()}). */
    public static void xorInto(XorKernel kernel, ByteBuffer dst, int dstOffset, ByteBuffer src, int srcOffset,
                               int length) {
        xor(kernel, dst, dstOffset, dst, dstOffset, src, srcOffset, length);
    }

    /** {@code dst[dstOffset..+length) = a[aOffset..] ^ b[bOffset..]}, one pass. */
    public static void xor(ByteBuffer dst, int dstOffset, ByteBuffer a, int aOffset, ByteBuffer b, int bOffset,
                           int length) {
        xor(KERNEL, dst, dstOffset, a, aOffset, b, bOffset, length);
    }

    /** The 2-source {@link #xor} with the given kernel. */
    public static void xor(XorKernel kernel, ByteBuffer dst, int dstOffset, ByteBuffer a, int aOffset, ByteBuffer b,
                           int bOffset, int length) {
        if (!accessible(a) || !accessible(b)) {
            for (int i = 0; i < length; i++) {
                dst.put(dstOffset + i, (byte) (a.get(aOffset + i) ^ b.get(bOffset + i)));
            }
            return;
        }
        Object bd = base(dst);
        long d = offset(dst, dstOffset, length);
        Object ba = base(a);
        long ao = offset(a, aOffset, length);
        Object bb = base(b);
        long bo = offset(b, bOffset, length);
        if (kernel == XorKernel.ISAL && bd == null && ba == null && bb == null
                && nativeTakes(d | ao | bo, length)) {
            IsalXor.xor2(d, ao, bo, length);
            return;
        }
        xor2(bd, d, ba, ao, bb, bo, length);
    }

    /** {@code dst[dstOffset..+length) = a[aOffset..] ^ b[bOffset..] ^ c[cOffset..]}, one pass. */
    public static void xor(ByteBuffer dst, int dstOffset, ByteBuffer a, int aOffset, ByteBuffer b, int bOffset,
                           ByteBuffer c, int cOffset, int length) {
        xor(KERNEL, dst, dstOffset, a, aOffset, b, bOffset, c, cOffset, length);
    }

    /** The 3-source {@link #xor} with the given kernel. */
    public static void xor(XorKernel kernel, ByteBuffer dst, int dstOffset, ByteBuffer a, int aOffset, ByteBuffer b,
                           int bOffset, ByteBuffer c, int cOffset, int length) {
        if (!accessible(a) || !accessible(b) || !accessible(c)) {
            for (int i = 0; i < length; i++) {
                dst.put(dstOffset + i, (byte) (a.get(aOffset + i) ^ b.get(bOffset + i) ^ c.get(cOffset + i)));
            }
            return;
        }
        Object bd = base(dst);
        long d = offset(dst, dstOffset, length);
        Object ba = base(a);
        long ao = offset(a, aOffset, length);
        Object bb = base(b);
        long bo = offset(b, bOffset, length);
        Object bc = base(c);
        long co = offset(c, cOffset, length);
        if (kernel == XorKernel.ISAL && bd == null && ba == null && bb == null && bc == null
                && nativeTakes(d | ao | bo | co, length)) {
            IsalXor.xor3(d, ao, bo, co, length);
            return;
        }
        xor3(bd, d, ba, ao, bb, bo, bc, co, length);
    }

    /**
     * Whether ISA-L takes a call whose (bounds-checked, all native) addresses OR to
     * {@code addressBits}; throws if ISA-L was asked for but is not loaded.
     */
    private static boolean nativeTakes(long addressBits, int length) {
        if (!IsalXor.available()) {
            throw new IllegalStateException("XOR kernel isal requested but ISA-L is not loadable",
                    IsalXor.loadFailure());
        }
        return IsalXor.supports(addressBits, length);
    }

    /**
     * One xor_gen call over all sources when every buffer is direct, aligned and the length long
     * enough; false (nothing written) otherwise. Bounds are checked before anything is written.
     */
    private static boolean nativeXor(long dst, ByteBuffer[] sources, int[] offsets, int count, int length) {
        if (!nativeTakes(dst, length)) {
            return false;
        }
        long table = IsalXor.table(count + 1);
        long bits = dst;
        for (int i = 0; i < count; i++) {
            ByteBuffer s = sources[i];
            if (!s.isDirect()) {
                return false;
            }
            long address = offset(s, offsets[i], length);
            bits |= address;
            IsalXor.put(table, i, address);
        }
        if (!IsalXor.supports(bits, length)) {
            return false;
        }
        IsalXor.put(table, count, dst);
        IsalXor.gen(count + 1, length, table);
        return true;
    }

    /**
     * {@code dst[dstOffset..+length) = sources[0][offsets[0]..] ^ ... ^ sources[count-1][offsets[count-1]..]}
     * in one pass for up to 4 sources (then in groups of 3 more, folded into {@code dst}). Allocates
     * nothing; {@code sources} and {@code offsets} may be longer than {@code count} (reusable scratch).
     */
    public static void xor(ByteBuffer dst, int dstOffset, ByteBuffer[] sources, int[] offsets, int count,
                           int length) {
        xor(KERNEL, dst, dstOffset, sources, offsets, count, length);
    }

    /** The multi-source {@link #xor} with the given kernel. */
    public static void xor(XorKernel kernel, ByteBuffer dst, int dstOffset, ByteBuffer[] sources, int[] offsets,
                           int count, int length) {
        if (count <= 0) {
            zero(dst, dstOffset, length);
            return;
        }
        for (int i = 0; i < count; i++) {
            if (!accessible(sources[i])) {
                xorByteWise(dst, dstOffset, sources, offsets, count, length);
                return;
            }
        }
        xorAt(kernel, base(dst), offset(dst, dstOffset, length), sources, offsets, count, length);
    }

    /**
     * The multi-source {@link #xor} into native memory at {@code dst} instead of a buffer: parity
     * computed straight into a member's storage ({@code dev.scemu.core.BlockFill}). The caller
     * guarantees that {@code [dst, dst + length)} is writable memory it owns for the call and that
     * it overlaps no source (unlike the buffer form, no source may be the destination).
     */
    public static void xorToAddress(long dst, ByteBuffer[] sources, int[] offsets, int count, int length) {
        xorToAddress(KERNEL, dst, sources, offsets, count, length);
    }

    /** {@link #xorToAddress} with the given kernel. */
    public static void xorToAddress(XorKernel kernel, long dst, ByteBuffer[] sources, int[] offsets, int count,
                                    int length) {
        if (length < 0) {
            throw new IndexOutOfBoundsException("negative length " + length);
        }
        if (count <= 0) {
            U.setMemory(dst, length, (byte) 0);
            return;
        }
        boolean accessible = true;
        for (int i = 0; i < count; i++) {
            // every bound is checked before the first byte is written
            if (offsets[i] < 0 || offsets[i] > sources[i].capacity() - length) {
                throw new IndexOutOfBoundsException("source " + i + ": range [" + offsets[i] + ", +" + length
                        + ") outside capacity " + sources[i].capacity());
            }
            accessible &= accessible(sources[i]);
        }
        if (!accessible) {
            for (int k = 0; k < length; k++) {
                int x = 0;
                for (int j = 0; j < count; j++) {
                    x ^= sources[j].get(offsets[j] + k);
                }
                U.putByte(dst + k, (byte) x);
            }
            return;
        }
        xorAt(kernel, null, dst, sources, offsets, count, length);
    }

    /** The multi-source kernel on a destination given as Unsafe base + offset (sources accessible). */
    private static void xorAt(XorKernel kernel, Object d, long dOff, ByteBuffer[] sources, int[] offsets, int count,
                              int length) {
        if (kernel == XorKernel.ISAL && count >= 2 && d == null && nativeXor(dOff, sources, offsets, count, length)) {
            return;
        }
        int i = Math.min(count, 4);
        switch (i) {
            case 1 -> U.copyMemory(base(sources[0]), offset(sources[0], offsets[0], length), d, dOff, length);
            case 2 -> xor2(d, dOff, base(sources[0]), offset(sources[0], offsets[0], length),
                    base(sources[1]), offset(sources[1], offsets[1], length), length);
            case 3 -> xor3(d, dOff, base(sources[0]), offset(sources[0], offsets[0], length),
                    base(sources[1]), offset(sources[1], offsets[1], length),
                    base(sources[2]), offset(sources[2], offsets[2], length), length);
            default -> xor4(d, dOff, base(sources[0]), offset(sources[0], offsets[0], length),
                    base(sources[1]), offset(sources[1], offsets[1], length),
                    base(sources[2]), offset(sources[2], offsets[2], length),
                    base(sources[3]), offset(sources[3], offsets[3], length), length);
        }
        for (; i < count; i += 3) {
            switch (Math.min(3, count - i)) {
                case 1 -> xor2(d, dOff, d, dOff, base(sources[i]), offset(sources[i], offsets[i], length), length);
                case 2 -> xor3(d, dOff, d, dOff, base(sources[i]), offset(sources[i], offsets[i], length),
                        base(sources[i + 1]), offset(sources[i + 1], offsets[i + 1], length), length);
                default -> xor4(d, dOff, d, dOff, base(sources[i]), offset(sources[i], offsets[i], length),
                        base(sources[i + 1]), offset(sources[i + 1], offsets[i + 1], length),
                        base(sources[i + 2]), offset(sources[i + 2], offsets[i + 2], length), length);
            }
        }
    }

    private static void xorByteWise(ByteBuffer dst, int dstOffset, ByteBuffer[] sources, int[] offsets, int count,
                                    int length) {
        for (int k = 0; k < length; k++) {
            int x = 0;
            for (int i = 0; i < count; i++) {
                x ^= sources[i].get(offsets[i] + k);
            }
            dst.put(dstOffset + k, (byte) x);
        }
    }


    // Dispatch: all bases null (every buffer direct, the RAID-5 case) -> address-only kernels, on
    // which C2 sees plain native memory; otherwise the base+offset kernels (heap buffers).

    private static void xor2(Object d, long dOff, Object a, long aOff, Object b, long bOff, int length) {
        if (d == null && a == null && b == null) {
            xor2Direct(dOff, aOff, bOff, length);
        } else {
            xor2Heap(d, dOff, a, aOff, b, bOff, length);
        }
    }

    private static void xor3(Object d, long dOff, Object a, long aOff, Object b, long bOff, Object c, long cOff,
                             int length) {
        if (d == null && a == null && b == null && c == null) {
            xor3Direct(dOff, aOff, bOff, cOff, length);
        } else {
            xor3Heap(d, dOff, a, aOff, b, bOff, c, cOff, length);
        }
    }

    private static void xor4(Object d, long dOff, Object a, long aOff, Object b, long bOff, Object c, long cOff,
                             Object e, long eOff, int length) {
        if (d == null && a == null && b == null && c == null && e == null) {
            xor4Direct(dOff, aOff, bOff, cOff, eOff, length);
        } else {
            xor4Heap(d, dOff, a, aOff, b, bOff, c, cOff, e, eOff, length);
        }
    }

    // Address-only kernels (native addresses), long index: 4 words per iteration, then words, bytes.

    private static void xor2Direct(long d, long a, long b, int length) {
        long n = length;
        long i = 0;
        for (; i <= n - 32; i += 32) {
            long w0 = U.getLong(a + i) ^ U.getLong(b + i);
            long w1 = U.getLong(a + i + 8) ^ U.getLong(b + i + 8);
            long w2 = U.getLong(a + i + 16) ^ U.getLong(b + i + 16);
            long w3 = U.getLong(a + i + 24) ^ U.getLong(b + i + 24);
            U.putLong(d + i, w0);
            U.putLong(d + i + 8, w1);
            U.putLong(d + i + 16, w2);
            U.putLong(d + i + 24, w3);
        }
        for (; i <= n - 8; i += 8) {
            U.putLong(d + i, U.getLong(a + i) ^ U.getLong(b + i));
        }
        for (; i < n; i++) {
            U.putByte(d + i, (byte) (U.getByte(a + i) ^ U.getByte(b + i)));
        }
    }

    private static void xor3Direct(long d, long a, long b, long c, int length) {
        long n = length;
        long i = 0;
        for (; i <= n - 32; i += 32) {
            long w0 = U.getLong(a + i) ^ U.getLong(b + i) ^ U.getLong(c + i);
            long w1 = U.getLong(a + i + 8) ^ U.getLong(b + i + 8) ^ U.getLong(c + i + 8);
            long w2 = U.getLong(a + i + 16) ^ U.getLong(b + i + 16) ^ U.getLong(c + i + 16);
            long w3 = U.getLong(a + i + 24) ^ U.getLong(b + i + 24) ^ U.getLong(c + i + 24);
            U.putLong(d + i, w0);
            U.putLong(d + i + 8, w1);
            U.putLong(d + i + 16, w2);
            U.putLong(d + i + 24, w3);
        }
        for (; i <= n - 8; i += 8) {
            U.putLong(d + i, U.getLong(a + i) ^ U.getLong(b + i) ^ U.getLong(c + i));
        }
        for (; i < n; i++) {
            U.putByte(d + i, (byte) (U.getByte(a + i) ^ U.getByte(b + i) ^ U.getByte(c + i)));
        }
    }

    private static void xor4Direct(long d, long a, long b, long c, long e, int length) {
        long n = length;
        long i = 0;
        for (; i <= n - 32; i += 32) {
            long w0 = U.getLong(a + i) ^ U.getLong(b + i) ^ U.getLong(c + i) ^ U.getLong(e + i);
            long w1 = U.getLong(a + i + 8) ^ U.getLong(b + i + 8) ^ U.getLong(c + i + 8) ^ U.getLong(e + i + 8);
            long w2 = U.getLong(a + i + 16) ^ U.getLong(b + i + 16) ^ U.getLong(c + i + 16) ^ U.getLong(e + i + 16);
            long w3 = U.getLong(a + i + 24) ^ U.getLong(b + i + 24) ^ U.getLong(c + i + 24) ^ U.getLong(e + i + 24);
            U.putLong(d + i, w0);
            U.putLong(d + i + 8, w1);
            U.putLong(d + i + 16, w2);
            U.putLong(d + i + 24, w3);
        }
        for (; i <= n - 8; i += 8) {
            U.putLong(d + i, U.getLong(a + i) ^ U.getLong(b + i) ^ U.getLong(c + i) ^ U.getLong(e + i));
        }
        for (; i < n; i++) {
            U.putByte(d + i, (byte) (U.getByte(a + i) ^ U.getByte(b + i) ^ U.getByte(c + i) ^ U.getByte(e + i)));
        }
    }

    // Base+offset kernels (any buffer on the heap): same shape.

    private static void xor2Heap(Object d, long dOff, Object a, long aOff, Object b, long bOff, int length) {
        int i = 0;
        for (; i <= length - 32; i += 32) {
            long w0 = U.getLong(a, aOff + i) ^ U.getLong(b, bOff + i);
            long w1 = U.getLong(a, aOff + i + 8) ^ U.getLong(b, bOff + i + 8);
            long w2 = U.getLong(a, aOff + i + 16) ^ U.getLong(b, bOff + i + 16);
            long w3 = U.getLong(a, aOff + i + 24) ^ U.getLong(b, bOff + i + 24);
            U.putLong(d, dOff + i, w0);
            U.putLong(d, dOff + i + 8, w1);
            U.putLong(d, dOff + i + 16, w2);
            U.putLong(d, dOff + i + 24, w3);
        }
        for (; i <= length - 8; i += 8) {
            U.putLong(d, dOff + i, U.getLong(a, aOff + i) ^ U.getLong(b, bOff + i));
        }
        for (; i < length; i++) {
            U.putByte(d, dOff + i, (byte) (U.getByte(a, aOff + i) ^ U.getByte(b, bOff + i)));
        }
    }

    private static void xor3Heap(Object d, long dOff, Object a, long aOff, Object b, long bOff, Object c, long cOff,
                             int length) {
        int i = 0;
        for (; i <= length - 32; i += 32) {
            long w0 = U.getLong(a, aOff + i) ^ U.getLong(b, bOff + i) ^ U.getLong(c, cOff + i);
            long w1 = U.getLong(a, aOff + i + 8) ^ U.getLong(b, bOff + i + 8) ^ U.getLong(c, cOff + i + 8);
            long w2 = U.getLong(a, aOff + i + 16) ^ U.getLong(b, bOff + i + 16) ^ U.getLong(c, cOff + i + 16);
            long w3 = U.getLong(a, aOff + i + 24) ^ U.getLong(b, bOff + i + 24) ^ U.getLong(c, cOff + i + 24);
            U.putLong(d, dOff + i, w0);
            U.putLong(d, dOff + i + 8, w1);
            U.putLong(d, dOff + i + 16, w2);
            U.putLong(d, dOff + i + 24, w3);
        }
        for (; i <= length - 8; i += 8) {
            U.putLong(d, dOff + i, U.getLong(a, aOff + i) ^ U.getLong(b, bOff + i) ^ U.getLong(c, cOff + i));
        }
        for (; i < length; i++) {
            U.putByte(d, dOff + i, (byte) (U.getByte(a, aOff + i) ^ U.getByte(b, bOff + i) ^ U.getByte(c, cOff + i)));
        }
    }

    private static void xor4Heap(Object d, long dOff, Object a, long aOff, Object b, long bOff, Object c, long cOff,
                             Object e, long eOff, int length) {
        int i = 0;
        for (; i <= length - 32; i += 32) {
            long w0 = U.getLong(a, aOff + i) ^ U.getLong(b, bOff + i) ^ U.getLong(c, cOff + i)
                    ^ U.getLong(e, eOff + i);
            long w1 = U.getLong(a, aOff + i + 8) ^ U.getLong(b, bOff + i + 8) ^ U.getLong(c, cOff + i + 8)
                    ^ U.getLong(e, eOff + i + 8);
            long w2 = U.getLong(a, aOff + i + 16) ^ U.getLong(b, bOff + i + 16) ^ U.getLong(c, cOff + i + 16)
                    ^ U.getLong(e, eOff + i + 16);
            long w3 = U.getLong(a, aOff + i + 24) ^ U.getLong(b, bOff + i + 24) ^ U.getLong(c, cOff + i + 24)
                    ^ U.getLong(e, eOff + i + 24);
            U.putLong(d, dOff + i, w0);
            U.putLong(d, dOff + i + 8, w1);
            U.putLong(d, dOff + i + 16, w2);
            U.putLong(d, dOff + i + 24, w3);
        }
        for (; i <= length - 8; i += 8) {
            U.putLong(d, dOff + i, U.getLong(a, aOff + i) ^ U.getLong(b, bOff + i) ^ U.getLong(c, cOff + i)
                    ^ U.getLong(e, eOff + i));
        }
        for (; i < length; i++) {
            U.putByte(d, dOff + i, (byte) (U.getByte(a, aOff + i) ^ U.getByte(b, bOff + i) ^ U.getByte(c, cOff + i)
                    ^ U.getByte(e, eOff + i)));
        }
    }

    /** {@code dst[dstOffset..+length) = src[srcOffset..+length)}. */
    public static void copy(ByteBuffer dst, int dstOffset, ByteBuffer src, int srcOffset, int length) {
        if (!accessible(src)) {
            for (int i = 0; i < length; i++) {
                dst.put(dstOffset + i, src.get(srcOffset + i));
            }
            return;
        }
        U.copyMemory(base(src), offset(src, srcOffset, length), base(dst), offset(dst, dstOffset, length), length);
    }

    /** Sets {@code length} bytes to zero. */
    public static void zero(ByteBuffer dst, int dstOffset, int length) {
        U.setMemory(base(dst), offset(dst, dstOffset, length), length, (byte) 0);
    }

    /** Whether the two ranges hold the same bytes. */
    public static boolean equal(ByteBuffer a, int aOffset, ByteBuffer b, int bOffset, int length) {
        return a.slice(aOffset, length).mismatch(b.slice(bOffset, length)) < 0;
    }
}
