package dev.scemu.snapshot.internal;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.OptimalWrite;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Striped block-range locks of the live volume: the data device is cut into stripes of
 * {@link #stripeBlocks} blocks (stripe {@code (lba + shiftBlocks) / stripeBlocks}), and stripe
 * {@code s} is guarded by lock {@code s mod }{@value #LOCKS} (a {@link ReentrantReadWriteLock}).
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

    static final int LOCKS = 256;
    /** Stripe blocks without a usable preference of the data device (and the target size of a stripe). */
    static final int DEFAULT_STRIPE_BLOCKS = 64;
    /** The largest stripe: a run's buffers are this large. */
    static final int MAX_STRIPE_BLOCKS = 128;

    private final ReentrantReadWriteLock[] locks = new ReentrantReadWriteLock[LOCKS];
    private final int stripeBlocks;
    /** Added to an lba before dividing by {@link #stripeBlocks}: puts stripe boundaries on the device's unit boundaries. */
    private final long shiftBlocks;

    private StripeLocks(int stripeBlocks, long shiftBlocks) {
        this.stripeBlocks = stripeBlocks;
        this.shiftBlocks = shiftBlocks;
        for (int i = 0; i < LOCKS; i++) {
            locks[i] = new ReentrantReadWriteLock();
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
        return stripeBlocks - (int) ((lba + shiftBlocks) % stripeBlocks);
    }

    /** Blocks from {@code lba} to the end of its group of {@value #LOCKS} stripes (a window that takes every lock once). */
    long blocksToWindowEnd(long lba) {
        long window = (long) LOCKS * stripeBlocks;
        return window - (lba + shiftBlocks) % window;
    }

    private int lockOf(long stripe) {
        return (int) (stripe & (LOCKS - 1));
    }

    /** The exclusive lock of the stripe holding {@code lba}. */
    ReentrantReadWriteLock.WriteLock exclusive(long lba) {
        return locks[lockOf(stripeOf(lba))].writeLock();
    }

    /** Takes the shared locks of every stripe {@code [lba, lba + blockCount)} touches, in ascending lock order. */
    void lockShared(long lba, long blockCount) {
        int first = lockOf(stripeOf(lba));
        long stripes = stripeOf(lba + blockCount - 1) - stripeOf(lba) + 1;
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
        int first = lockOf(stripeOf(lba));
        long stripes = stripeOf(lba + blockCount - 1) - stripeOf(lba) + 1;
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
    private int[] indices(long lba, long blockCount) {
        long stripes = stripeOf(lba + blockCount - 1) - stripeOf(lba) + 1;
        if (stripes >= LOCKS) {
            return java.util.stream.IntStream.range(0, LOCKS).toArray();
        }
        int first = lockOf(stripeOf(lba));
        return java.util.stream.IntStream.range(first, first + (int) stripes).map(i -> i & (LOCKS - 1)).sorted()
                .toArray();
    }
}
