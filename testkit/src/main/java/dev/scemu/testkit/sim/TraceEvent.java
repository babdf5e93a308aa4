package dev.scemu.testkit.sim;

/**
 * One event of a simulation trace.
 *
 * @param step      index of the simulation step (0-based)
 * @param timeNanos simulated time of the event
 * @param type      what happened
 * @param detail    the event's values (lba, block count, member, version...), stable across runs
 */
public record TraceEvent(int step, long timeNanos, EventType type, String detail) {
    @Override
    public String toString() {
        return String.format("#%d t=%.3fs %s %s", step, timeNanos / 1e9, type, detail);
    }
}
