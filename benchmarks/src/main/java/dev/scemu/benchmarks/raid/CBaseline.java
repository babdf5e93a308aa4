package dev.scemu.benchmarks.raid;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;

/**
 * The C baselines of {@code bench/c/xor.c} (gcc -O3 -march=native, built as a library by
 * {@code bench/c/run-xor.sh --lib PATH}) and libc's {@code memcmp}, bound by JNA direct mapping
 * ({@link Native#register}): arguments are native addresses and sizes, nothing is converted or
 * copied. The library path comes from {@code -D}{@value #PROPERTY}{@code =PATH}; without it the C
 * baselines throw and say how to build it (libc's memcmp needs nothing).
 */
public final class CBaseline {

    /** System property naming the library built by {@code bench/c/run-xor.sh --lib}. */
    public static final String PROPERTY = "scemu.bench.clib";

    private static final Throwable FAILURE;

    static {
        Throwable failure = null;
        String path = System.getProperty(PROPERTY);
        try {
            if (path == null) {
                throw new IllegalStateException("-D" + PROPERTY + " is not set");
            }
            Native.register(CBaseline.class, NativeLibrary.getInstance(path));
        } catch (Throwable t) {
            failure = t;
        }
        FAILURE = failure;
    }

    private CBaseline() {
    }

    /** {@code p = a ^ b ^ c ^ d} over {@code words} 64-bit words (xor.c, AVX-512 on this machine). */
    public static native void xor4(long p, long a, long b, long c, long d, long words);

    /** {@code memcmp(a, b, n)} {@code reps} times in C; returns how many differed. */
    public static native long memcmp_reps(long a, long b, long n, long reps);

    /** Throws, naming the build command, if the library is not loaded. */
    public static void require() {
        if (FAILURE != null) {
            throw new IllegalStateException("C baseline library not loaded (build it with "
                    + "bench/c/run-xor.sh --lib /tmp/libscemuxor.so and run with -D" + PROPERTY
                    + "=/tmp/libscemuxor.so)", FAILURE);
        }
    }

    /** libc, direct-mapped. */
    public static final class LibC {
        static {
            Native.register(LibC.class, Platform.C_LIBRARY_NAME);
        }

        private LibC() {
        }

        /** {@code int memcmp(const void *a, const void *b, size_t n)}. */
        public static native int memcmp(long a, long b, long n);
    }
}
