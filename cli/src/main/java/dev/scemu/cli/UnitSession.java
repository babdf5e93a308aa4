package dev.scemu.cli;

import dev.scemu.core.PhaseTrace;
import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.unit.StorageControlUnit;

/**
 * The unit one command works on: opened by the command (closed when it ends), or, when the command
 * runs inside {@code serve} through the control channel, the unit that process owns (left open;
 * snapshot changes are mirrored into the NBD exports). See docs/control.md.
 */
final class UnitSession implements AutoCloseable {

    private final StorageControlUnit unit;
    private final LiveUnit live;

    private UnitSession(StorageControlUnit unit, LiveUnit live) {
        this.unit = unit;
        this.live = live;
    }

    static UnitSession offline(StorageControlUnit unit) {
        return new UnitSession(unit, null);
    }

    static UnitSession live(LiveUnit live) {
        return new UnitSession(live.unit(), live);
    }

    StorageControlUnit unit() {
        return unit;
    }

    /** True if the unit is the one a running {@code serve} owns. */
    boolean isLive() {
        return live != null;
    }

    /** Live: exports the new snapshot at once ({@code snap-<id>}, read-only). */
    void snapshotCreated(SnapshotInfo info) {
        if (live != null) {
            live.exportSnapshot(info);
        }
    }

    /** Live: removes the snapshot's export (its connections get an error) before the snapshot goes. */
    void snapshotDeleting(SnapshotInfo info) {
        if (live != null) {
            live.unexportSnapshot(info);
        }
    }

    /** Runs a rollback: offline directly; live only while no client has the volume export open. */
    void rollback(Runnable rollback) {
        if (live != null) {
            live.whileVolumeUnused(rollback);
        } else {
            rollback.run();
        }
    }

    /**
     * Waits for {@code work} (a rebuild): offline until it ends; live until it ends or {@code serve}
     * begins to stop, when {@code stopped} is thrown and the work is left to the unit's close, which
     * halts it at a checkpoint (the next open resumes it).
     */
    <T> T await(java.util.concurrent.CompletableFuture<T> work, java.util.function.Supplier<CliException> stopped)
            throws InterruptedException, java.util.concurrent.ExecutionException {
        if (live != null) {
            java.util.concurrent.CompletableFuture.anyOf(work, live.stopping()).handle((r, e) -> null).get();
            if (!work.isDone()) {
                throw stopped.get();
            }
        }
        return work.get();
    }

    /** Offline: closes the unit (flush, clean stop). Live: nothing, the serving process owns it. */
    @Override
    public void close() {
        if (live == null) {
            try (PhaseTrace.Span span = PhaseTrace.begin("cli: unit close")) {
                unit.close();
            }
        }
    }
}
