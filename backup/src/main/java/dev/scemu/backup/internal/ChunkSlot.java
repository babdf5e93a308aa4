package dev.scemu.backup.internal;

import com.github.luben.zstd.Zstd;
import dev.scemu.core.Extent;
import dev.scemu.core.LargeBuffers;
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
        this.input = LargeBuffers.allocate(capacity);
    }

    /**
     * The second buffer, allocated when first asked for: a restore's integrity pass over an encrypted
     * image never needs it, nor the third, and each is {@code compressBound(chunk)} bytes of fresh
     * memory (3 x 8 MiB per slot at the default chunk size; see {@link LargeBuffers} for their cost).
     */
    ByteBuffer work() {
        if (work == null) {
            work = LargeBuffers.allocate(capacity);
        }
        return work;
    }

    /** The third buffer, allocated when first asked for (see {@link #work()}). */
    ByteBuffer output() {
        if (output == null) {
            output = LargeBuffers.allocate(capacity);
        }
        return output;
    }

    int capacity() {
        return input.capacity();
    }

    /**
     * Frees the three buffers now (3 x 8 MiB per slot at the default chunk size; {@link LargeBuffers}:
     * mapped, so nothing but this frees them); only once no thread can touch them again
     * ({@link Workers#close()} after its workers ended).
     */
    void free() {
        LargeBuffers.free(input);
        if (work != null) {
            LargeBuffers.free(work);
        }
        if (output != null) {
            LargeBuffers.free(output);
        }
    }
}
