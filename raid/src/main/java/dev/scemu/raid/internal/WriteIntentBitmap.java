package dev.scemu.raid.internal;

import java.util.Arrays;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * md's internal write-intent bitmap at run time: one bit per {@code chunkSectors} of member data
 * (from data_offset), set on disk before a write of that region and cleared lazily once the region
 * has been idle across a whole flush interval. After an unclean shutdown only regions whose bit is
 * set need a resync. On-disk format: {@link MdBitmapLayout}.
 *
 * <h2>Pages</h2>
 * The image (header, then the bits) is written in pages of {@value #PAGE_BYTES} bytes, as md
 * writes its bitmap pages ({@code write_sb_page}): page 0 holds the header and the first bits.
 * Only pages whose bits changed are written. Writes of one page are serialized (one writer at a
 * time, the {@code writing} flag), and every write carries the page as it is when that writer
 * takes its snapshot, so a later write never carries older bits than an earlier one.
 *
 * <h2>Ordering</h2>
 * <ol>
 *   <li>{@link #startWrite}: when a region's bit is not yet set, it is set in memory and the caller
 *       waits until a write of the bit's page with FUA, to every present member, has covered it
 *       (md_bitmap_startwrite + the bitmap unplug before the data bio). No member flush: only the
 *       page must be durable before the region's data or parity reaches a member, and FUA gives
 *       exactly that. Concurrent writers whose bits are in one page share one page write: the first
 *       one writes, the others wait for a write whose snapshot came after their bit was set
 *       (group commit). The monitor is held only to change bits and counters, never during I/O.
 *       {@link #startWrites} does the same for a batch of ranges a caller announced (md's plug):
 *       one page write per changed page for all of them, the ranges in flight until
 *       {@link #endWrites}, so their bits cannot clear before the writes were issued.</li>
 *   <li>Lazy clearing, like md's bitmap daemon, which clears a bit only after it has seen the
 *       region idle in two passes {@code daemon_sleep} apart (md_bitmap_daemon_work; mdadm writes
 *       5 s into the header): {@link #beginClear} (before a member flush) records, per bit,
 *       whether the region is idle; {@link #finishClear} (after that flush) clears bits that were
 *       idle at this and the previous flush, saw no write since, and were first seen idle at least
 *       daemon_sleep ago. Without the time rule a volume that flushes often (every snapshot
 *       commit flushes the array) cleared a bit between two writes to its region, and the next
 *       write paid a FUA bitmap write again. Then it writes the changed pages
 *       without FUA or flush: a cleared bit only ever covers data an earlier member flush made
 *       durable, and losing the clear only costs a resync of a clean region.</li>
 *   <li>Bits marked {@link #markNeedsSync needs-sync} (unclean shutdown, new array) are never
 *       cleared by flushes, only once the resync has passed the whole region and flushed it
 *       ({@link #endSyncBelow}, md_bitmap_cond_end_sync) or completed ({@link #closeSync},
 *       md_bitmap_close_sync).</li>
 *   <li>While the array is degraded nothing is cleared and events_cleared does not advance, and
 *       {@link #endWrite} of a write that ran degraded marks its bits needed (md_bitmap_endwrite
 *       with {@code success = false}: NEEDED_MASK), so they stay set until a rebuild has
 *       reconstructed the member ({@link #recoveryDone}). A re-added member resyncs exactly those
 *       regions (#17 divergence 1).</li>
 *   <li>The header's events follow the superblocks': {@link #persistHeader} is called by every
 *       superblock update after the events increment and before the superblocks are written, with
 *       FUA (md_update_sb calls md_bitmap_update_sb first). So after open, and after any cut, the
 *       bitmap's events are never behind the superblocks' (#17 divergence 2: md would report
 *       "bitmap file is out of date" and resync everything).</li>
 * </ol>
 */
public final class WriteIntentBitmap {

    /** Bytes per bitmap page written at a time (md's PAGE_SIZE). */
    public static final int PAGE_BYTES = 4096;
    /** In a {@link #beginClear(long, long)} snapshot: the bit's region was not flushed. */
    private static final long NOT_FLUSHED = -2;

    /** Where bitmap pages go: every present member. */
    public interface Store {
        /**
         * Writes {@code bytes} at byte {@code offset} of the bitmap area of every present member,
         * with FUA if asked. Returns work to run once the page's writer has let go of the page (a
         * member failure is recorded in the superblocks, which writes page 0 again), or null.
         */
        Runnable write(int offset, byte[] bytes, boolean fua);
    }

    private final UUID uuid;
    private final long syncSizeSectors;
    private final int chunkBytes;
    private final long chunkSectors;
    private final long bitCount;
    private final int reservedBytes;
    private final Store store;
    private final LongSupplier events;
    private final BooleanSupplier degraded;

    private final long[] bits;
    private final long[] needsSync;
    /** Bits written while degraded (md's NEEDED from a failed endwrite), kept until a rebuild completes. */
    private final long[] degradedWrites;
    private final int[] inflight;
    private final long[] writeSeq;
    private final long[] idleSeqAtLastFlush;
    /** Per bit: the clock when a flush first saw its region idle (valid while idleSeqAtLastFlush matches). */
    private final long[] idleSinceNanos;
    /** md's daemon_sleep: a bit clears only after its region was idle this long (see Ordering 2). */
    private volatile long daemonSleepNanos = java.util.concurrent.TimeUnit.SECONDS.toNanos(MdBitmapLayout.DEFAULT_DAEMON_SLEEP_SECONDS);
    private volatile LongSupplier clockNanos = System::nanoTime;
    private long eventsCleared;

    /** Per page: incremented when one of its bits (or the header) changes in memory. */
    private final long[] pageChanges;
    /** Per page: the {@link #pageChanges} value the last completed write of the page carried. */
    private final long[] pageWritten;
    /** Per page: a writer holds it. */
    private final boolean[] pageWriting;
    /** Per page: whether that write was made durable (FUA) or not. */
    private final boolean[] pageWrittenDurably;
    private long pageWrites;

    public WriteIntentBitmap(UUID uuid, long syncSizeSectors, int chunkBytes, int reservedBytes, Store store,
                             LongSupplier events, BooleanSupplier degraded) {
        this.uuid = uuid;
        this.syncSizeSectors = syncSizeSectors;
        this.chunkBytes = chunkBytes;
        this.chunkSectors = chunkBytes / 512;
        this.bitCount = Math.max(1, (syncSizeSectors + chunkSectors - 1) / chunkSectors);
        this.reservedBytes = reservedBytes;
        this.store = store;
        this.events = events;
        this.degraded = degraded;
        int words = (int) ((bitCount + 63) >>> 6);
        this.bits = new long[words];
        this.needsSync = new long[words];
        this.degradedWrites = new long[words];
        this.inflight = new int[(int) bitCount];
        this.writeSeq = new long[(int) bitCount];
        this.idleSeqAtLastFlush = new long[(int) bitCount];
        Arrays.fill(idleSeqAtLastFlush, -1);
        this.idleSinceNanos = new long[(int) bitCount];
        int pages = Math.max(1, (imageBytes() + PAGE_BYTES - 1) / PAGE_BYTES);
        this.pageChanges = new long[pages];
        this.pageWritten = new long[pages];
        this.pageWriting = new boolean[pages];
        this.pageWrittenDurably = new boolean[pages];
    }

    public long bitCount() {
        return bitCount;
    }

    /** The header's daemon_sleep: how long a region must stay idle before its bit is cleared. */
    public void setDaemonSleepSeconds(int seconds) {
        this.daemonSleepNanos = java.util.concurrent.TimeUnit.SECONDS.toNanos(seconds);
    }

    /** The clock the idle time is measured with (tests and simulations set their own). */
    public void setClock(LongSupplier nanos) {
        this.clockNanos = nanos;
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

    /** Bytes of the image that hold the header and the bits (the rest of the reserved area is zero). */
    private int imageBytes() {
        long used = MdBitmapLayout.HEADER_BYTES + (bitCount + 7) / 8;
        return (int) Math.min(Math.max(used, 1), reservedBytes > 0 ? reservedBytes : used);
    }

    /** Bit covering member data sector {@code sector}. */
    public long bitOf(long sector) {
        return Math.min(sector / chunkSectors, bitCount - 1);
    }

    private static int pageOfBit(long k) {
        return (int) ((MdBitmapLayout.HEADER_BYTES + (k >>> 3)) / PAGE_BYTES);
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
    public void startWrite(long firstSector, long endSector) {
        int firstPage = -1;
        int lastPage = -1;
        synchronized (this) {
            for (long k = bitOf(firstSector); k <= bitOf(endSector - 1); k++) {
                int page = enterBit(k);
                if (page >= 0) {
                    firstPage = firstPage < 0 ? page : firstPage;
                    lastPage = page;
                }
            }
        }
        for (int page = firstPage; page >= 0 && page <= lastPage; page++) {
            persistPage(page, true);
        }
    }

    /**
     * Counts a write in flight over bit {@code k} (caller holds this monitor) and sets the bit if
     * it was clear: the page holding a newly set bit (to be written before the data), else -1.
     */
    private int enterBit(long k) {
        inflight[(int) k]++;
        writeSeq[(int) k]++;
        if (test(bits, k)) {
            return -1;
        }
        set(bits, k, true);
        int page = pageOfBit(k);
        pageChanges[page]++;
        return page;
    }

    /**
     * {@link #startWrite} of {@code n} ranges at once, member data sectors
     * {@code [firstSectors[i], endSectors[i])}: every new bit is set in one pass, then each page
     * holding a new bit is written once (FUA), where a write per range would write the page once
     * per new bit (md's unplug after a batch of bios). The caller ends the ranges with
     * {@link #endWrites}; until then their bits count as in flight and are never cleared. If a
     * page write fails, the ranges are ended before the exception leaves.
     */
    public void startWrites(long[] firstSectors, long[] endSectors, int n) {
        java.util.BitSet pages = new java.util.BitSet();
        synchronized (this) {
            for (int i = 0; i < n; i++) {
                for (long k = bitOf(firstSectors[i]); k <= bitOf(endSectors[i] - 1); k++) {
                    int page = enterBit(k);
                    if (page >= 0) {
                        pages.set(page);
                    }
                }
            }
        }
        boolean persisted = false;
        try {
            for (int page = pages.nextSetBit(0); page >= 0; page = pages.nextSetBit(page + 1)) {
                persistPage(page, true);
            }
            persisted = true;
        } finally {
            if (!persisted) {
                endWrites(firstSectors, endSectors, n);
            }
        }
    }

    /** {@link #endWrite} of every range {@link #startWrites} started. */
    public void endWrites(long[] firstSectors, long[] endSectors, int n) {
        for (int i = 0; i < n; i++) {
            endWrite(firstSectors[i], endSectors[i]);
        }
    }

    /**
     * The write of member data sectors {@code [firstSector, endSector)} is over. If the array is
     * degraded now, its bits are kept until a rebuild ({@link #recoveryDone}); see Ordering 4.
     */
    public void endWrite(long firstSector, long endSector) {
        boolean ranDegraded = degraded.getAsBoolean();
        synchronized (this) {
            for (long k = bitOf(firstSector); k <= bitOf(endSector - 1); k++) {
                inflight[(int) k]--;
                if (ranDegraded) {
                    set(degradedWrites, k, true);
                }
            }
        }
    }

    /**
     * Writes page {@code page} once it carries every change made to it before this call (another
     * thread's write may carry it: group commit); with {@code durable} only a FUA write counts.
     */
    private void persistPage(int page, boolean durable) {
        long target;
        byte[] snapshot;
        long carried;
        synchronized (this) {
            target = pageChanges[page];
            while (true) {
                if (pageWritten[page] >= target && (pageWrittenDurably[page] || !durable) && !pageWriting[page]) {
                    return;
                }
                if (!pageWriting[page]) {
                    break;
                }
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted waiting for a bitmap page write", e);
                }
            }
            pageWriting[page] = true;
            carried = pageChanges[page];
            snapshot = pageImage(page);
            pageWrites++;
        }
        Runnable after = null;
        boolean written = false;
        try {
            after = store.write(page * PAGE_BYTES, snapshot, durable);
            written = true;
        } finally {
            synchronized (this) {
                pageWriting[page] = false;
                if (written) {
                    pageWrittenDurably[page] = pageWritten[page] == carried ? pageWrittenDurably[page] || durable : durable;
                    pageWritten[page] = carried;
                }
                notifyAll();
            }
        }
        if (after != null) {
            after.run();
        }
    }

    /** Bytes {@code [page * PAGE_BYTES, ...)} of the image as it is now (caller holds the monitor). */
    private byte[] pageImage(int page) {
        byte[] image = image();
        int from = page * PAGE_BYTES;
        int to = Math.min(image.length, from + PAGE_BYTES);
        return Arrays.copyOfRange(image, from, to);
    }

    /**
     * Writes the header page with the current events, FUA: called by every superblock update after
     * it advanced the events and before the superblocks are written; see Ordering 5.
     */
    public void persistHeader() {
        synchronized (this) {
            pageChanges[0]++;
        }
        persistPage(0, true);
    }

    /** Bitmap page writes issued so far (all members count as one), for tests and benchmarks. */
    public synchronized long pageWrites() {
        return pageWrites;
    }

    /** Before a member flush: per bit, the write sequence if the region is idle now, else -1. */
    public synchronized long[] beginClear() {
        long[] snapshot = new long[(int) bitCount];
        for (int k = 0; k < bitCount; k++) {
            snapshot[k] = test(bits, k) && inflight[k] == 0 ? writeSeq[k] : -1;
        }
        return snapshot;
    }

    /**
     * Before a ranged member flush of member data sectors {@code [firstSector, endSector)}: as
     * {@link #beginClear()} for the bits whose whole region lies inside, {@link #NOT_FLUSHED} for
     * every other bit, which {@link #finishClear} then leaves exactly as it was (this flush made
     * none of its region's writes durable).
     */
    public synchronized long[] beginClear(long firstSector, long endSector) {
        long[] snapshot = new long[(int) bitCount];
        java.util.Arrays.fill(snapshot, NOT_FLUSHED);
        long fromBit = (firstSector + chunkSectors - 1) / chunkSectors;
        long toBit = Math.min(bitCount, endSector / chunkSectors);
        for (long k = fromBit; k < toBit; k++) {
            snapshot[(int) k] = test(bits, k) && inflight[(int) k] == 0 ? writeSeq[(int) k] : -1;
        }
        return snapshot;
    }

    /** After the member flush: clears bits idle across two flushes; see Ordering 2 and 4. */
    public void finishClear(long[] snapshot) {
        boolean isDegraded = degraded.getAsBoolean();
        boolean[] changed = new boolean[pageChanges.length];
        boolean any = false;
        long now = clockNanos.getAsLong();
        long minIdle = daemonSleepNanos;
        synchronized (this) {
            for (int k = 0; k < bitCount; k++) {
                long seq = snapshot[k];
                if (seq == NOT_FLUSHED) {
                    continue;
                }
                boolean idle = seq >= 0 && inflight[k] == 0 && writeSeq[k] == seq;
                if (idle && idleSeqAtLastFlush[k] != seq) {
                    idleSinceNanos[k] = now; // first flush to see the region idle since its last write
                }
                if (!isDegraded && idle && idleSeqAtLastFlush[k] == seq && now - idleSinceNanos[k] >= minIdle
                        && !test(needsSync, k)
                        && !test(degradedWrites, k) && test(bits, k)) {
                    set(bits, k, false);
                    int page = pageOfBit(k);
                    pageChanges[page]++;
                    changed[page] = true;
                    any = true;
                }
                idleSeqAtLastFlush[k] = idle ? seq : -1;
            }
            if (any) {
                eventsCleared = events.getAsLong();
                pageChanges[0]++;
                changed[0] = true;
            }
        }
        for (int page = 0; page < changed.length; page++) {
            if (changed[page]) {
                persistPage(page, false);
            }
        }
    }

    /**
     * At a clean stop, after the final member flush: clears every bit not waiting for a resync,
     * unless degraded (then the bits and events_cleared stay); the caller writes the image.
     */
    public synchronized void clearAllIdle() {
        if (degraded.getAsBoolean()) {
            return;
        }
        for (int k = 0; k < bitCount; k++) {
            if (inflight[k] == 0 && !test(needsSync, k) && !test(degradedWrites, k)) {
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

    /**
     * Whether a bit covering member data sectors {@code [firstSector, endSector)} waits for a resync
     * (md_bitmap_start_sync asks it per bitmap chunk). A resync unit may span several bits (a RAID-1
     * region or a RAID chunk larger than the bitmap chunk): it needs a resync if any of them does.
     */
    public synchronized boolean needsSync(long firstSector, long endSector) {
        for (long k = bitOf(firstSector); k <= bitOf(endSector - 1); k++) {
            if (test(needsSync, k)) {
                return true;
            }
        }
        return false;
    }

    public synchronized long needsSyncCount() {
        long count = 0;
        for (long word : needsSync) {
            count += Long.bitCount(word);
        }
        return count;
    }

    /**
     * The resync has passed member data sector {@code sector} and the members were flushed behind
     * it (md_bitmap_cond_end_sync): every bit whose whole region lies below it no longer waits for
     * a resync, and later flushes may clear it. A bit whose region the resync has only entered is
     * left for a later call (md rounds the sector down to a bitmap chunk the same way).
     */
    public synchronized void endSyncBelow(long sector) {
        long below = sector >= syncSizeSectors ? bitCount : Math.min(bitCount, sector / chunkSectors);
        int fullWords = (int) (below >>> 6);
        Arrays.fill(needsSync, 0, fullWords, 0L); // a word at a time: a pass calls this once per bitmap chunk
        if ((below & 63) != 0) {
            needsSync[fullWords] &= -1L << (below & 63);
        }
    }

    /**
     * The resync pass completed over the whole member and the members were flushed
     * (md_bitmap_close_sync ends the sync of every bitmap chunk): nothing waits for a resync.
     */
    public synchronized void closeSync() {
        Arrays.fill(needsSync, 0);
    }

    /**
     * A rebuild reconstructed a whole member and the members were flushed: the regions written
     * while degraded are redundant again and their bits may be cleared by later flushes.
     */
    public synchronized void recoveryDone() {
        Arrays.fill(degradedWrites, 0);
    }

    public synchronized long dirtyCount() {
        long count = 0;
        for (long word : bits) {
            count += Long.bitCount(word);
        }
        return count;
    }

    /** Loads bits read from disk; they count as written (the disk holds them). */
    public synchronized void load(long[] onDisk) {
        System.arraycopy(onDisk, 0, bits, 0, Math.min(onDisk.length, bits.length));
    }

    /** Header and bits as they go to disk. */
    public byte[] image() {
        return image(events.getAsLong());
    }

    /** Header (with events {@code eventsOfHeader}) and bits as they go to disk. */
    public synchronized byte[] image(long eventsOfHeader) {
        MdBitmapLayout.Header header = new MdBitmapLayout.Header(uuid, eventsOfHeader, eventsCleared,
                syncSizeSectors, 0, chunkBytes, reservedBytes / 512);
        return MdBitmapLayout.encode(header, bits, reservedBytes);
    }

    public synchronized long eventsCleared() {
        return eventsCleared;
    }

    public synchronized void setEventsCleared(long value) {
        eventsCleared = value;
    }
}
