package dev.scemu.flash;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The one point where a firmware switch pauses host I/O. Host I/O paths hold a {@link Permit}
 * (shared) for the duration of each request; the switch takes the gate exclusively, which waits
 * for in-flight requests to drain and holds new ones until the switch is done.
 *
 * <pre>{@code
 * try (HostIoGate.Permit permit = gate.enter()) {
 *     volume.write(lba, blocks, buffer, 0);
 * }
 * }</pre>
 */
public final class HostIoGate {

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Permit permit = new Permit(lock.readLock());
    private final AtomicLong pauses = new AtomicLong();
    private final AtomicLong lastPauseNanos = new AtomicLong();
    private final AtomicLong maxPauseNanos = new AtomicLong();

    /** Held by a host request; closing it lets a pending switch proceed. */
    public static final class Permit implements AutoCloseable {
        private final ReentrantReadWriteLock.ReadLock readLock;

        private Permit(ReentrantReadWriteLock.ReadLock readLock) {
            this.readLock = readLock;
        }

        @Override
        public void close() {
            readLock.unlock();
        }
    }

    /** Timing of one pause. */
    public record Pause(long drainNanos, long pauseNanos) {
    }

    /** Enters for one host request; blocks while a switch is in progress. */
    public Permit enter() {
        lock.readLock().lock();
        return permit;
    }

    /**
     * Pauses host I/O, runs {@code action}, resumes. {@code pauseNanos} runs from asking for the
     * gate (new requests wait from then on) to the release: it includes {@code drainNanos}, the
     * wait for in-flight requests.
     */
    public Pause pauseAndRun(Runnable action) {
        long asked = System.nanoTime();
        lock.writeLock().lock();
        long acquired = System.nanoTime();
        long released;
        try {
            action.run();
        } finally {
            released = System.nanoTime();
            lock.writeLock().unlock();
            pauses.incrementAndGet();
            lastPauseNanos.set(released - asked);
            maxPauseNanos.accumulateAndGet(released - asked, Math::max);
        }
        return new Pause(acquired - asked, released - asked);
    }

    public boolean isPaused() {
        return lock.isWriteLocked();
    }

    public long pauseCount() {
        return pauses.get();
    }

    public long lastPauseNanos() {
        return lastPauseNanos.get();
    }

    public long maxPauseNanos() {
        return maxPauseNanos.get();
    }
}
