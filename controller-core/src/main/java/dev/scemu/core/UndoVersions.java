package dev.scemu.core;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.openhft.chronicle.core.UnsafeMemory;

/**
 * The block versions a {@link FaultInjectingDevice}'s undo log holds, off the Java heap: numbered
 * slots of one block each, in direct chunks of {@value #CHUNK_BYTES} bytes allocated when the log
 * first needs them and kept until {@link #close} (the write cache fills again after every flush).
 * Released slots are handed out again first, so the chunks never outgrow the most versions the log
 * held at once (the device's write-cache bound, or one longer write).
 *
 * <p>Why off-heap: the versions were {@code byte[]}s before. A member's log holds up to 16 MiB of
 * them until the next flush, so they outlived young collections and every young GC copied them
 * again; on a 1 MiB sequential NBD write workload 310 of 366 JFR samples were at their allocation,
 * and the emulating off-heap unit wrote 101 MB/s against 2,406 MB/s write-through.
 *
 * <p>Not thread-safe: the device uses it under its undo lock only.
 */
final class UndoVersions implements AutoCloseable {

    static final int CHUNK_BYTES = 1 << 20;

    private final int blockSize;
    private final int slotsPerChunk;
    private final List<ByteBuffer> chunks = new ArrayList<>();
    private long[] chunkAddresses = new long[8];
    private int[] released = new int[256];
    private int releasedCount;
    /** Slots handed out at least once since the last {@link #releaseAll}: {@code [0, used)}. */
    private int used;

    UndoVersions(int blockSize) {
        this.blockSize = blockSize;
        this.slotsPerChunk = Math.max(1, CHUNK_BYTES / blockSize);
    }

    /** A new slot holding a copy of the block at native {@code address}. */
    int save(long address) {
        int slot = releasedCount > 0 ? released[--releasedCount] : used++;
        int chunk = slot / slotsPerChunk;
        if (chunk == chunks.size()) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(slotsPerChunk * blockSize);
            if (chunk == chunkAddresses.length) {
                chunkAddresses = Arrays.copyOf(chunkAddresses, 2 * chunk);
            }
            chunkAddresses[chunk] = NativeMemory.address(buffer);
            chunks.add(buffer);
        }
        NativeMemory.copy(address, addressOf(slot), blockSize);
        return slot;
    }

    /** The slot is free again. */
    void release(int slot) {
        if (releasedCount == released.length) {
            released = Arrays.copyOf(released, 2 * releasedCount);
        }
        released[releasedCount++] = slot;
    }

    /** Every slot is free again (the chunks stay allocated). */
    void releaseAll() {
        releasedCount = 0;
        used = 0;
    }

    /** The chunk holding {@code slot}: the slot's bytes are {@link #offsetOf} onwards, one block. */
    ByteBuffer chunkOf(int slot) {
        return chunks.get(slot / slotsPerChunk);
    }

    int offsetOf(int slot) {
        return (slot % slotsPerChunk) * blockSize;
    }

    /** Flips bit {@code bit} (0 = lowest bit of the first byte) of the version in {@code slot}. */
    void flipBit(int slot, int bit) {
        ByteBuffer chunk = chunkOf(slot);
        int index = offsetOf(slot) + (bit >>> 3);
        chunk.put(index, (byte) (chunk.get(index) ^ (1 << (bit & 7))));
    }

    /** Bytes held off-heap (observability, tests). */
    long allocatedBytes() {
        return (long) chunks.size() * slotsPerChunk * blockSize;
    }

    /** Frees the chunks now, not at a later GC. Idempotent; the store is empty and usable afterwards. */
    @Override
    public void close() {
        for (ByteBuffer chunk : chunks) {
            UnsafeMemory.UNSAFE.invokeCleaner(chunk);
        }
        chunks.clear();
        releaseAll();
    }

    private long addressOf(int slot) {
        return chunkAddresses[slot / slotsPerChunk] + offsetOf(slot);
    }
}
