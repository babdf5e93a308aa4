package dev.scemu.raid.internal;

import dev.scemu.core.IoCause;
import dev.scemu.raid.MemberState;
import dev.scemu.raid.RaidError;
import dev.scemu.raid.RaidException;
import dev.scemu.raid.RebuildListener;
import dev.scemu.raid.RebuildProgress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * One resync or rebuild pass over the units of an array, on the array's worker thread: throttled
 * to a byte rate, reporting progress (fraction, rate, ETA) to a listener, stopping when the array
 * stops.
 *
 * <p>Ordering (rebuild): each unit is reconstructed and written holding its whole row lock (every
 * column, {@link StripeLocks#lockRow}), and the member's recovered offset moves past it inside that
 * lock; every {@value MdRaidArray#CHECKPOINT_UNITS}
 * units the new member is flushed and then recovery_offset is written to the superblocks, so a
 * restart resumes at a checkpoint whose data is durable. Ordering (resync): with a bitmap, a
 * region's needs-sync mark is dropped only after the members were flushed behind its units.
 */
final class BackgroundJob implements Runnable {

    private final MdRaidArray array;
    private final String kind;
    private final int role;
    private final RebuildListener listener;
    private final CompletableFuture<RebuildProgress> future;
    private long startNanos;
    private long doneBytes;
    private long totalBytes;
    private long baseBytes;
    private SyncThrottle throttle;

    BackgroundJob(MdRaidArray array, String kind, int role, RebuildListener listener,
                  CompletableFuture<RebuildProgress> future) {
        this.array = array;
        this.kind = kind;
        this.role = role;
        this.listener = listener;
        this.future = future;
    }

    @Override
    public void run() {
        startNanos = System.nanoTime();
        LevelEngine engine = array.engine;
        long units = engine.unitCount();
        long unitBytes = (long) array.chunkBlocks * array.blockSize;
        try {
            if (role < 0) {
                totalBytes = units * unitBytes;
                long start = array.bitmap == null ? Math.max(0, array.resyncCursorUnit) : 0;
                baseBytes = start * unitBytes;
                long perBit = array.unitsPerBitmapBit();
                for (long u = start; u < units; u++) {
                    checkStopping();
                    if (array.unitNeedsSync(u)) {
                        engine.syncUnit(u, true, IoCause.REBUILD);
                        doneBytes += unitBytes;
                        throttle();
                        if ((u + 1) % perBit == 0 || u + 1 == units) {
                            array.bitmapRegionSynced(u);
                        }
                        array.resyncProgress(u + 1, false);
                        report(false);
                    } else if (array.bitmap != null) {
                        u = (u / perBit + 1) * perBit - 1; // skip the rest of a clean bitmap region
                    }
                }
                array.resyncProgress(units, true);
            } else {
                Slot slot = array.slots[role];
                totalBytes = array.memberDataBlocks * (long) array.blockSize;
                long start = slot.recoveredBlocks / array.chunkBlocks;
                baseBytes = Math.min(totalBytes, start * unitBytes);
                for (long u = start; u < units; u++) {
                    checkStopping();
                    if (slot.state != MemberState.REBUILDING) {
                        throw new RaidException(RaidError.BAD_MEMBER, "member " + role + " left rebuild at unit " + u
                                + ": state " + slot.state);
                    }
                    engine.rebuildUnit(u, role);
                    doneBytes += Math.min(unitBytes, totalBytes - baseBytes - doneBytes);
                    throttle();
                    if ((u + 1) % MdRaidArray.CHECKPOINT_UNITS == 0 && u + 1 < units) {
                        array.rebuildCheckpoint(role);
                    }
                    report(false);
                }
                array.rebuildDone(role);
                if (slot.state != MemberState.ACTIVE) {
                    throw new RaidException(RaidError.BAD_MEMBER, "member " + role + " failed at the end of its rebuild");
                }
            }
            RebuildProgress done = report(true);
            if (listener != null) {
                listener.onComplete(done);
            }
            future.complete(done);
        } catch (Throwable t) {
            if (listener != null) {
                try {
                    listener.onFailed(progress(), t);
                } catch (RuntimeException ignored) {
                    // a listener failure must not hide the cause
                }
            }
            future.completeExceptionally(t);
        }
    }

    private void checkStopping() {
        if (array.stopping()) {
            throw new RaidException(RaidError.STOPPED, kind + " of " + array.name() + " stopped at "
                    + (baseBytes + doneBytes) + " of " + totalBytes + " bytes");
        }
    }

    /** md's speed limits: at most the maximum, yielding to host I/O down to the minimum ({@link SyncThrottle}). */
    private void throttle() {
        if (throttle == null) {
            throttle = new SyncThrottle(array, array::stopping);
        }
        throttle.pace(doneBytes);
    }

    private RebuildProgress progress() {
        double seconds = Math.max(1e-9, (System.nanoTime() - startNanos) / 1e9);
        double rate = doneBytes / seconds;
        long processed = Math.min(totalBytes, baseBytes + doneBytes);
        long remaining = totalBytes - processed;
        Duration eta = rate > 0 ? Duration.ofNanos((long) (remaining / rate * 1e9)) : Duration.ZERO;
        return new RebuildProgress(kind, role, processed, totalBytes, rate, eta);
    }

    private RebuildProgress report(boolean finished) {
        RebuildProgress p = progress();
        if (finished) {
            p = new RebuildProgress(kind, role, totalBytes, totalBytes, p.bytesPerSecond(), Duration.ZERO);
        } else if (listener != null) {
            listener.onProgress(p);
        }
        return p;
    }
}
