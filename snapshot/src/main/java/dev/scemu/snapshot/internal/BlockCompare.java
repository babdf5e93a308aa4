package dev.scemu.snapshot.internal;

import com.sun.jna.Native;
import com.sun.jna.Platform;
import dev.scemu.core.NativeMemory;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * The diff compare: whether two byte ranges are equal (the write path's "did this block change?"
 * and "is this run an identical rewrite?"). Public only for the benchmarks (package is not API).
 *
 * <p>Two kernels, chosen per call:
 * <ul>
 *   <li>{@code ByteBuffer.mismatch} (the JDK's vectorized intrinsic) below
 *       {@link #NATIVE_MIN_BYTES} or on heap buffers;</li>
 *   <li>libc {@code memcmp} through JNA direct mapping ({@link Native#register}, addresses passed
 *       as {@code long}, nothing copied) from {@link #NATIVE_MIN_BYTES} up, on direct buffers, when
 *       libc binds (64-bit Linux). glibc's {@code memcmp} compares several vectors per iteration
 *       where the JDK 17 intrinsic compares one, so on long ranges it is faster; a JNA call costs
 *       ~100 ns, so on a 4 KiB block the intrinsic wins. The threshold and both ratios are
 *       measured by {@code benchmarks}' {@code CompareBenchmark} (docs/benchmarks.md).</li>
 * </ul>
 * {@code -Dscemu.compare=java} forces the intrinsic everywhere. Bounds are checked before the
 * native call (a bad range throws {@link IndexOutOfBoundsException}, never reads outside).
 */
public final class BlockCompare {

    /** Shortest range compared by native {@code memcmp}. */
    public static final int NATIVE_MIN_BYTES = 16 * 1024;

    private static final boolean NATIVE = bindNative();

    private BlockCompare() {
    }

    private static boolean bindNative() {
        if (!"auto".equals(System.getProperty("scemu.compare", "auto"))) {
            return false;
        }
        try {
            if (!Platform.isLinux() || !Platform.is64Bit()) {
                return false;
            }
            Native.register(BlockCompare.class, Platform.C_LIBRARY_NAME);
            return true;
        } catch (Throwable t) {
            return false;
        }
    }

    /** {@code int memcmp(const void *a, const void *b, size_t n)}. */
    private static native int memcmp(long a, long b, long n);

    /** Whether native {@code memcmp} serves long ranges in this JVM. */
    public static boolean nativeAvailable() {
        return NATIVE;
    }

    /**
     * Whether {@code a[aOffset, +length)} equals {@code b[bOffset, +length)}. {@code a} and
     * {@code b} are scratch views: their position and limit may change.
     */
    public static boolean equal(ByteBuffer a, int aOffset, ByteBuffer b, int bOffset, int length) {
        if (length >= NATIVE_MIN_BYTES && NATIVE && a.isDirect() && b.isDirect()) {
            Objects.checkFromIndexSize(aOffset, length, a.capacity());
            Objects.checkFromIndexSize(bOffset, length, b.capacity());
            return memcmp(NativeMemory.address(a) + aOffset, NativeMemory.address(b) + bOffset, length) == 0;
        }
        return mismatchEqual(a, aOffset, b, bOffset, length);
    }

    /** The intrinsic alone ({@code ByteBuffer.mismatch} on views set to the ranges). */
    public static boolean mismatchEqual(ByteBuffer a, int aOffset, ByteBuffer b, int bOffset, int length) {
        a.limit(aOffset + length).position(aOffset);
        b.limit(bOffset + length).position(bOffset);
        return a.mismatch(b) < 0;
    }
}
