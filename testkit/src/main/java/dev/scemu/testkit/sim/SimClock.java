package dev.scemu.testkit.sim;

import java.time.Duration;

/**
 * The simulated clock of a {@link Simulation}: simulated nanoseconds since the start of the run,
 * advanced only by the simulation thread (never by the wall clock). Periodic work (firmware
 * inspection, scrub) is due when the clock passes its deadline; a rebuild "takes" its bytes
 * divided by a simulated rate. Not thread-safe: one simulation thread owns it.
 */
public final class SimClock {

    private long nowNanos;

    /** Simulated nanoseconds since the start of the run. */
    public long nowNanos() {
        return nowNanos;
    }

    public Duration now() {
        return Duration.ofNanos(nowNanos);
    }

    /** Moves the clock forward by {@code nanos} (not negative). */
    public void advanceNanos(long nanos) {
        if (nanos < 0) {
            throw new IllegalArgumentException("cannot move the simulated clock back by " + nanos + " ns");
        }
        nowNanos += nanos;
    }

    public void advance(Duration duration) {
        advanceNanos(duration.toNanos());
    }

    /** Whether the clock reached {@code deadlineNanos}. */
    public boolean reached(long deadlineNanos) {
        return nowNanos >= deadlineNanos;
    }

    @Override
    public String toString() {
        return String.format("t=%.3fs", nowNanos / 1e9);
    }
}
