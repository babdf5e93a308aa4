package dev.scemu.raid.internal;

import dev.scemu.core.MaskLock;


/**
 * Per-row, per-column mutual exclusion: a fixed table of row locks indexed by the row number
 * modulo the table's size, each of which is a set of <b>column</b> locks. A column is one block
 * offset within the chunk: column {@code c} of a RAID-5 row is member block
 * {@code row * chunkBlocks + c} on every member, data and parity alike (md's {@code stripe_head}:
 * one {@code STRIPE_SIZE} block per member at the same offset). Writers of different columns of
 * one row proceed in parallel; an operation on the whole row (reconstruction, rebuild, resync,
 * scrub, a member trim of the row) takes every column ({@link #lockRow}).
 *
 * <p>Columns are counted in {@code columns} (the engine's chunk, in blocks; 1 for the levels that
 * lock whole units); a lock holds a set of them as a mask of at most 64 bits, one bit per
 * {@code ceil(columns / 64)} consecutive columns ({@link #mask}), so with more than 64 columns a
 * column lock covers a few neighbours too (a superset of what the holder touches: still correct,
 * only coarser).
 *
 * <h2>Ordering rules</h2>
 * <ol>
 *   <li><b>One mask at a time, taken at once.</b> A thread holds the columns of at most one row
 *       lock at a time, and takes all the columns it needs in that row in one step: they are
 *       granted together (one compare-and-set of the row lock's mask) or not at all, never one
 *       after another. So no thread holds some columns while it waits for others, and the table
 *       cannot deadlock, whatever columns threads ask for (the same as acquiring them one by one
 *       in ascending order, without the partial holds). Locks are not reentrant: a thread never
 *       asks again for a row it holds (no path in the engines does).</li>
 *   <li><b>Conflicts are overlapping masks of one row lock.</b> Two holders of one row lock
 *       exclude each other exactly when their masks share a bit. Rows a multiple of the table's
 *       size apart share a row lock, so they conflict when their columns overlap (a false
 *       conflict, never a missed one); any {@code size} consecutive rows have distinct row
 *       locks.</li>
 *   <li><b>Whole-row holders exclude everything in the row.</b> {@link #lockRow} takes every bit,
 *       so it waits for every column holder of the row (and blocks new ones), and a column holder
 *       waits for it: what reads or writes a whole row (or changes state that is per row, such as
 *       a rebuild's recovered offset moving past it) runs alone in that row.</li>
 *   <li><b>Other locks.</b> Metadata, journal and bitmap locks may be taken while holding row
 *       columns, never the other way round (a thread never waits for row columns while it holds
 *       one of those).</li>
 * </ol>
 * Waiting: a holder that releases wakes the first waiter of its row lock, which wakes the next one
 * once it has its columns ({@link dev.scemu.core.MaskLock}); a waiter whose columns are still held parks again,
 * and waiters behind it wait for it (first come, first served per row lock; a new arrival whose
 * columns are free takes them at once, as the non-fair {@code ReentrantLock} did). One exception
 * keeps whole-row operations from starving: while a thread waits for a whole row, a new column
 * arrival on that row lock does not take free columns but queues behind it (column holders of one
 * row overlap, so without this a steady stream of them could keep some column held forever and a
 * rebuild or scrub step would never run). Threads already queued are not held back, so the queue
 * drains in order and nothing waits on a thread queued behind it.
 *
 * <p>Why modulo and {@value #DEFAULT_SIZE} row locks: a write holds its columns across the member
 * reads and writes of its read-modify-write (a few microseconds), and on a machine with fewer
 * cores than writers the holder is often descheduled while holding them. A writer that meets a
 * conflict then parks until the holder runs again, a whole scheduler time slice (the fifth
 * session's JFR: 546 parks in {@code lock} averaging 5 ms, with 4 writers of distinct rows on 2
 * CPUs, when the table was 1,024 hashed locks; the sixth's: 432 parks left, all writers of one
 * row, which columns cut by the number of columns in a row). The table costs about 50 bytes per
 * row lock.
 */
public final class StripeLocks {

    /** Row locks of an array's table. */
    public static final int DEFAULT_SIZE = 4096;

    /** The largest number of column bits a row lock has. */
    static final int MAX_BITS = Long.SIZE;

    private final MaskLock[] locks;
    private final int tableMask;
    private final int columns;
    private final int columnsPerBit;
    private final long all;

    /** A table of at least {@code size} row locks, each over {@code columns} columns (1: whole units only). */
    public StripeLocks(int size, int columns) {
        if (size < 1 || columns < 1) {
            throw new IllegalArgumentException("stripe locks: table size " + size + " and columns " + columns
                    + " must both be at least 1");
        }
        this.columns = columns;
        this.columnsPerBit = (columns + MAX_BITS - 1) / MAX_BITS;
        int bits = (columns + columnsPerBit - 1) / columnsPerBit;
        this.all = bits == MAX_BITS ? -1L : (1L << bits) - 1;
        int n = Integer.highestOneBit(Math.max(1, size - 1)) << 1;
        locks = new MaskLock[n];
        for (int i = 0; i < n; i++) {
            locks[i] = new MaskLock(all);
        }
        tableMask = n - 1;
    }

    /** Row locks in the table (a power of two, at least the size asked for). */
    public int size() {
        return locks.length;
    }

    /** Columns per row. */
    public int columns() {
        return columns;
    }

    /** The mask of every column of a row: what {@link #lockRow} holds. */
    public long all() {
        return all;
    }

    /** The mask of columns {@code [firstColumn, endColumn)}, {@code 0 <= firstColumn < endColumn <= columns}. */
    public long mask(int firstColumn, int endColumn) {
        if (firstColumn < 0 || endColumn > columns || firstColumn >= endColumn) {
            throw new IllegalArgumentException("columns [" + firstColumn + ", " + endColumn + ") are not a range of "
                    + columns + " columns");
        }
        int first = firstColumn / columnsPerBit;
        int last = (endColumn - 1) / columnsPerBit;
        long upTo = last == MAX_BITS - 1 ? -1L : (1L << (last + 1)) - 1;
        return upTo & (-1L << first);
    }

    /** Takes columns {@code mask} of {@code row} (all at once, see Ordering 1), waiting while any is held. */
    public void lock(long row, long mask) {
        checkMask(mask);
        if (mask == all) {
            lockRow(row);
            return;
        }
        MaskLock lock = locks[(int) (row & tableMask)];
        if (!lock.tryLock(mask)) {
            waiting(row, mask);
            lock.lock(mask);
        }
    }

    /** Takes columns {@code mask} of {@code row} if none of them is held; whether it did. */
    public boolean tryLock(long row, long mask) {
        checkMask(mask);
        return locks[(int) (row & tableMask)].tryLock(mask);
    }

    /** Releases columns {@code mask} of {@code row}, which the caller holds. */
    public void unlock(long row, long mask) {
        locks[(int) (row & tableMask)].unlock(mask);
    }

    /** Takes every column of {@code row} (Ordering 3). */
    public void lockRow(long row) {
        MaskLock lock = locks[(int) (row & tableMask)];
        if (!lock.tryLock(all)) {
            waiting(row, all);
            lock.lock(all); // a whole waiter: new column holders queue behind it (Ordering 3)
        }
    }

    public void unlockRow(long row) {
        unlock(row, all);
    }

    /** Told, in tests, that a thread is about to wait for columns of a row (its first attempt failed). */
    interface WaitObserver {
        void waiting(long row, long mask);
    }

    /** Test hook ({@link WaitObserver}); null in production: one volatile read, on the slow path only. */
    volatile WaitObserver observer;

    private void waiting(long row, long mask) {
        WaitObserver o = observer;
        if (o != null) {
            o.waiting(row, mask);
        }
    }

    /** The columns of {@code row}'s row lock held now (by anyone, also rows that share it), for tests. */
    long heldColumns(long row) {
        return locks[(int) (row & tableMask)].held();
    }

    /** Threads waiting for the whole of {@code row}'s row lock, for tests. */
    int rowWaiters(long row) {
        return locks[(int) (row & tableMask)].wholeWaiters();
    }

    /** Threads queued on {@code row}'s row lock (waiting for columns or the whole row), for tests. */
    int queued(long row) {
        return locks[(int) (row & tableMask)].queued();
    }

    private void checkMask(long mask) {
        if (mask == 0 || (mask & ~all) != 0) {
            throw new IllegalArgumentException("column mask " + Long.toHexString(mask) + " is empty or outside "
                    + Long.toHexString(all) + " (" + columns + " columns)");
        }
    }
}
