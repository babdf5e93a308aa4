package dev.scemu.flash;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs {@link FirmwareManager#inspect()} on a schedule: once per {@link #period()} after
 * {@link #start}, on the given executor (a period of zero: no schedule, ticked by hand only). {@link #tick()} is exactly what each scheduled run does,
 * so tests (and a control unit with its own scheduler) drive it deterministically. A tick that
 * finds the manager busy (an update in progress) skips rather than waits. A failing inspection
 * raises {@link FirmwareEvent.Type#INSPECTION_FAILED} and the schedule goes on.
 */
public final class PeriodicInspector implements AutoCloseable {

    private final FirmwareManager manager;
    private final Duration period;
    private final AtomicLong ticks = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong skipped = new AtomicLong();
    private volatile ScheduledFuture<?> future;

    PeriodicInspector(FirmwareManager manager, Duration period) {
        if (period.isNegative()) {
            throw new FlashException(FlashError.INVALID_ARGUMENT, "inspection period " + period
                    + " must be positive, or zero for an inspector that is only ticked by hand");
        }
        this.manager = manager;
        this.period = period;
    }

    public Duration period() {
        return period;
    }

    /** Schedules {@link #tick()} every {@link #period()} (fixed delay) on {@code executor}. */
    public synchronized PeriodicInspector start(ScheduledExecutorService executor) {
        if (future != null) {
            throw new FlashException(FlashError.INVALID_ARGUMENT, "periodic inspection is already started");
        }
        if (period.isZero()) {
            throw new FlashException(FlashError.INVALID_ARGUMENT, "an inspector of period zero is only ticked by hand");
        }
        long nanos = period.toNanos();
        future = executor.scheduleWithFixedDelay(this::tick, nanos, nanos, TimeUnit.NANOSECONDS);
        return this;
    }

    /**
     * Runs one inspection now; returns its report, or null if the manager was busy
     * ({@link #skipped()}) or the inspection failed (an event says why).
     */
    public InspectionReport tick() {
        ticks.incrementAndGet();
        try {
            InspectionReport report = manager.inspectUnlessBusy();
            if (report == null) {
                skipped.incrementAndGet();
            }
            return report;
        } catch (RuntimeException e) {
            failures.incrementAndGet();
            manager.inspectionFailed(e);
            return null;
        }
    }

    public long ticks() {
        return ticks.get();
    }

    /** Ticks that found the manager busy and skipped. */
    public long skipped() {
        return skipped.get();
    }

    public long failures() {
        return failures.get();
    }

    public boolean isStarted() {
        return future != null && !future.isCancelled();
    }

    /** Cancels the schedule (an inspection in progress completes). */
    @Override
    public synchronized void close() {
        if (future != null) {
            future.cancel(false);
        }
    }
}
