package dev.scemu.raid.internal;

import java.util.Arrays;
import java.util.UUID;
import java.util.function.LongSupplier;

/**
 * md's internal write-intent bitmap at run time: one bit per {@code chunkSectors} of member data
 * (from data_offset), set on disk before a write of that region and cleared lazily once the region
 * has been idle across a whole flush interval. After an unclean shutdown only regions whose bit is
 * set need a resync. On-disk format: {@link MdBitmapLayout}.
 *
 * <p>Ordering:
 * <ol>
 *   <li>{@link #startWrite}: when a region's bit is not yet set, it is set and the bitmap written and
 *       flushed on every member before the call returns, so no data or parity of the region reaches
 *       a member before its bit is durable.</li>
 *   <li>{@link #beginClear} (before a member flush) records, per bit, whether the region is idle;
 *       {@link #finishClear} (after that flush) clears bits that were idle at this and the previous
 *       flush and saw no write since, then writes the bitmap without flushing: a cleared bit only
 *       ever covers data that an earlier member flush made durable.</li>
 *   <li>Bits marked {@link #markNeedsSync needs-sync} (unclean shutdown, new array) are never
 *       cleared by flushes, only by {@link #syncDone} after the region was resynced.</li>
 * </ol>
 */
public final class WriteIntentBitmap {

    /** Where the bitmap image goes: every present member, flushed or not. */
    public interface Store {
        void persist(byte[] image, boolean flush);
    }

    private final UUID uuid;
    private final long syncSizeSectors;
    private final int chunkBytes;
    private final long chunkSectors;
    private final long bitCount;
    private final int reservedBytes;
    private final Store store;
    private final LongSupplier events;

    private final long[] bits;
    private final long[] needsSync;
    private final int[] inflight;
    private final long[] writeSeq;
    private final long[] idleSeqAtLastFlush;
    private long eventsCleared;

    public WriteIntentBitmap(UUID uuid, long syncSizeSectors, int chunkBytes, int reservedBytes, Store store,
                             LongSupplier events) {
        this.uuid = uuid;
        this.syncSizeSectors = syncSizeSectors;
        this.chunkBytes = chunkBytes;
        this.chunkSectors = chunkBytes / 512;
        this.bitCount = Math.max(1, (syncSizeSectors + chunkSectors - 1) / chunkSectors);
        this.reservedBytes = reservedBytes;
        this.store = store;
        this.events = events;
        int words = (int) ((bitCount + 63) >>> 6);
        this.bits = new long[words];
        this.needsSync = new long[words];
        this.inflight = new int[(int) bitCount];
        this.writeSeq = new long[(int) bitCount];
        this.idleSeqAtLastFlush = new long[(int) bitCount];
        Arrays.fill(idleSeqAtLastFlush, -1);
    }

    public long bitCount() {
        return bitCount;
    }

    public long chunkSectors() {
        return chunkSectors;
    }

    public int chunkBytes() {
        return chunkBytes;
    }

    public int reservedBytes() {
        return reservedBytes;
    }

    /** Bit covering member data sector {@code sector}. */
    public long bitOf(long sector) {
        return Math.min(sector / chunkSectors, bitCount - 1);
    }

    private static boolean test(long[] set, long k) {
        return (set[(int) (k >>> 6)] & (1L << (k & 63))) != 0;
    }

    private static void set(long[] set, long k, boolean value) {
        if (value) {
            set[(int) (k >>> 6)] |= 1L << (k & 63);
        } else {
            set[(int) (k >>> 6)] &= ~(1L << (k & 63));
        }
    }

    /** Registers a write of member data sectors {@code [firstSector, endSector)}; see Ordering 1. */
    public synchronized void startWrite(long firstSector, long endSector) {
        boolean newlySet = false;
        for (long k = bitOf(firstSector); k <= bitOf(endSector - 1); k++) {
            inflight[(int) k]++;
            writeSeq[(int) k]++;
            if (!test(bits, k)) {
                set(bits, k, true);
                newlySet = true;
            }
        }
        if (newlySet) {
            store.persist(image(), true);
        }
    }

    public synchronized void endWrite(long firstSector, long endSector) {
        for (long k = bitOf(firstSector); k <= bitOf(endSector - 1); k++) {
            inflight[(int) k]--;
        }
    }

    /** Before a member flush: per bit, the write sequence if the region is idle now, else -1. */
    public synchronized long[] beginClear() {
        long[] snapshot = new long[(int) bitCount];
        for (int k = 0; k < bitCount; k++) {
            snapshot[k] = test(bits, k) && inflight[k] == 0 ? writeSeq[k] : -1;
        }
        return snapshot;
    }

    /** After the member flush: clears bits idle across two flushes; see Ordering 2. */
    public synchronized void finishClear(long[] snapshot) {
        boolean cleared = false;
        for (int k = 0; k < bitCount; k++) {
            long seq = snapshot[k];
            boolean idle = seq >= 0 && inflight[k] == 0 && writeSeq[k] == seq;
            if (idle && idleSeqAtLastFlush[k] == seq && !test(needsSync, k) && test(bits, k)) {
                set(bits, k, false);
                cleared = true;
            }
            idleSeqAtLastFlush[k] = idle ? seq : -1;
        }
        if (cleared) {
            eventsCleared = events.getAsLong();
            store.persist(image(), false);
        }
    }

    /** At a clean stop, after the final member flush: clears every bit not waiting for a resync. */
    public synchronized void clearAllIdle() {
        for (int k = 0; k < bitCount; k++) {
            if (inflight[k] == 0 && !test(needsSync, k)) {
                set(bits, k, false);
            }
        }
        eventsCleared = events.getAsLong();
    }

    /** Marks every bit set on disk as needing a resync (assembly after an unclean shutdown). */
    public synchronized void markSetBitsNeedSync() {
        System.arraycopy(bits, 0, needsSync, 0, bits.length);
    }

    /** Sets every bit and marks it for resync (a new array that is not assumed clean). */
    public synchronized void markAllNeedSync() {
        for (long k = 0; k < bitCount; k++) {
            set(bits, k, true);
            set(needsSync, k, true);
        }
    }

    public synchronized boolean needsSync(long bit) {
        return test(needsSync, bit);
    }

    public synchronized long needsSyncCount() {
        long count = 0;
        for (long word : needsSync) {
            count += Long.bitCount(word);
        }
        return count;
    }

    /** The region of {@code bit} was resynced (and flushed): its bit may be cleared by later flushes. */
    public synchronized void syncDone(long bit) {
        set(needsSync, bit, false);
    }

    public synchronized long dirtyCount() {
        long count = 0;
        for (long word : bits) {
            count += Long.bitCount(word);
        }
        return count;
    }

    /** Loads bits read from disk. */
    public synchronized void load(long[] onDisk) {
        System.arraycopy(onDisk, 0, bits, 0, Math.min(onDisk.length, bits.length));
    }

    /** Header and bits as they go to disk. */
    public synchronized byte[] image() {
        MdBitmapLayout.Header header = new MdBitmapLayout.Header(uuid, events.getAsLong(), eventsCleared,
                syncSizeSectors, 0, chunkBytes, reservedBytes / 512);
        return MdBitmapLayout.encode(header, bits, reservedBytes);
    }

    public synchronized void setEventsCleared(long value) {
        eventsCleared = value;
    }
}
