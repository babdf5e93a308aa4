package dev.scemu.flash.internal;

import dev.scemu.flash.FlashError;
import dev.scemu.flash.FlashException;
import dev.scemu.flash.InspectionReport;
import dev.scemu.flash.PeriodicInspector;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/** The {@link PeriodicInspector} of a {@link FirmwareManagerImpl}. */
final class PeriodicInspectorImpl implements PeriodicInspector {

    private final FirmwareManagerImpl manager;
    private final Duration period;
    private final AtomicLong ticks = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong skipped = new AtomicLong();
    private volatile ScheduledFuture<?> future;

    PeriodicInspectorImpl(FirmwareManagerImpl manager, Duration period) {
        if (period.isNegative()) {
            throw new FlashException(FlashError.INVALID_ARGUMENT, "inspection period " + period
                    + " must be positive, or zero for an inspector that is only ticked by hand");
        }
        this.manager = manager;
        this.period = period;
    }

    @Override
    public Duration period() {
        return period;
    }

    @Override
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

    @Override
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

    @Override
    public long ticks() {
        return ticks.get();
    }

    @Override
    public long skipped() {
        return skipped.get();
    }

    @Override
    public long failures() {
        return failures.get();
    }

    @Override
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
