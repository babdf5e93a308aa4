package dev.scemu.raid.internal;

import java.util.concurrent.locks.ReentrantLock;

/**
 * Per-stripe mutual exclusion: a fixed table of locks indexed by the stripe number modulo the
 * table's size, so writers of one stripe serialize (parity stays consistent) while different
 * stripes proceed in parallel. Any {@code size} consecutive stripes have distinct locks, so two
 * stripes share a lock only when they are a multiple of {@code size} apart: an array of at most
 * {@code size} rows never has a false conflict, and random writes over a larger one meet one with
 * probability {@code 1/size} per pair in flight.
 *
 * <p>Why modulo and {@value #DEFAULT_SIZE} locks: a write holds its row's lock across the member
 * reads and writes of its read-modify-write (a few microseconds), and on a machine with fewer
 * cores than writers the holder is often descheduled while holding it. A writer that meets a
 * false conflict then parks until the holder runs again, a whole scheduler time slice (the fifth
 * session's JFR: 546 parks in {@code lock} averaging 5 ms, with 4 writers of distinct rows on 2
 * CPUs, when the table was 1,024 hashed locks). The table costs about 50 bytes per lock.
 *
 * <p>Ordering: a thread holds at most one stripe lock at a time, so the table cannot deadlock;
 * metadata and bitmap locks may be taken while holding a stripe lock, never the other way round.
 */
public final class StripeLocks {

    /** Locks of an array's table. */
    public static final int DEFAULT_SIZE = 4096;

    private final ReentrantLock[] locks;
    private final int mask;

    public StripeLocks(int size) {
        int n = Integer.highestOneBit(Math.max(1, size - 1)) << 1;
        locks = new ReentrantLock[n];
        for (int i = 0; i < n; i++) {
            locks[i] = new ReentrantLock();
        }
        mask = n - 1;
    }

    /** Locks in the table (a power of two, at least the size asked for). */
    public int size() {
        return locks.length;
    }

    public ReentrantLock lockOf(long stripe) {
        return locks[(int) (stripe & mask)];
    }

    public ReentrantLock lock(long stripe) {
        ReentrantLock lock = lockOf(stripe);
        lock.lock();
        return lock;
    }
}
