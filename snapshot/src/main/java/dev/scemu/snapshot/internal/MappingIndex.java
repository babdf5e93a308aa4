package dev.scemu.snapshot.internal;

import dev.scemu.snapshot.SnapshotError;
import dev.scemu.snapshot.SnapshotException;

/**
 * The in-memory block mapping table, entirely off-heap: an open-addressing hash (linear probing,
 * backward-shift deletion) from lba to the newest mapping entry of that lba, and an entry array
 * whose entries link to the next-older entry of the same lba. O(1) lookups; no heap per entry.
 *
 * <p>An entry {@code (lba, fromEpoch, toEpoch, storeBlock)} says: every snapshot with an epoch in
 * {@code [fromEpoch, toEpoch]} reads block {@code lba} from store block {@code storeBlock}
 * ({@link #ZERO_BLOCK}: reads zeros, no copy). Entries of one lba are disjoint and chained newest
 * (highest toEpoch) first. The live block's birth epoch is {@code newest toEpoch + 1} (0 without
 * entries): a snapshot {@code s >= birth} reads the data device.
 *
 * <pre>
 * entry (32 bytes)                          slot (16 bytes)
 * 0   u64 lba                               0   u64 lba + 1   (0 = empty slot)
 * 8   i64 storeBlock (-1 = zero block)      8   i32 newest entry index
 * 16  u32 fromEpoch                         12  u32 unused
 * 20  u32 toEpoch
 * 24  i32 next older entry (-1 = none; in the free list: next free entry)
 * 28  u32 unused
 * </pre>
 *
 * <p>Not thread-safe: the volume guards it with its lock.
 */
final class MappingIndex {

    static final long ZERO_BLOCK = -1;
    static final int NONE = -1;

    private static final int ENTRY_BYTES = 32;
    private static final int SLOT_BYTES = 16;

    private final int maxEntries;
    private final int slotMask;
    private final OffHeapRegion entries;
    private final OffHeapRegion slots;
    private int highWater;
    private int freeHead = NONE;
    private long entryCount;
    private long lbaCount;

    MappingIndex(long maxEntries) {
        if (maxEntries < 1 || maxEntries > (1L << 29)) {
            throw new SnapshotException(SnapshotError.INVALID_CONFIGURATION,
                    "mapping table capacity " + maxEntries + " entries is out of range [1, 2^29]");
        }
        this.maxEntries = (int) maxEntries;
        long slotCount = Long.highestOneBit(Math.max(16, maxEntries * 4 / 3 + 1) - 1) << 1;
        this.slotMask = (int) (slotCount - 1);
        this.entries = new OffHeapRegion((long) this.maxEntries * ENTRY_BYTES);
        this.slots = new OffHeapRegion(slotCount * SLOT_BYTES);
    }

    int maxEntries() {
        return maxEntries;
    }

    long entryCount() {
        return entryCount;
    }

    long freeEntries() {
        return maxEntries - entryCount;
    }

    /** Off-heap bytes held by the table. */
    long offHeapBytes() {
        return entries.sizeBytes() + slots.sizeBytes();
    }

    // ---- entries

    long lba(int entry) {
        return entries.readLong((long) entry * ENTRY_BYTES);
    }

    long storeBlock(int entry) {
        return entries.readLong((long) entry * ENTRY_BYTES + 8);
    }

    long fromEpoch(int entry) {
        return entries.readInt((long) entry * ENTRY_BYTES + 16) & 0xFFFF_FFFFL;
    }

    long toEpoch(int entry) {
        return entries.readInt((long) entry * ENTRY_BYTES + 20) & 0xFFFF_FFFFL;
    }

    int next(int entry) {
        return entries.readInt((long) entry * ENTRY_BYTES + 24);
    }

    private void setNext(int entry, int next) {
        entries.writeInt((long) entry * ENTRY_BYTES + 24, next);
    }

    // ---- lookups

    /** Newest entry of {@code lba}, or {@link #NONE}. */
    int newest(long lba) {
        int slot = findSlot(lba);
        return slot < 0 ? NONE : slotHead(slot);
    }

    /** Epoch of the live block's last preserved overwrite + 1; 0 if no entry. */
    long birthEpoch(long lba) {
        int head = newest(lba);
        return head == NONE ? 0 : toEpoch(head) + 1;
    }

    /** The entry of {@code lba} whose range holds {@code epoch}, or {@link #NONE} (read the data device). */
    int find(long lba, long epoch) {
        for (int e = newest(lba); e != NONE; e = next(e)) {
            if (toEpoch(e) < epoch) {
                return NONE;
            }
            if (fromEpoch(e) <= epoch) {
                return e;
            }
        }
        return NONE;
    }

    // ---- updates

    /** Adds an entry newer than every entry of {@code lba}; returns its index. Caller checked capacity. */
    int insertNewest(long lba, long fromEpoch, long toEpoch, long storeBlock) {
        int slot = findOrAddSlot(lba);
        int head = slotHead(slot);
        if (head != NONE && toEpoch(head) >= fromEpoch) {
            throw new SnapshotException(SnapshotError.CORRUPT_METADATA, "mapping entry for lba " + lba + " epochs ["
                    + fromEpoch + ", " + toEpoch + "] overlaps newer entry [" + fromEpoch(head) + ", " + toEpoch(head) + "]");
        }
        int entry = allocateEntry(lba, fromEpoch, toEpoch, storeBlock);
        setNext(entry, head);
        setSlotHead(slot, entry);
        return entry;
    }

    /**
     * Adds an entry in epoch order among the entries of its lba (checkpoint load, any order).
     * Overlapping ranges are corrupt metadata.
     */
    int insertSorted(long lba, long fromEpoch, long toEpoch, long storeBlock) {
        if (fromEpoch > toEpoch) {
            throw new SnapshotException(SnapshotError.CORRUPT_METADATA,
                    "mapping entry for lba " + lba + " has epochs [" + fromEpoch + ", " + toEpoch + "]");
        }
        int slot = findOrAddSlot(lba);
        int previous = NONE;
        int e = slotHead(slot);
        while (e != NONE && fromEpoch(e) > toEpoch) {
            previous = e;
            e = next(e);
        }
        if (e != NONE && toEpoch(e) >= fromEpoch) {
            throw new SnapshotException(SnapshotError.CORRUPT_METADATA, "mapping entries for lba " + lba
                    + " overlap: [" + fromEpoch + ", " + toEpoch + "] and [" + fromEpoch(e) + ", " + toEpoch(e) + "]");
        }
        int entry = allocateEntry(lba, fromEpoch, toEpoch, storeBlock);
        setNext(entry, e);
        if (previous == NONE) {
            setSlotHead(slot, entry);
        } else {
            setNext(previous, entry);
        }
        return entry;
    }

    /** Visits every entry (any order). */
    void forEachEntry(EntryVisitor visitor) {
        for (int slot = 0; slot <= slotMask; slot++) {
            long key = slots.readLong((long) slot * SLOT_BYTES);
            if (key != 0) {
                for (int e = slotHead(slot); e != NONE; e = next(e)) {
                    visitor.visit(e);
                }
            }
        }
    }

    /** Visits every lba that has at least one entry (any order). */
    void forEachLba(java.util.function.LongConsumer visitor) {
        for (int slot = 0; slot <= slotMask; slot++) {
            long key = slots.readLong((long) slot * SLOT_BYTES);
            if (key != 0) {
                visitor.accept(key - 1);
            }
        }
    }

    /**
     * Removes every entry for which {@code dead} answers true, handing each removed entry to
     * {@code removed} before its slot is reused. Returns how many were removed.
     */
    long removeIf(EntryPredicate dead, EntryVisitor removed) {
        long count = 0;
        long[] emptied = new long[16];
        int emptiedCount = 0;
        for (int slot = 0; slot <= slotMask; slot++) {
            long key = slots.readLong((long) slot * SLOT_BYTES);
            if (key == 0) {
                continue;
            }
            int previous = NONE;
            int e = slotHead(slot);
            while (e != NONE) {
                int next = next(e);
                if (dead.test(e)) {
                    removed.visit(e);
                    if (previous == NONE) {
                        setSlotHead(slot, next);
                    } else {
                        setNext(previous, next);
                    }
                    freeEntry(e);
                    count++;
                } else {
                    previous = e;
                }
                e = next;
            }
            if (slotHead(slot) == NONE) {
                if (emptiedCount == emptied.length) {
                    emptied = java.util.Arrays.copyOf(emptied, emptied.length * 2);
                }
                emptied[emptiedCount++] = key - 1;
            }
        }
        for (int i = 0; i < emptiedCount; i++) {
            removeSlot(findSlot(emptied[i]));
        }
        return count;
    }

    /** Drops every entry. */
    void clear() {
        slots.zero();
        highWater = 0;
        freeHead = NONE;
        entryCount = 0;
        lbaCount = 0;
    }

    void release() {
        entries.release();
        slots.release();
    }

    // ---- internals

    private int allocateEntry(long lba, long fromEpoch, long toEpoch, long storeBlock) {
        int entry;
        if (freeHead != NONE) {
            entry = freeHead;
            freeHead = next(entry);
        } else if (highWater < maxEntries) {
            entry = highWater++;
        } else {
            throw new SnapshotException(SnapshotError.STORE_FULL,
                    "mapping table is full: " + maxEntries + " entries (lba " + lba + ")");
        }
        long base = (long) entry * ENTRY_BYTES;
        entries.writeLong(base, lba);
        entries.writeLong(base + 8, storeBlock);
        entries.writeInt(base + 16, (int) fromEpoch);
        entries.writeInt(base + 20, (int) toEpoch);
        entries.writeInt(base + 24, NONE);
        entryCount++;
        return entry;
    }

    private void freeEntry(int entry) {
        setNext(entry, freeHead);
        freeHead = entry;
        entryCount--;
    }

    private static int hash(long lba) {
        long h = lba * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29) ^ (h >>> 47));
    }

    private int slotHead(int slot) {
        return slots.readInt((long) slot * SLOT_BYTES + 8);
    }

    private void setSlotHead(int slot, int entry) {
        slots.writeInt((long) slot * SLOT_BYTES + 8, entry);
    }

    private int findSlot(long lba) {
        long key = lba + 1;
        int slot = hash(lba) & slotMask;
        while (true) {
            long stored = slots.readLong((long) slot * SLOT_BYTES);
            if (stored == key) {
                return slot;
            }
            if (stored == 0) {
                return -1;
            }
            slot = (slot + 1) & slotMask;
        }
    }

    private int findOrAddSlot(long lba) {
        long key = lba + 1;
        int slot = hash(lba) & slotMask;
        while (true) {
            long stored = slots.readLong((long) slot * SLOT_BYTES);
            if (stored == key) {
                return slot;
            }
            if (stored == 0) {
                if (lbaCount >= maxEntries) {
                    throw new SnapshotException(SnapshotError.STORE_FULL,
                            "mapping table is full: " + maxEntries + " lbas (lba " + lba + ")");
                }
                slots.writeLong((long) slot * SLOT_BYTES, key);
                setSlotHead(slot, NONE);
                lbaCount++;
                return slot;
            }
            slot = (slot + 1) & slotMask;
        }
    }

    /** Backward-shift deletion keeps every probe chain unbroken without tombstones. */
    private void removeSlot(int hole) {
        int i = hole;
        int j = hole;
        while (true) {
            j = (j + 1) & slotMask;
            long key = slots.readLong((long) j * SLOT_BYTES);
            if (key == 0) {
                break;
            }
            int home = hash(key - 1) & slotMask;
            boolean stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (stays) {
                continue;
            }
            slots.writeLong((long) i * SLOT_BYTES, key);
            setSlotHead(i, slotHead(j));
            i = j;
        }
        slots.writeLong((long) i * SLOT_BYTES, 0);
        setSlotHead(i, NONE);
        lbaCount--;
    }

    @FunctionalInterface
    interface EntryVisitor {
        void visit(int entry);
    }

    @FunctionalInterface
    interface EntryPredicate {
        boolean test(int entry);
    }
}
