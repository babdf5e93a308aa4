package dev.scemu.flash;

import java.util.List;

/**
 * What an update did.
 *
 * @param outcome how it ended
 * @param from version running before
 * @param to version of the staged image
 * @param compatibility the comparison that allowed or refused it
 * @param migrations migrations run (as "format vA→vB")
 * @param switchPauseNanos how long new host requests were held for the switch (0 if no switch); for
 *                         a revert, the switch back included
 * @param drainNanos after the switch, how long the requests admitted under the old image took to
 *                   finish; host I/O was not held for it (see {@link HostIoGate}). For a
 *                   revert, plus the drain of the switch back, which is part of its pause
 * @param flashBytesWritten bytes erased + programmed in the flash
 * @param detail a summary, or why it was refused or reverted
 */
public record UpdateReport(Outcome outcome, ImageVersion from, ImageVersion to, CompatibilityReport compatibility,
                           List<String> migrations, long switchPauseNanos, long drainNanos, long flashBytesWritten,
                           String detail) {

    public enum Outcome {
        /** The new image runs, is confirmed and backed up. */
        UPDATED,
        /** Nothing changed: the staged image is incompatible (see the compatibility report). */
        REFUSED,
        /** The new image failed its self-check; the old image runs again. */
        REVERTED,
        /** An error (see the detail) interrupted the update before confirmation; it was rolled back. */
        FAILED,
        /** The staged image is the running image. */
        ALREADY_RUNNING
    }

    public UpdateReport {
        migrations = List.copyOf(migrations);
    }
}
