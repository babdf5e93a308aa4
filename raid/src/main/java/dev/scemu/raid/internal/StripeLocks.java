package dev.scemu.raid.internal;

import java.util.concurrent.locks.ReentrantLock;

/**
 * Per-stripe mutual exclusion: a fixed table of locks indexed by a hash of the stripe number, so
 * writers of one stripe serialize (parity stays consistent) while different stripes proceed in
 * parallel (two stripes share a lock only on a hash collision, 1 in {@code size}).
 *
 * <p>Ordering: a thread holds at most one stripe lock at a time, so the table cannot deadlock;
 * metadata and bitmap locks may be taken while holding a stripe lock, never the other way round.
 */
public final class StripeLocks {

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

    public ReentrantLock lockOf(long stripe) {
        long h = stripe * 0x9E3779B97F4A7C15L;
        return locks[(int) (h >>> 40) & mask];
    }

    public ReentrantLock lock(long stripe) {
        ReentrantLock lock = lockOf(stripe);
        lock.lock();
        return lock;
    }
}
