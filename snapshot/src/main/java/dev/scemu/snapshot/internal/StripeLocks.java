package dev.scemu.snapshot.internal;

import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Striped block-range locks of the live volume: the data device is cut into stripes of
 * {@value #STRIPE_BLOCKS} blocks (stripe {@code lba >>> 6}), and stripe {@code s} is guarded by
 * lock {@code s mod }{@value #LOCKS} (a {@link ReentrantReadWriteLock}).
 *
 * <h2>What a stripe lock orders</h2>
 * <ul>
 *   <li><b>Exclusive</b>: one write run (at most one stripe, see {@link WritePath}), or the
 *       committer writing a committed batch's new data of that stripe and removing it from the
 *       batch index. A holder owns the data-device blocks of the stripe, the pending batch slots
 *       of its lbas and (for a run) the pool blocks it copies into.</li>
 *   <li><b>Shared</b>: a read of the live volume or of a snapshot view; the reader sees every
 *       write run and every committer step of the stripe either entirely or not at all.</li>
 * </ul>
 *
 * <h2>Deadlock freedom</h2>
 * An exclusive holder holds exactly one stripe lock and waits only for the volume's
 * {@code meta} monitor (never for a commit, a pause or another stripe). A shared holder may hold
 * several stripe locks and takes them in ascending <em>lock index</em> order
 * ({@link #lockShared}), and also waits only for {@code meta} while holding them. So no cycle of
 * waits can form.
 */
final class StripeLocks {

    static final int STRIPE_SHIFT = 6;
    static final int STRIPE_BLOCKS = 1 << STRIPE_SHIFT;
    static final int LOCKS = 256;

    private final ReentrantReadWriteLock[] locks = new ReentrantReadWriteLock[LOCKS];

    StripeLocks() {
        for (int i = 0; i < LOCKS; i++) {
            locks[i] = new ReentrantReadWriteLock();
        }
    }

    /** Blocks from {@code lba} to the end of its stripe. */
    static int blocksToStripeEnd(long lba) {
        return STRIPE_BLOCKS - (int) (lba & (STRIPE_BLOCKS - 1));
    }

    /** The exclusive lock of the stripe holding {@code lba}. */
    ReentrantReadWriteLock.WriteLock exclusive(long lba) {
        return locks[(int) ((lba >>> STRIPE_SHIFT) & (LOCKS - 1))].writeLock();
    }

    /** Takes the shared locks of every stripe {@code [lba, lba + blockCount)} touches, in ascending lock order. */
    void lockShared(long lba, long blockCount) {
        int first = (int) ((lba >>> STRIPE_SHIFT) & (LOCKS - 1));
        long stripes = ((lba + blockCount - 1) >>> STRIPE_SHIFT) - (lba >>> STRIPE_SHIFT) + 1;
        if (stripes >= LOCKS) {
            for (int i = 0; i < LOCKS; i++) {
                locks[i].readLock().lock();
            }
            return;
        }
        int last = first + (int) stripes - 1;
        if (last >= LOCKS) { // wraps: 0..last-LOCKS, then first..LOCKS-1
            for (int i = 0; i <= last - LOCKS; i++) {
                locks[i].readLock().lock();
            }
            for (int i = first; i < LOCKS; i++) {
                locks[i].readLock().lock();
            }
        } else {
            for (int i = first; i <= last; i++) {
                locks[i].readLock().lock();
            }
        }
    }

    /** Releases what {@link #lockShared} took for the same range. */
    void unlockShared(long lba, long blockCount) {
        int first = (int) ((lba >>> STRIPE_SHIFT) & (LOCKS - 1));
        long stripes = ((lba + blockCount - 1) >>> STRIPE_SHIFT) - (lba >>> STRIPE_SHIFT) + 1;
        if (stripes >= LOCKS) {
            for (int i = 0; i < LOCKS; i++) {
                locks[i].readLock().unlock();
            }
            return;
        }
        int last = first + (int) stripes - 1;
        if (last >= LOCKS) {
            for (int i = 0; i <= last - LOCKS; i++) {
                locks[i].readLock().unlock();
            }
            for (int i = first; i < LOCKS; i++) {
                locks[i].readLock().unlock();
            }
        } else {
            for (int i = first; i <= last; i++) {
                locks[i].readLock().unlock();
            }
        }
    }

    /**
     * Takes the exclusive locks of every stripe {@code [lba, lba + blockCount)} touches, in
     * ascending lock order (every lock when the range spans {@value #LOCKS} stripes or more), as
     * {@link #lockShared} does; a trim's second step uses it to see a whole window at once.
     */
    void lockExclusive(long lba, long blockCount) {
        for (int i : indices(lba, blockCount)) {
            locks[i].writeLock().lock();
        }
    }

    /** Releases what {@link #lockExclusive} took for the same range. */
    void unlockExclusive(long lba, long blockCount) {
        for (int i : indices(lba, blockCount)) {
            locks[i].writeLock().unlock();
        }
    }

    /** The lock indices of the stripes {@code [lba, lba + blockCount)} touches, ascending. */
    private static int[] indices(long lba, long blockCount) {
        long stripes = ((lba + blockCount - 1) >>> STRIPE_SHIFT) - (lba >>> STRIPE_SHIFT) + 1;
        if (stripes >= LOCKS) {
            return java.util.stream.IntStream.range(0, LOCKS).toArray();
        }
        int first = (int) ((lba >>> STRIPE_SHIFT) & (LOCKS - 1));
        return java.util.stream.IntStream.range(first, first + (int) stripes).map(i -> i & (LOCKS - 1)).sorted()
                .toArray();
    }
}
