package dev.scemu.flash;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Runs {@link FirmwareManager#inspect()} on a schedule: once per {@link #period()} after
 * {@link #start}, on the given executor (a period of zero: no schedule, ticked by hand only).
 * {@link #tick()} is exactly what each scheduled run does, so tests (and a control unit with its
 * own scheduler) drive it deterministically. A tick that finds the manager busy (an update in
 * progress) skips rather than waits. A failing inspection raises
 * {@link FirmwareEvent.Type#INSPECTION_FAILED} and the schedule goes on. Obtained from
 * {@link FirmwareManager#periodicInspector} or {@link FirmwareManager#startPeriodicInspection}.
 */
public interface PeriodicInspector extends AutoCloseable {

    Duration period();

    /**
     * Schedules {@link #tick()} every {@link #period()} (fixed delay) on {@code executor}. Fails with
     * {@link FlashError#INVALID_ARGUMENT} if already started or if the period is zero.
     */
    PeriodicInspector start(ScheduledExecutorService executor);

    /**
     * Runs one inspection now; returns its report, or null if the manager was busy
     * ({@link #skipped()}) or the inspection failed (an event says why).
     */
    InspectionReport tick();

    /** Ticks so far (scheduled or by hand). */
    long ticks();

    /** Ticks that found the manager busy and skipped. */
    long skipped();

    /** Ticks whose inspection failed. */
    long failures();

    boolean isStarted();

    /** Cancels the schedule (an inspection in progress completes). Idempotent. */
    @Override
    void close();
}
