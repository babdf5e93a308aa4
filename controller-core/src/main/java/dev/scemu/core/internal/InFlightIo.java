package dev.scemu.core.internal;

import java.util.concurrent.atomic.LongAdder;

/**
 * Counts I/O calls in progress so that close can wait for them before it unmaps memory or closes a
 * file descriptor (an I/O racing with close must fail with CLOSED, not touch unmapped memory or a
 * reused descriptor). No lock per I/O: a {@link LongAdder} increment and decrement.
 *
 * <p>Use: {@code enter(); try { checkOpen(); ...I/O... } finally { exit(); }}, and in close, after
 * the closed flag is set, {@link #awaitIdle()}. Entering before checking the (volatile) closed flag
 * makes the check and the close's wait see each other: an I/O that saw "open" is counted by the
 * time close reads the counter.
 */
final class InFlightIo {

    private final LongAdder inFlight = new LongAdder();

    void enter() {
        inFlight.increment();
    }

    void exit() {
        inFlight.decrement();
    }

    /** Spins (yielding) until no I/O is in progress; call only after the device is marked closed. */
    void awaitIdle() {
        while (inFlight.sum() != 0) {
            Thread.yield();
        }
    }
}
