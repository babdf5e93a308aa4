package dev.scemu.core;

import com.sun.jna.Pointer;
import dev.scemu.core.internal.LibC;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.ConcurrentHashMap;
import net.openhft.chronicle.core.UnsafeMemory;

/**
 * Direct buffers of megabytes that a pipeline allocates once per run (a backup's or restore's chunk
 * buffers), allocated so that touching them for the first time is cheap.
 *
 * <p>Also the raw form ({@link #mapHugePages}), for memory a class manages by address (the off-heap
 * medium's chunks).
 *
 * <p>A fresh page of memory costs a page fault when it is first written; {@link ByteBuffer#allocateDirect}
 * writes every page at once (it zeroes the buffer), one fault per 4 KiB. On the 2-vCPU VM of
 * docs/benchmarks.md a fault of a fresh anonymous page costs ~12 µs ({@code bench/c/first-touch.c}:
 * 96 MiB first written in 290 ms, rewritten in 5 ms; with huge pages first written in 8-126 ms), so
 * the ~100-150 MiB of chunk buffers of a restore were ~37,000 faults, most of its page faults. Here, on
 * 64-bit Linux, a buffer of at least {@value #HUGE_PAGE_BYTES} bytes is an anonymous private mapping
 * of a whole number of 2 MiB pages, advised {@code MADV_HUGEPAGE}: the kernel then backs it with
 * transparent huge pages where it has them (one fault per 2 MiB) and gives zeroed memory without the
 * JVM writing it; where it has none, it falls back to 4 KiB pages, as before. Elsewhere, and for
 * smaller buffers, this is {@code allocateDirect}.
 *
 * <p>{@link #free} releases a buffer at once (unmaps it, or frees an {@code allocateDirect} buffer
 * through its cleaner): only once no thread can touch it again; touching a freed buffer crashes the
 * JVM. A mapped buffer not freed stays mapped until the JVM exits (the GC does not unmap it).
 */
public final class LargeBuffers {

    /** The huge page size of x86-64 and AArch64 with 4 KiB pages: the mapping's granule. */
    public static final long HUGE_PAGE_BYTES = 2L << 20;

    /** Mapped buffers by address: their mapping's length, for {@link #free}. */
    private static final ConcurrentHashMap<Long, Long> MAPPED = new ConcurrentHashMap<>();

    private LargeBuffers() {
    }

    /** A zeroed direct buffer of {@code capacity} bytes, big-endian as every new buffer. */
    public static ByteBuffer allocate(int capacity) {
        if (capacity < 0) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, "buffer capacity " + capacity + " is negative");
        }
        if (capacity < HUGE_PAGE_BYTES || !LibC.isAvailable()) {
            return ByteBuffer.allocateDirect(capacity);
        }
        long length = (capacity + HUGE_PAGE_BYTES - 1) / HUGE_PAGE_BYTES * HUGE_PAGE_BYTES;
        long address = mapHugePages(length);
        if (address == 0) {
            return ByteBuffer.allocateDirect(capacity); // no address space left for a mapping: the JVM's own allocator
        }
        MAPPED.put(address, length);
        return new Pointer(address).getByteBuffer(0, capacity).order(ByteOrder.BIG_ENDIAN); // JNA sets the native order
    }

    /** Releases {@code buffer} (from {@link #allocate}) now; no thread may touch it afterwards. Idempotent. */
    public static void free(ByteBuffer buffer) {
        if (!buffer.isDirect()) {
            return;
        }
        long address = NativeMemory.address(buffer);
        Long length = MAPPED.remove(address);
        if (length != null) {
            unmapHugePages(address, length);
            return;
        }
        UnsafeMemory.UNSAFE.invokeCleaner(buffer); // an allocateDirect buffer: freed now, not at a GC
    }

    /**
     * Zeroed native memory of {@code bytes} (a positive multiple of {@value #HUGE_PAGE_BYTES}) at an
     * address that is a multiple of it, advised {@code MADV_HUGEPAGE}: what {@link #allocate} and the
     * off-heap medium's chunks stand on. 0 if it cannot be had (not 64-bit Linux, no address space
     * left): the caller allocates another way. Freed only by {@link #unmapHugePages}.
     */
    public static long mapHugePages(long bytes) {
        if (bytes <= 0 || bytes % HUGE_PAGE_BYTES != 0) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, bytes + " bytes are not a whole number of "
                    + HUGE_PAGE_BYTES + "-byte pages");
        }
        if (!LibC.isAvailable()) {
            return 0;
        }
        // one huge page more than asked, then the ends cut off: the kernel aligns a large mapping only
        // since Linux 6.7, and a huge page can back only an aligned 2 MiB of it
        long mapped = LibC.mmap(0, bytes + HUGE_PAGE_BYTES, LibC.PROT_READ | LibC.PROT_WRITE,
                LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS, -1, 0);
        if (mapped == -1) {
            return 0;
        }
        long address = (mapped + HUGE_PAGE_BYTES - 1) & -HUGE_PAGE_BYTES;
        if (address > mapped) {
            unmap(mapped, address - mapped);
        }
        long tail = mapped + bytes + HUGE_PAGE_BYTES - (address + bytes);
        if (tail > 0) {
            unmap(address + bytes, tail);
        }
        LibC.madvise(address, bytes, LibC.MADV_HUGEPAGE); // advice only: refused (THP off), the pages are 4 KiB
        return address;
    }

    /** Unmaps what {@link #mapHugePages} returned; no thread may touch it afterwards. */
    public static void unmapHugePages(long address, long bytes) {
        unmap(address, bytes);
    }

    private static void unmap(long address, long bytes) {
        if (LibC.munmap(address, bytes) != 0) {
            throw new CoreException(CoreError.IO_ERROR, "munmap of " + bytes + " bytes at 0x" + Long.toHexString(address)
                    + " failed: " + LibC.describe(LibC.errno()));
        }
    }

    /** Bytes currently mapped by {@link #allocate} and not freed (for tests and reports). */
    public static long mappedBytes() {
        return MAPPED.values().stream().mapToLong(Long::longValue).sum();
    }
}
