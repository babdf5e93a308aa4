package dev.scemu.flash.internal;

import dev.scemu.flash.HostIoGate;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The {@link HostIoGate} of a firmware manager, with the two pauses the manager runs. Every host
 * request is admitted under the image that runs when it starts, by {@link #enter()}, and closes its
 * {@link Permit} when it is done.
 *
 * <pre>{@code
 * try (HostIoGate.Permit permit = gate.enter()) {
 *     volume.write(lba, blocks, buffer, 0);
 * }
 * }</pre>
 *
 * <h2>Two ways to pause</h2>
 * <ul>
 *   <li>{@link #switchAndRun}: the firmware switch. New requests are held only while the action
 *       (the activation of the new image) runs; requests already admitted under the old image are
 *       <em>not</em> waited for before it — they finish on their own, and the gate waits for them
 *       after resuming, without holding anyone (as RCU waits for a grace period). So the pause is the
 *       activation alone, however long an in-flight write takes (a COW batch that syncs a memory-mapped
 *       chunk can take hundreds of milliseconds on a loaded machine; it no longer stalls every host
 *       thread behind it). When it returns, no request of the old image is in flight.</li>
 *   <li>{@link #quiesceAndRun}: new requests are held, in-flight ones drain, then the action runs with
 *       no host request in flight, then requests resume. The pause includes the drain. For actions that
 *       must not overlap any host request (the revert after a failed trial boot).</li>
 * </ul>
 *
 * <p>Hot path: {@code enter()} is a volatile read, one atomic increment and a second volatile read;
 * closing the permit is one atomic decrement. No allocation per request: the permit is the shared
 * record of the current admission epoch.
 *
 * <p>Admission race, and why it is safe: a request increments the epoch's in-flight count and only then
 * re-reads the current epoch; a switch first retires the epoch (replaces it) and only then reads the
 * count. With volatile/atomic accesses totally ordered, either the request sees the retirement and backs
 * out (then waits for the resume), or the switch sees its increment and waits for it.
 *
 * <p>Thread-safe. One pause at a time (the firmware manager serializes them).
 */
final class HostIoGateImpl implements HostIoGate {

    /**
     * The permit of one admission epoch, shared by the requests admitted under it; each closes it
     * exactly once when it is done.
     */
    private static final class Epoch implements Permit {
        private final AtomicLong inFlight = new AtomicLong();
        private volatile boolean retired;

        private Epoch() {
        }

        @Override
        public void close() {
            if (inFlight.decrementAndGet() == 0 && retired) {
                synchronized (this) {
                    notifyAll();
                }
            }
        }

        private void retireAndAwaitDrain() {
            retired = true;
            synchronized (this) {
                boolean interrupted = false;
                while (inFlight.get() > 0) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        interrupted = true; // a switch in progress is finished, then the flag restored
                    }
                }
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /**
     * Timing of one pause.
     *
     * @param pauseNanos from holding new requests to letting them in again: the host I/O pause
     * @param drainNanos waiting for requests admitted before the pause to finish. For a
     *                   {@link #switchAndRun switch} it runs after the pause and held nobody; for
     *                   {@link #quiesceAndRun quiesce} it is part of the pause
     * @param drainHeldHostIo whether the drain was part of the pause (quiesce)
     */
    public record Pause(long pauseNanos, long drainNanos, boolean drainHeldHostIo) {
    }

    /** The admission epoch of new requests; null while new requests are held. */
    private volatile Epoch current = new Epoch();
    private final ReentrantLock resumeLock = new ReentrantLock();
    private final Condition resumed = resumeLock.newCondition();
    private final AtomicLong pauses = new AtomicLong();
    private final AtomicLong lastPauseNanos = new AtomicLong();
    private final AtomicLong maxPauseNanos = new AtomicLong();
    private final AtomicLong totalPauseNanos = new AtomicLong();

    @Override
    public Permit enter() {
        while (true) {
            Epoch epoch = current;
            if (epoch != null) {
                epoch.inFlight.incrementAndGet();
                if (current == epoch) {
                    return epoch;
                }
                epoch.close(); // a pause began between the two reads: back out, wait for the resume
            }
            awaitResume();
        }
    }

    private void awaitResume() {
        resumeLock.lock();
        try {
            boolean interrupted = false;
            while (current == null) {
                try {
                    resumed.await();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        } finally {
            resumeLock.unlock();
        }
    }

    /**
     * The firmware switch: holds new host requests, runs {@code action}, lets them in again, then waits
     * (holding nobody) until every request admitted before the switch has finished.
     */
    public Pause switchAndRun(Runnable action) {
        return pause(action, false);
    }

    /** Holds new host requests, waits for in-flight ones, runs {@code action}, lets requests in again. */
    public Pause quiesceAndRun(Runnable action) {
        return pause(action, true);
    }

    private synchronized Pause pause(Runnable action, boolean drainFirst) {
        long held = System.nanoTime();
        Epoch previous = current;
        current = null;
        long drainNanos = 0;
        long released;
        try {
            if (drainFirst) {
                previous.retireAndAwaitDrain();
                drainNanos = System.nanoTime() - held;
            }
            action.run();
        } finally {
            released = System.nanoTime();
            record(released - held); // before the resume: a request admitted after it finds the pause counted
            resumeLock.lock();
            try {
                current = new Epoch();
                resumed.signalAll();
            } finally {
                resumeLock.unlock();
            }
        }
        if (!drainFirst) {
            previous.retireAndAwaitDrain();
            drainNanos = System.nanoTime() - released;
        }
        return new Pause(released - held, drainNanos, drainFirst);
    }

    private void record(long pauseNanos) {
        pauses.incrementAndGet();
        lastPauseNanos.set(pauseNanos);
        maxPauseNanos.accumulateAndGet(pauseNanos, Math::max);
        totalPauseNanos.addAndGet(pauseNanos);
    }

    @Override
    public boolean isPaused() {
        return current == null;
    }

    @Override
    public long inFlight() {
        Epoch epoch = current;
        return epoch == null ? 0 : Math.max(0, epoch.inFlight.get());
    }

    @Override
    public long pauseCount() {
        return pauses.get();
    }

    @Override
    public long lastPauseNanos() {
        return lastPauseNanos.get();
    }

    @Override
    public long maxPauseNanos() {
        return maxPauseNanos.get();
    }

    @Override
    public long totalPauseNanos() {
        return totalPauseNanos.get();
    }
}
