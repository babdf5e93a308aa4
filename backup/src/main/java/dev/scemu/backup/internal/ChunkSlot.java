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
    /** Backup: compressed data. Restore: decrypted payload. */
    final ByteBuffer work;
    /** Backup: encrypted data. Restore: decompressed data. */
    final ByteBuffer output;

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
        this.input = ByteBuffer.allocateDirect(capacity);
        this.work = ByteBuffer.allocateDirect(capacity);
        this.output = ByteBuffer.allocateDirect(capacity);
    }

    int capacity() {
        return input.capacity();
    }
}
