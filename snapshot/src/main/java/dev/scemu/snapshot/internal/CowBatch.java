package dev.scemu.snapshot.internal;

import java.nio.ByteBuffer;

/**
 * Copy-on-write entries gathered until one journal record + one log sync, and the new data of
 * their blocks, which waits here (readable) until the record is durable. Off-heap data slots,
 * preallocated; no allocation per block. Not thread-safe: guarded by the volume's lock.
 */
final class CowBatch {

    private final int capacity;
    private final int blockSize;
    private final long[] lbas;
    private final int[] entries;
    private final long[] hashes;
    private final ByteBuffer data;
    private int size;

    CowBatch(int capacity, int blockSize) {
        this.capacity = capacity;
        this.blockSize = blockSize;
        this.lbas = new long[capacity];
        this.entries = new int[capacity];
        this.hashes = new long[capacity];
        this.data = Buffers.allocateAligned(capacity * blockSize);
    }

    int capacity() {
        return capacity;
    }

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    int room() {
        return capacity - size;
    }

    /** Slot holding pending data for {@code lba}, or -1. */
    int slotOf(long lba) {
        for (int i = 0; i < size; i++) {
            if (lbas[i] == lba) {
                return i;
            }
        }
        return -1;
    }

    /** Adds an entry and its block's new data (copied from {@code source} at {@code offset}). */
    void add(long lba, int entry, long hash, ByteBuffer source, int offset) {
        lbas[size] = lba;
        entries[size] = entry;
        hashes[size] = hash;
        data.put(size * blockSize, source, offset, blockSize);
        size++;
    }

    /** Replaces the pending data of {@code slot}. */
    void replaceData(int slot, ByteBuffer source, int offset) {
        data.put(slot * blockSize, source, offset, blockSize);
    }

    long lba(int slot) {
        return lbas[slot];
    }

    int entry(int slot) {
        return entries[slot];
    }

    long hash(int slot) {
        return hashes[slot];
    }

    /** The data buffer; slot {@code i} starts at {@code i * blockSize}. */
    ByteBuffer data() {
        return data;
    }

    int dataOffset(int slot) {
        return slot * blockSize;
    }

    void clear() {
        size = 0;
    }
}
