package dev.scemu.nbd.internal;

import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Striped per-block locks of one export that keep read-modify-write updates of partial blocks
 * from losing concurrent writes. Block {@code lba} maps to stripe {@code lba % 64}, so a set of
 * stripes fits one {@code long} mask.
 *
 * <p>A write takes the stripes of the blocks it covers: <em>shared</em> for blocks it overwrites
 * completely, <em>exclusive</em> for partial blocks it reads, patches and writes back. Plain
 * writes therefore run concurrently with each other, while a read-modify-write excludes every
 * other write of its partial blocks between its read and its write. Reads take no lock.
 *
 * <p>Stripes are always taken in ascending index order (each at most once), so lock holders never
 * deadlock.
 */
final class BlockLocks {

    static final int STRIPES = 64;

    private final ReentrantReadWriteLock[] stripes = new ReentrantReadWriteLock[STRIPES];

    BlockLocks() {
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new ReentrantReadWriteLock();
        }
    }

    /** Mask of the stripes of blocks {@code [lba, lba + blockCount)}. */
    static long rangeMask(long lba, long blockCount) {
        if (blockCount <= 0) {
            return 0L;
        }
        if (blockCount >= STRIPES) {
            return -1L;
        }
        long bits = (1L << blockCount) - 1;
        return Long.rotateLeft(bits, (int) (lba & (STRIPES - 1)));
    }

    /** Mask of the stripe of block {@code lba}. */
    static long blockMask(long lba) {
        return 1L << (lba & (STRIPES - 1));
    }

    /** Takes the stripes of {@code exclusiveMask} exclusively and the other stripes of {@code sharedMask} shared. */
    void lock(long sharedMask, long exclusiveMask) {
        long all = sharedMask | exclusiveMask;
        while (all != 0) {
            int stripe = Long.numberOfTrailingZeros(all);
            long bit = 1L << stripe;
            if ((exclusiveMask & bit) != 0) {
                stripes[stripe].writeLock().lock();
            } else {
                stripes[stripe].readLock().lock();
            }
            all &= ~bit;
        }
    }

    /** Releases what {@link #lock} took with the same masks. */
    void unlock(long sharedMask, long exclusiveMask) {
        long all = sharedMask | exclusiveMask;
        while (all != 0) {
            int stripe = Long.numberOfTrailingZeros(all);
            long bit = 1L << stripe;
            if ((exclusiveMask & bit) != 0) {
                stripes[stripe].writeLock().unlock();
            } else {
                stripes[stripe].readLock().unlock();
            }
            all &= ~bit;
        }
    }
}
