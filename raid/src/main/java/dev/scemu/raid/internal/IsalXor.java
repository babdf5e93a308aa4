package dev.scemu.raid.internal;

import dev.scemu.core.NativeBinding;
import java.nio.ByteBuffer;
import net.openhft.chronicle.core.Jvm;
import net.openhft.chronicle.core.UnsafeMemory;

/**
 * Parity XOR through ISA-L's {@code int xor_gen(int vects, int len, void **array)} (Debian
 * {@code libisal2}), called by JNA <em>direct mapping</em> ({@link Native#register}): the call
 * passes two ints and one native address, so JNA neither converts nor copies anything, and the
 * buffers' memory is read and written in place.
 *
 * <h2>Contract of xor_gen, and what is checked here</h2>
 * From ISA-L's {@code include/raid.h} and its tests: {@code array} holds {@code vects} pointers,
 * the sources first and the destination last; at least 2 sources ({@code vects >= 3}, otherwise
 * it returns 1); every pointer aligned to 32 bytes; any length (tested for 0..1024 and tails); the
 * destination may be one of the sources at the same address (ISA-L's in-place test). ISA-L
 * dispatches at load time to its SSE/AVX/AVX-512 loop. {@link #gen} is only called after the
 * caller checked bounds (a wrong address here is a crash, not an exception), and
 * {@link #supports} refuses unaligned pointers and short lengths, which go to the Java kernel.
 *
 * <h2>Pointer table</h2>
 * Per thread, one small direct buffer holds the pointer table ({@link #table}); it grows (once) for
 * more sources than it holds and is otherwise reused, so a call allocates nothing. The table is
 * freed with its thread's buffer by the GC (it is 8 bytes per pointer, never per I/O).
 */
final class IsalXor {

    /**
     * Shorter ranges go to the Java kernel: a JNA direct call costs about 100 ns here (the C loop
     * through JNA ran 8 M calls/s at 4 x 128 bytes), more than the wider loop saves on short ranges.
     * {@code XorNativeBenchmark}, 4 sources, one run (2026-12-05, load 1.4-1.7): ISA-L ÷ Java
     * 0.71 at 1 KiB, 1.10 at 2 KiB, 1.69 at 4 KiB, 2.04 at 8 KiB.
     */
    static final int MIN_LENGTH = 2048;

    /** Alignment xor_gen requires of every pointer (raid.h: "must be aligned to 32B"). */
    static final int ALIGNMENT = 32;

    private static final sun.misc.Unsafe U = UnsafeMemory.UNSAFE;

    /** Names tried in order: the unversioned name (a -dev symlink), then Debian's runtime soname. */
    private static final String[] LIBRARY_NAMES = {"isal", "libisal.so.2"};

    private static final String LIBRARY;
    private static final Throwable LOAD_FAILURE;

    static {
        NativeBinding binding = NativeBinding.register(IsalXor.class, "ISA-L", LIBRARY_NAMES, "xor_gen");
        LIBRARY = binding.library();
        LOAD_FAILURE = binding.failure();
    }

    private static final ThreadLocal<Table> TABLES = ThreadLocal.withInitial(() -> new Table(16));

    /** A per-thread native array of pointers. */
    private static final class Table {
        final ByteBuffer memory;
        final long address;
        final int capacity;

        Table(int capacity) {
            this.memory = ByteBuffer.allocateDirect(capacity * 8 + 8);
            this.address = Jvm.address(memory);
            this.capacity = capacity;
        }
    }

    private IsalXor() {
    }

    /** {@code int xor_gen(int vects, int len, void **array)}; {@code array} is a native address. */
    private static native int xor_gen(int vects, int len, long array);

    /** Whether libisal was found and bound. */
    static boolean available() {
        return LOAD_FAILURE == null;
    }

    /** Path (or name) of the loaded library, or null. */
    static String library() {
        return LIBRARY;
    }

    /** Why the library could not be loaded, or null. */
    static Throwable loadFailure() {
        return LOAD_FAILURE;
    }

    /**
     * Whether xor_gen takes this call: {@code length} at least {@link #MIN_LENGTH} and every address
     * (ORed together in {@code addressBits}) aligned to {@link #ALIGNMENT}.
     */
    static boolean supports(long addressBits, int length) {
        return length >= MIN_LENGTH && (addressBits & (ALIGNMENT - 1)) == 0;
    }

    /**
     * The calling thread's pointer table, with room for at least {@code pointers} entries: its
     * native address. Fill it with {@link #put} (sources, then the destination) and call {@link #gen}.
     */
    static long table(int pointers) {
        Table table = TABLES.get();
        if (table.capacity < pointers) {
            table = new Table(Math.max(pointers, table.capacity * 2));
            TABLES.set(table);
        }
        return table.address;
    }

    static void put(long table, int index, long address) {
        U.putLong(table + 8L * index, address);
    }

    /**
     * Runs xor_gen over {@code vects} pointers of the table ({@code vects - 1} sources, then the
     * destination). Bounds, alignment and {@code vects >= 3} are the caller's to check.
     */
    static void gen(int vects, int length, long table) {
        int rc = xor_gen(vects, length, table);
        if (rc != 0) {
            throw new IllegalStateException("ISA-L xor_gen(" + vects + ", " + length + ") returned " + rc);
        }
    }

    /** {@code d = a ^ b}: addresses already bounds-checked and aligned. */
    static void xor2(long d, long a, long b, int length) {
        long t = table(3);
        U.putLong(t, a);
        U.putLong(t + 8, b);
        U.putLong(t + 16, d);
        gen(3, length, t);
    }

    /** {@code d = a ^ b ^ c}: addresses already bounds-checked and aligned. */
    static void xor3(long d, long a, long b, long c, int length) {
        long t = table(4);
        U.putLong(t, a);
        U.putLong(t + 8, b);
        U.putLong(t + 16, c);
        U.putLong(t + 24, d);
        gen(4, length, t);
    }
}
