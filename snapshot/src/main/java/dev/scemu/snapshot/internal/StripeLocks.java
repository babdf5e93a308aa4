package dev.scemu.snapshot.internal;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.OptimalWrite;

/**
 * Striped block-range locks of the live volume: the data device is cut into stripes of
 * {@link #stripeBlocks} blocks (stripe {@code (lba + shiftBlocks) / stripeBlocks}), and stripe
 * {@code s} is guarded by lock {@code s mod }{@value #LOCKS} (a {@link StripeLock}: the blocks of
 * the stripe held by writers, as a bit mask, and a count of readers).
 *
 * <h2>Stripes follow the data device's rows</h2>
 * A write run covers at most one stripe ({@link WritePath}), and the data device receives it as
 * one write. So the stripes are cut where the device below prefers its writes cut
 * ({@link BlockDevice#optimalWrite}): on a RAID-5 array of 4 disks with 64 KiB chunks a row is 48
 * blocks, and the data partition starts 128 KiB into a row. With stripes of 64 blocks from lba 0,
 * a 1 MiB sequential write reached the array as 256 KiB pieces that each ended inside a row: two
 * partial rows per piece, each a read-modify-write with its own parity write (write
 * amplification 1.5 instead of md's 4/3, plus the parity reads). Stripes are therefore whole
 * multiples of the device's unit, aligned to its boundaries: {@code k x unit} with {@code k} the
 * largest that keeps a stripe at most {@value #DEFAULT_STRIPE_BLOCKS} blocks (at least one unit),
 * when that is at most {@value #MAX_STRIPE_BLOCKS} blocks; else (no preference, or rows larger
 * than that) {@value #DEFAULT_STRIPE_BLOCKS} blocks from lba 0. The stripes are a property of the
 * open volume only: nothing on disk depends on them.
 *
 * <h2>What a stripe lock orders</h2>
 * <ul>
 *   <li><b>Blocks</b> ({@link #lockBlocks}): one write run (at most one stripe, see
 *       {@link WritePath}), or the committer writing a committed batch's new data of a range of
 *       one stripe and marking it written, holds exactly the blocks it writes. Holders of
 *       disjoint blocks of one stripe run side by side (a stream of sequential 4 KiB writes lands
 *       in one stripe; with the whole stripe per run they reached the device one at a time,
 *       each paying on its own what a degraded RAID-5 below can share between concurrent writes,
 *       the parity journal's sync). A holder owns the data-device blocks of its range, the
 *       pending batch slots of its lbas and (for a run) the pool blocks it copies into. What the
 *       device below needs of concurrent writes to one of its rows is its own business: its
 *       contract is that a caller of {@link BlockDevice#writeOver} keeps other writes out of
 *       <em>the blocks it writes</em> between its read of them and the write, which this is.</li>
 *   <li><b>Shared</b> ({@link #lockShared}): a read of the live volume or of a snapshot view. It
 *       enters only while no block of the stripe is held, so it sees every write run and every
 *       committer step of the stripe either entirely or not at all. A reader waits while a
 *       blocks-holder waits (writers first, as a non-fair {@code ReentrantReadWriteLock} queues
 *       readers behind a waiting writer), so a stream of reads does not starve writers.</li>
 *   <li><b>Whole stripes</b> ({@link #lockExclusive}): a trim's second step holds every block of
 *       the window's stripes.</li>
 * </ul>
 * Stripes {@code s} and {@code s + }{@value #LOCKS} share a lock; their blocks at the same offset
 * share a bit, which only makes some disjoint holders wait for each other.
 *
 * <h2>Deadlock freedom</h2>
 * A blocks-holder holds blocks of exactly one lock and waits only for the volume's
 * {@code meta} monitor (never for a commit, a pause or another stripe). A shared holder may hold
 * several stripe locks and takes them in ascending <em>lock index</em> order
 * ({@link #lockShared}), and also waits only for {@code meta} while holding them; a whole-window
 * holder takes its locks in the same order. A reader waits only for blocks-holders and for
 * waiting blocks-holders of the lock it takes; those wait only for readers and holders of that
 * same lock, which hold only locks of lower index than any they wait for. So no cycle of waits
 * can form.
 */
final class StripeLocks {

    static final int LOCKS = 256;
    /** Stripe blocks without a usable preference of the data device (and the target size of a stripe). */
    static final int DEFAULT_STRIPE_BLOCKS = 64;
    /** The largest stripe: a run's buffers are this large, and a lock's block mask is two longs. */
    static final int MAX_STRIPE_BLOCKS = 128;

    private final StripeLock[] locks = new StripeLock[LOCKS];
    private final int stripeBlocks;
    /** Added to an lba before dividing by {@link #stripeBlocks}: puts stripe boundaries on the device's unit boundaries. */
    private final long shiftBlocks;

    private StripeLocks(int stripeBlocks, long shiftBlocks) {
        this.stripeBlocks = stripeBlocks;
        this.shiftBlocks = shiftBlocks;
        for (int i = 0; i < LOCKS; i++) {
            locks[i] = new StripeLock();
        }
    }

    /** Stripes of {@value #DEFAULT_STRIPE_BLOCKS} blocks from lba 0. */
    static StripeLocks unaligned() {
        return new StripeLocks(DEFAULT_STRIPE_BLOCKS, 0);
    }

    /** Stripes cut at the units of {@code preferred} (see the class doc). */
    static StripeLocks following(OptimalWrite preferred) {
        int unit = preferred.unitBlocks();
        if (unit <= 1 || unit > MAX_STRIPE_BLOCKS) {
            return unaligned();
        }
        int stripe = Math.max(1, DEFAULT_STRIPE_BLOCKS / unit) * unit;
        return new StripeLocks(stripe, Math.floorMod(-preferred.boundaryLba(), (long) stripe));
    }

    /** Blocks of one stripe (a run's most). */
    int stripeBlocks() {
        return stripeBlocks;
    }

    /** The stripe holding {@code lba}. */
    long stripeOf(long lba) {
        return (lba + shiftBlocks) / stripeBlocks;
    }

    /** Blocks from {@code lba} to the end of its stripe. */
    int blocksToStripeEnd(long lba) {
        return stripeBlocks - offsetInStripe(lba);
    }

    /** Blocks from {@code lba} to the end of its group of {@value #LOCKS} stripes (a window that takes every lock once). */
    long blocksToWindowEnd(long lba) {
        long window = (long) LOCKS * stripeBlocks;
        return window - (lba + shiftBlocks) % window;
    }

    private int offsetInStripe(long lba) {
        return (int) ((lba + shiftBlocks) % stripeBlocks);
    }

    private int lockOf(long stripe) {
        return (int) (stripe & (LOCKS - 1));
    }

    /**
     * Holds blocks {@code [lba, lba + blockCount)}, which lie in one stripe, against every other
     * holder of any of them and against readers of the stripe; waits uninterruptibly.
     */
    void lockBlocks(long lba, int blockCount) {
        int offset = offsetInStripe(lba);
        checkInStripe(offset, blockCount);
        locks[lockOf(stripeOf(lba))].lockBlocks(maskLow(offset, blockCount), maskHigh(offset, blockCount));
    }

    /** Releases what {@link #lockBlocks} took for the same range. */
    void unlockBlocks(long lba, int blockCount) {
        int offset = offsetInStripe(lba);
        locks[lockOf(stripeOf(lba))].unlockBlocks(maskLow(offset, blockCount), maskHigh(offset, blockCount));
    }

    private void checkInStripe(int offset, int blockCount) {
        if (blockCount < 1 || offset + blockCount > stripeBlocks) {
            throw new IllegalArgumentException(blockCount + " blocks at offset " + offset + " leave a stripe of "
                    + stripeBlocks + " blocks");
        }
    }

    /** Bits {@code [offset, offset + count)} of the low word (blocks 0..63 of a stripe). */
    static long maskLow(int offset, int count) {
        return bits(offset, count);
    }

    /** Bits {@code [offset, offset + count)} of the high word (blocks 64..127 of a stripe), shifted down by 64. */
    static long maskHigh(int offset, int count) {
        return bits(offset - 64, count);
    }

    /** The bits {@code [from, from + count)} that fall in {@code [0, 64)}. */
    private static long bits(int from, int count) {
        int start = Math.max(from, 0);
        int end = Math.min(from + count, 64);
        if (end <= start) {
            return 0;
        }
        long ones = end - start == 64 ? -1L : (1L << (end - start)) - 1;
        return ones << start;
    }

    /** Takes the shared locks of every stripe {@code [lba, lba + blockCount)} touches, in ascending lock order. */
    void lockShared(long lba, long blockCount) {
        forEachLock(lba, blockCount, LOCK_SHARED);
    }

    /** Releases what {@link #lockShared} took for the same range. */
    void unlockShared(long lba, long blockCount) {
        forEachLock(lba, blockCount, UNLOCK_SHARED);
    }

    /**
     * Holds every block of every stripe {@code [lba, lba + blockCount)} touches, in ascending
     * lock order (every lock when the range spans {@value #LOCKS} stripes or more), as
     * {@link #lockShared} does; a trim's second step uses it to see a whole window at once.
     */
    void lockExclusive(long lba, long blockCount) {
        forEachLock(lba, blockCount, LOCK_ALL_BLOCKS);
    }

    /** Releases what {@link #lockExclusive} took for the same range. */
    void unlockExclusive(long lba, long blockCount) {
        forEachLock(lba, blockCount, UNLOCK_ALL_BLOCKS);
    }

    private static final int LOCK_SHARED = 0;
    private static final int UNLOCK_SHARED = 1;
    private static final int LOCK_ALL_BLOCKS = 2;
    private static final int UNLOCK_ALL_BLOCKS = 3;

    /** Applies {@code op} to the locks of the stripes {@code [lba, lba + blockCount)} touches, in ascending index order. */
    private void forEachLock(long lba, long blockCount, int op) {
        long first = stripeOf(lba);
        long stripes = stripeOf(lba + blockCount - 1) - first + 1;
        if (stripes >= LOCKS) {
            for (int i = 0; i < LOCKS; i++) {
                apply(locks[i], op);
            }
            return;
        }
        int start = lockOf(first);
        int last = start + (int) stripes - 1;
        for (int i = 0; i <= last - LOCKS; i++) { // wraps: 0..last-LOCKS come first
            apply(locks[i], op);
        }
        for (int i = start; i <= Math.min(last, LOCKS - 1); i++) {
            apply(locks[i], op);
        }
    }

    private static void apply(StripeLock lock, int op) {
        switch (op) {
            case LOCK_SHARED -> lock.lockShared();
            case UNLOCK_SHARED -> lock.unlockShared();
            case LOCK_ALL_BLOCKS -> lock.lockBlocks(-1L, -1L);
            default -> lock.unlockBlocks(-1L, -1L);
        }
    }

    /**
     * One lock: the blocks held (bits 0..63 in {@code low}, 64..127 in {@code high}) and the
     * readers. A monitor: entering and leaving an uncontended lock is one monitor enter and exit
     * each, like the {@code ReentrantReadWriteLock} it replaces.
     */
    static final class StripeLock {
        private long low;
        private long high;
        private int readers;
        private int blocksWaiting;
        private int waiting;

        synchronized void lockBlocks(long maskLow, long maskHigh) {
            if (readers > 0 || (low & maskLow) != 0 || (high & maskHigh) != 0) {
                blocksWaiting++;
                boolean interrupted = false;
                try {
                    while (readers > 0 || (low & maskLow) != 0 || (high & maskHigh) != 0) {
                        interrupted |= await();
                    }
                } finally {
                    blocksWaiting--;
                }
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
            low |= maskLow;
            high |= maskHigh;
        }

        synchronized void unlockBlocks(long maskLow, long maskHigh) {
            if ((low & maskLow) != maskLow || (high & maskHigh) != maskHigh) {
                throw new IllegalMonitorStateException("blocks released that were not held");
            }
            low &= ~maskLow;
            high &= ~maskHigh;
            if (waiting > 0) {
                notifyAll();
            }
        }

        synchronized void lockShared() {
            boolean interrupted = false;
            while (low != 0 || high != 0 || blocksWaiting > 0) {
                interrupted |= await();
            }
            readers++;
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }

        synchronized void unlockShared() {
            if (readers == 0) {
                throw new IllegalMonitorStateException("shared lock released that was not held");
            }
            if (--readers == 0 && waiting > 0) {
                notifyAll();
            }
        }

        /**
         * Caller holds this monitor and waits in a loop: true if the wait was interrupted (the
         * caller waits on, as {@code Lock.lock} does, and sets the flag again once it holds the lock).
         */
        private boolean await() {
            waiting++;
            try {
                wait();
                return false;
            } catch (InterruptedException e) {
                return true;
            } finally {
                waiting--;
            }
        }
    }
}
