package dev.scemu.cli;

import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.unit.StorageControlUnit;
import java.nio.file.Path;

/**
 * The unit a running {@code serve} owns, as seen by a command that the control server runs on its
 * behalf: the unit itself and what a command must do to the NBD exports when snapshots change.
 */
interface LiveUnit {

    /** The real path of the unit directory. */
    Path directory();

    StorageControlUnit unit();

    /** Exports a new snapshot as {@code snap-<id>} (read-only). */
    void exportSnapshot(SnapshotInfo info);

    /** Withdraws the export of a snapshot about to be deleted; returns once no request on it runs. */
    void unexportSnapshot(SnapshotInfo info);

    /**
     * Runs {@code action} (a rollback) if no client has the volume export open; else refuses with a
     * CliException. A client that connects while it runs sees the volume before or after it (the
     * volume's lock orders the rollback against I/O), never a mix.
     */
    void whileVolumeUnused(Runnable action);

    /**
     * Completes when {@code serve} begins to stop (SIGTERM, Ctrl-C): a live command that waits for
     * background work (a rebuild) stops waiting then, so that the stop does not wait for the work; the
     * unit's close halts it at a checkpoint and the next open resumes it.
     */
    java.util.concurrent.CompletableFuture<Void> stopping();

    /** The live unit of the command running on this thread (set by the control server), or null. */
    static LiveUnit current() {
        return Holder.CURRENT.get();
    }

    /** Thread-local binding of the live unit while the control server runs a command. */
    final class Holder {
        static final ThreadLocal<LiveUnit> CURRENT = new ThreadLocal<>();

        private Holder() {
        }
    }
}
