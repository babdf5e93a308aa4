package dev.scemu.snapshot.internal;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Copy-on-write entries gathered until one journal record + one log sync, the new data of their
 * blocks, which waits here (readable) until the record is durable, and the old data those blocks
 * replace: the source of the entries' copies, which the committer writes to the store at commit
 * (contiguous pool blocks in one write, {@link #copiedSlots} marks how far), and handed to the
 * data device with {@code writeOver}, so a RAID-5 below does not read it again. Off-heap data
 * slots, preallocated; no allocation per block.
 *
 * <p>Pending lbas are indexed by a small open-addressing hash ({@code lba -> slot}, linear
 * probing, twice the capacity rounded up to a power of two), so a read or a write asks
 * {@link #slotOf} in O(1) and never scans the batch.
 *
 * <p>Locking (see {@link WritePath}): the slot table, the index, {@code size}, {@code reserved}
 * and {@code inFlight} are guarded by the volume's {@code meta} monitor; the data and old data of
 * a slot are guarded by the stripe lock of its lba (a run that owns the stripe writes them, a
 * reader holding the stripe shared copies them, the committer writes them to the data device).
 */
final class CowBatch {

    private final int capacity;
    private final int blockSize;
    private final long[] lbas;
    private final int[] entries;
    private final long[] hashes;
    private final ByteBuffer data;
    private final ByteBuffer old;
    /** lba + 1 per hash slot (0 = empty). */
    private final long[] keys;
    private final int[] keySlots;
    /** Slots whose data the committer already wrote to the data device: no longer pending. */
    private final boolean[] written;
    private final int keyMask;
    private int size;
    /** Slots promised to runs in flight and not used yet (guarded by meta). */
    int reserved;
    /** Runs that reserved slots here and have not finished (guarded by meta). */
    int inFlight;
    /**
     * Slots {@code [0, copiedSlots)} have their copies written to the store (guarded by meta).
     * Slots are claimed in order and their copies are written in order (by the committer, or by a
     * checkpoint while runs are paused), so one watermark says which copies are still pending.
     */
    int copiedSlots;

    CowBatch(int capacity, int blockSize) {
        this.capacity = capacity;
        this.blockSize = blockSize;
        this.lbas = new long[capacity];
        this.entries = new int[capacity];
        this.hashes = new long[capacity];
        this.data = Buffers.allocateAligned(capacity * blockSize);
        this.old = Buffers.allocateAligned(capacity * blockSize);
        int tableSize = Integer.highestOneBit(Math.max(4, capacity * 2 - 1)) << 1;
        this.keys = new long[tableSize];
        this.keySlots = new int[tableSize];
        this.keyMask = tableSize - 1;
        this.written = new boolean[capacity];
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

    /** Slots neither used nor reserved. */
    int room() {
        return capacity - size - reserved;
    }

    /** Slot holding pending (not yet written) data for {@code lba}, or -1. O(1). */
    int slotOf(long lba) {
        if (size == 0) {
            return -1;
        }
        long key = lba + 1;
        for (int h = hash(lba) & keyMask; ; h = (h + 1) & keyMask) {
            long k = keys[h];
            if (k == key) {
                int slot = keySlots[h];
                return written[slot] ? -1 : slot;
            }
            if (k == 0) {
                return -1;
            }
        }
    }

    /**
     * Claims a slot for {@code lba} (not pending here yet) and indexes it; the caller then fills
     * its data with {@link #putData} and {@link #putOld} while it holds the stripe lock.
     */
    int claim(long lba, int entry, long hash) {
        int slot = size++;
        written[slot] = false;
        lbas[slot] = lba;
        entries[slot] = entry;
        hashes[slot] = hash;
        int h = hash(lba) & keyMask;
        while (keys[h] != 0) {
            h = (h + 1) & keyMask;
        }
        keys[h] = lba + 1;
        keySlots[h] = slot;
        return slot;
    }

    /** Copies the new data of {@code slot} from {@code source} at {@code offset}. */
    void putData(int slot, ByteBuffer source, int offset) {
        data.put(slot * blockSize, source, offset, blockSize);
    }

    /** Copies the old data (what the data device holds at the slot's lba) from {@code source} at {@code offset}. */
    void putOld(int slot, ByteBuffer source, int offset) {
        old.put(slot * blockSize, source, offset, blockSize);
    }

    /**
     * The committer wrote the slot's data to the data device (under the stripe lock): from now on
     * the lba reads and writes the data device, never this slot.
     */
    void markWritten(int slot) {
        written[slot] = true;
    }

    boolean isWritten(int slot) {
        return written[slot];
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

    /** The new data; slot {@code i} starts at {@code i * blockSize}. */
    ByteBuffer data() {
        return data;
    }

    /** The old data, same layout as {@link #data()}. */
    ByteBuffer old() {
        return old;
    }

    int dataOffset(int slot) {
        return slot * blockSize;
    }

    /**
     * The slot of {@code lba} if it holds {@code entry} and the entry's copy is not written to the
     * store yet, else -1. O(1) (the lba index, never a scan). Caller holds meta.
     */
    int pendingCopySlot(long lba, int entry) {
        int slot = slotOf(lba);
        return slot >= 0 && slot >= copiedSlots && entries[slot] == entry ? slot : -1;
    }

    /** Drops every slot (the batch's data is on the data device, or the volume failed). */
    void clear() {
        if (size > 0) {
            Arrays.fill(keys, 0);
        }
        size = 0;
        copiedSlots = 0;
    }

    private static int hash(long lba) {
        long h = lba * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32));
    }
}
