package dev.scemu.backup.internal;

import com.github.luben.zstd.Zstd;
import dev.scemu.core.Extent;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The direct buffers one in-flight chunk uses, recycled through a small free list so a backup or
 * restore holds a bounded number of them ({@code threads + 2}). Owned by one thread at a time:
 * the coordinator fills it, one worker transforms it, the coordinator drains it.
 */
final class ChunkSlot {

    /** Backup: raw window data, compacted in place to the plain data. Restore: the stored bytes. */
    final ByteBuffer input;
    /** Backup: compressed data. Restore: decrypted payload. Allocated on first use ({@link #work()}). */
    private ByteBuffer work;
    /** Backup: encrypted data. Restore: decompressed data. Allocated on first use ({@link #output()}). */
    private ByteBuffer output;
    private final int capacity;

    // backup request
    long sequence;
    List<Extent> pieces;
    int inputLength;

    // restore request
    ChunkHeader chunkHeader;
    byte[] headerRecord;
    ChunkIndexEntry indexEntry;

    ChunkSlot(int chunkSizeBytes) {
        int capacity = (int) Math.min(Integer.MAX_VALUE - 64, Zstd.compressBound(chunkSizeBytes) + 64);
        this.capacity = capacity;
        this.input = ByteBuffer.allocateDirect(capacity);
    }

    /**
     * The second buffer, allocated when first asked for: a restore's integrity pass over an encrypted
     * image never needs it, nor the third, and each is {@code compressBound(chunk)} bytes that the JVM
     * zeroes when it allocates them (3 x 8 MiB per slot at the default chunk size).
     */
    ByteBuffer work() {
        if (work == null) {
            work = ByteBuffer.allocateDirect(capacity);
        }
        return work;
    }

    /** The third buffer, allocated when first asked for (see {@link #work()}). */
    ByteBuffer output() {
        if (output == null) {
            output = ByteBuffer.allocateDirect(capacity);
        }
        return output;
    }

    int capacity() {
        return input.capacity();
    }

    /**
     * Frees the three buffers now rather than at a later GC (3 x 8 MiB per slot at the default chunk
     * size); only once no thread can touch them again ({@link Workers#close()} after its workers
     * ended). Without access to {@code sun.misc.Unsafe.invokeCleaner} the GC frees them.
     */
    void free() {
        Cleaner.free(input);
        if (work != null) {
            Cleaner.free(work);
        }
        if (output != null) {
            Cleaner.free(output);
        }
    }

    /** {@code sun.misc.Unsafe.invokeCleaner}, looked up reflectively (jdk.unsupported); null if unavailable. */
    private static final class Cleaner {
        private static final Object UNSAFE;
        private static final java.lang.reflect.Method INVOKE_CLEANER;

        static {
            Object unsafe = null;
            java.lang.reflect.Method method = null;
            try {
                Class<?> type = Class.forName("sun.misc.Unsafe");
                java.lang.reflect.Field field = type.getDeclaredField("theUnsafe");
                field.setAccessible(true);
                unsafe = field.get(null);
                method = type.getMethod("invokeCleaner", ByteBuffer.class);
            } catch (ReflectiveOperationException | RuntimeException e) {
                unsafe = null;
                method = null;
            }
            UNSAFE = unsafe;
            INVOKE_CLEANER = method;
        }

        static void free(ByteBuffer buffer) {
            if (INVOKE_CLEANER == null) {
                return;
            }
            try {
                INVOKE_CLEANER.invoke(UNSAFE, buffer);
            } catch (ReflectiveOperationException e) {
                // left to the GC
            }
        }
    }
}
