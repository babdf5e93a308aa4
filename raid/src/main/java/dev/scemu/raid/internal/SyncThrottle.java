package dev.scemu.raid.internal;

import java.util.function.BooleanSupplier;
import java.util.concurrent.locks.LockSupport;

/**
 * md's {@code speed_limit_min} / {@code speed_limit_max} for resync, rebuild and scrub
 * ({@code md_do_sync}): the pass never runs faster than the maximum; while the array sees host
 * I/O (md's {@code is_mddev_idle} is false: here, host I/O is in progress or arrived within the
 * last {@value #BUSY_NANOS} ns) and the pass would still run at least at the minimum after one more
 * yield ({@link #mayYield}), it yields, {@value #YIELD_MILLIS} ms at a time, until either the host
 * goes quiet or one more yield would take its speed below the minimum. (md's test is "faster than
 * the minimum" before a 500 ms sleep, so its speed dips below the minimum by up to one sleep; here
 * the pass keeps at least its minimum over the window, as long as it gets the CPU for its units.) The speed is measured over a sliding window of one to two seconds (md keeps
 * marks a few seconds apart), so a pass that yielded for a while catches up only to the maximum.
 * The limits are read at every step, so changing them acts on a running pass.
 */
final class SyncThrottle {

    static final long YIELD_MILLIS = 5;
    private static final long MARK_NANOS = 1_000_000_000L;
    /** Host I/O seen within this long counts as a busy array (md compares I/O counts between sync steps). */
    static final long BUSY_NANOS = 50_000_000L;

    private final MdRaidArray array;
    private final BooleanSupplier stopping;
    private long markNanos;
    private long markBytes;
    private long previousMarkNanos;
    private long previousMarkBytes;
    private long lastHostIo;
    private long lastBusyNanos = Long.MIN_VALUE / 2;

    SyncThrottle(MdRaidArray array, BooleanSupplier stopping) {
        this.array = array;
        this.stopping = stopping;
        long now = System.nanoTime();
        markNanos = now;
        previousMarkNanos = now;
        lastHostIo = array.hostIoCount();
    }

    /** Called after each unit, with the bytes the pass has done so far; returns when it may go on. */
    void pace(long doneBytes) {
        while (!stopping.getAsBoolean()) {
            long now = System.nanoTime();
            if (now - markNanos >= MARK_NANOS) {
                previousMarkNanos = markNanos;
                previousMarkBytes = markBytes;
                markNanos = now;
                markBytes = doneBytes;
            }
            long windowNanos = Math.max(1, now - previousMarkNanos);
            long windowBytes = doneBytes - previousMarkBytes;
            double speed = windowBytes * 1e9 / windowNanos;
            long max = array.syncSpeedMax();
            if (max > 0 && speed > max) {
                long dueNanos = (long) (windowBytes * 1e9 / max);
                LockSupport.parkNanos(Math.min(dueNanos - windowNanos, 100_000_000L));
                continue;
            }
            long hostIo = array.hostIoCount();
            if (hostIo != lastHostIo) {
                lastHostIo = hostIo;
                lastBusyNanos = now;
            }
            boolean busy = array.hostIoInFlight() > 0 || now - lastBusyNanos < BUSY_NANOS;
            if (busy && mayYield(windowBytes, windowNanos, array.syncSpeedMin())) {
                LockSupport.parkNanos(YIELD_MILLIS * 1_000_000L);
                continue;
            }
            return;
        }
    }

    /**
     * Whether a pass that did {@code windowBytes} in the last {@code windowNanos} may yield once more
     * to host I/O: only if its speed over the window, counting that yield, stays at least
     * {@code minBytesPerSecond} (so yielding never takes it below its minimum), and only if it did
     * something in the window (a minimum of 0 slows the pass to one unit per window, never stops it).
     */
    static boolean mayYield(long windowBytes, long windowNanos, long minBytesPerSecond) {
        return windowBytes > 0 && windowBytes * 1e9 / (windowNanos + YIELD_MILLIS * 1_000_000L) >= minBytesPerSecond;
    }
}
