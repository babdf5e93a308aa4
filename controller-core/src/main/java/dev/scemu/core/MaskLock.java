package dev.scemu.core;

import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.locks.AbstractQueuedLongSynchronizer;

/**
 * A lock over up to 64 parts, taken and released as masks: holders of disjoint parts hold it
 * together, holders of overlapping parts exclude each other. A thread takes all the parts it asks
 * for at once (one compare-and-set) or none, so no holder waits for parts while it holds others of
 * the same lock. The parts are what the owner says: the columns of a RAID-5 row
 * ({@code StripeLocks}, md's {@code stripe_head}), the blocks of a member region
 * ({@link FaultInjectingDevice}).
 *
 * <p>Waiting: waiters queue first come, first served (AQS shared mode; a releasing holder wakes the
 * first waiter, which wakes the next once it holds its parts); a new arrival whose parts are free
 * takes them at once. One exception keeps a thread that waits for every part from starving: while
 * one waits, new arrivals for some parts queue behind it instead of taking free ones (holders of
 * some parts overlap, so a steady stream of them could otherwise keep a part held forever). Threads
 * already queued are not held back, so the queue drains in order. Not reentrant.
 */
public final class MaskLock {

    private static final AtomicIntegerFieldUpdater<MaskLock> WHOLE_WAITERS =
            AtomicIntegerFieldUpdater.newUpdater(MaskLock.class, "wholeWaiters");

    private final Sync sync = new Sync();
    /** The mask of every part: {@link #lock} of it counts as a whole waiter while it waits. */
    private final long all;
    /** Threads waiting for every part (new partial arrivals queue behind them). */
    private volatile int wholeWaiters;

    /** A lock over the parts of {@code all} (a non-zero mask). */
    public MaskLock(long all) {
        if (all == 0) {
            throw new IllegalArgumentException("a mask lock needs at least one part");
        }
        this.all = all;
    }

    /** The state is the mask of the parts held. */
    private final class Sync extends AbstractQueuedLongSynchronizer {
        private static final long serialVersionUID = 1L;

        @Override
        protected long tryAcquireShared(long mask) {
            if (mask != all && wholeWaiters > 0 && !isQueued(Thread.currentThread())) {
                return -1; // a thread waits for every part: queue behind it rather than overlap the holders
            }
            for (;;) {
                long held = getState();
                if ((held & mask) != 0) {
                    return -1;
                }
                if (compareAndSetState(held, held | mask)) {
                    return 1;
                }
            }
        }

        @Override
        protected boolean tryReleaseShared(long mask) {
            for (;;) {
                long held = getState();
                if ((held & mask) != mask) {
                    throw new IllegalMonitorStateException("parts " + Long.toHexString(mask)
                            + " released but the lock holds " + Long.toHexString(held));
                }
                if (compareAndSetState(held, held & ~mask)) {
                    return true;
                }
            }
        }

        long held() {
            return getState();
        }
    }

    /** Takes parts {@code mask} if none of them is held (nor, for some parts, a whole waiter queued); whether it did. */
    public boolean tryLock(long mask) {
        return sync.tryAcquireShared(mask) >= 0;
    }

    /** Takes parts {@code mask}, all at once, waiting while any is held. */
    public void lock(long mask) {
        if (sync.tryAcquireShared(mask) >= 0) {
            return;
        }
        if (mask != all) {
            sync.acquireShared(mask);
            return;
        }
        WHOLE_WAITERS.incrementAndGet(this);
        try {
            sync.acquireShared(mask);
        } finally {
            WHOLE_WAITERS.decrementAndGet(this);
        }
    }

    /** Releases parts {@code mask}, which the caller holds. */
    public void unlock(long mask) {
        sync.releaseShared(mask);
    }

    /** The parts held now, by anyone. */
    public long held() {
        return sync.held();
    }

    /** Threads waiting for every part. */
    public int wholeWaiters() {
        return wholeWaiters;
    }

    /** Threads queued (waiting for some or every part). */
    public int queued() {
        return sync.getQueueLength();
    }
}
