package dev.scemu.flash.internal;

import dev.scemu.flash.BackupRegion;
import dev.scemu.flash.CompatibilityReport.PlannedMigration;
import dev.scemu.flash.CompatibilityReport;
import dev.scemu.flash.FirmwareEvent;
import dev.scemu.flash.FirmwareImage;
import dev.scemu.flash.FirmwareListener;
import dev.scemu.flash.FirmwareManager;
import dev.scemu.flash.FirmwareStore;
import dev.scemu.flash.FlashError;
import dev.scemu.flash.FlashException;
import dev.scemu.flash.HostIoGate;
import dev.scemu.flash.ImageActivator;
import dev.scemu.flash.ImageCheck;
import dev.scemu.flash.ImageLocation;
import dev.scemu.flash.ImageVersion;
import dev.scemu.flash.InspectionReport;
import dev.scemu.flash.Migration;
import dev.scemu.flash.PeriodicInspector;
import dev.scemu.flash.SelfCheck;
import dev.scemu.flash.TrustedKeys;
import dev.scemu.flash.UpdateJournal;
import dev.scemu.flash.UpdateOptions;
import dev.scemu.flash.UpdateReport;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link FirmwareManager}: boot inspection and recovery, backup, periodic inspection, and the
 * concurrent update with migrations, switch, trial boot and revert. Works on the small interfaces
 * {@link FirmwareStore} (the flash), {@link BackupRegion} (two slots on the array) and
 * {@link UpdateJournal} (an intent log).
 *
 * <h2>Boot (S1–S4)</h2>
 * <ol start="0">
 *   <li>Finish any update a power cut interrupted (journal): roll back unless it was confirmed.</li>
 *   <li>S1: inspect the flash image (structure, SHA-256, Ed25519 signature against the trusted keys).</li>
 *   <li>S2: if it is corrupt or missing, rewrite it from the backup slot, verify, report
 *       ({@code CORRUPTION_DETECTED}, {@code RECOVERED}); with no good backup either, fail with
 *       {@link FlashError#NO_BOOTABLE_IMAGE}.</li>
 *   <li>S3: check that the backup slot holds a verified copy of exactly the flash image.</li>
 *   <li>S4: if it is missing, stale or corrupt, write it and verify ({@code BACKUP_CREATED} /
 *       {@code BACKUP_REFRESHED}).</li>
 * </ol>
 * {@link #inspect()} (on demand, or from a {@link PeriodicInspector}) repeats S1–S4 against the
 * running image while host I/O continues: a damaged flash is rewritten from the backup, or from
 * the running image's verified copy in memory if the backup does not hold it.
 *
 * <h2>Update</h2>
 * {@link #stage} persists a new image in the staging slot while host I/O continues; {@link #update}
 * then runs the sequence below.
 *
 * <p>Ordering (each journal step is durable — synced — before the action it announces):
 * <ol>
 *   <li>verify the staged image; compare with the running one ({@link #checkCompatibility}):
 *       refuse (nothing changed) on downgrade, missing capability, or a data format without a
 *       migration path;</li>
 *   <li>ensure the backup slot holds the running image (the fallback from here on);</li>
 *   <li>journal BEGIN (old hash, new hash, migration plan) + STAGED_VERIFIED;</li>
 *   <li>for each migration: MIGRATION_STARTED(i), run it (idempotent, flushed), MIGRATION_DONE(i);</li>
 *   <li>FLASH_PROGRAMMING; erase + program the flash; read back and verify; FLASH_VERIFIED;</li>
 *   <li>switch ({@link HostIoGateImpl#switchAndRun}): hold new host requests, make the new image the
 *       running one ({@link ImageActivator}), let them in again — the only pause, measured; then wait,
 *       holding nobody, until the requests admitted under the old image have finished; SWITCHED;</li>
 *   <li>trial boot: the {@link SelfCheck}. On failure: REVERTING; with host I/O quiesced
 *       ({@link HostIoGateImpl#quiesceAndRun}: held, in-flight requests drained), revert
 *       the migrations in reverse order and switch back; rewrite the flash from the backup slot;
 *       ABORT;</li>
 *   <li>CONFIRMED; write the new image to the backup slot and verify; BACKUP_REFRESHED; COMMIT.</li>
 * </ol>
 * An error other than a power loss before CONFIRMED (a migration fails, the flash does not
 * verify) is rolled back at once, as boot recovery would, and reported as
 * {@link UpdateReport.Outcome#FAILED}.
 * After a power cut anywhere, boot finds the transaction unfinished. Without CONFIRMED it rolls
 * back: reverts every migration that started (reverse order; they are idempotent), rewrites the
 * flash from the backup slot unless it already holds the old image, aborts — the old image boots.
 * With CONFIRMED (flash verified, self-check passed) it rolls forward: the flash holds the new
 * image (else it is rewritten from the staging slot), S4 refreshes the backup, commit — the new
 * image boots. Either way the booted image is verified and matches the data formats on disk.
 * (As MCUboot's test swap: an image not confirmed before a reset is reverted.)
 *
 * <p>Thread-safe: boot, inspection, staging and update are serialized; host I/O only meets the
 * {@link HostIoGate}.
 */
public final class FirmwareManagerImpl implements FirmwareManager {

    private static final Logger LOG = LoggerFactory.getLogger(FirmwareManager.class);
    private static final int RECENT_EVENTS = 256;

    private final FirmwareStore store;
    private final BackupRegion backupRegion;
    private final UpdateJournal journal;
    private final TrustedKeys keys;
    private final ImageCopies copies;
    private final CompatibilityChecker checker;
    private final SelfCheck selfCheck;
    private final ImageActivator activator;
    private final List<FirmwareListener> listeners = new CopyOnWriteArrayList<>();
    private final HostIoGateImpl gate = new HostIoGateImpl();
    private final ReentrantLock lock = new ReentrantLock();
    private final ArrayDeque<FirmwareEvent> recentEvents = new ArrayDeque<>();
    private volatile FirmwareImage running;

    /** Use {@link FirmwareManager#builder()}; store, backup region and journal are required. */
    public FirmwareManagerImpl(FirmwareStore store, BackupRegion backupRegion, UpdateJournal journal, TrustedKeys keys,
                               List<Migration> migrations, SelfCheck selfCheck, ImageActivator activator,
                               List<FirmwareListener> listeners) {
        this.store = Objects.requireNonNull(store, "store");
        this.backupRegion = Objects.requireNonNull(backupRegion, "backupRegion");
        this.journal = Objects.requireNonNull(journal, "journal");
        this.keys = keys;
        this.copies = new ImageCopies(store, backupRegion, keys);
        this.checker = new CompatibilityChecker(migrations);
        this.selfCheck = selfCheck;
        this.activator = activator;
        this.listeners.addAll(listeners);
    }

    @Override
    public void addListener(FirmwareListener listener) {
        listeners.add(listener);
    }

    @Override
    public HostIoGate hostIoGate() {
        return gate;
    }

    @Override
    public FirmwareImage running() {
        return running;
    }

    @Override
    public TrustedKeys trustedKeys() {
        return keys;
    }

    @Override
    public List<FirmwareEvent> recentEvents() {
        synchronized (recentEvents) {
            return List.copyOf(recentEvents);
        }
    }

    // ================================================================== boot and inspection

    @Override
    public InspectionReport boot() {
        lock.lock();
        try {
            List<FirmwareEvent> events = new ArrayList<>();
            recoverInterruptedUpdates(events);
            InspectionReport report = inspectAndRepair(true, events);
            running = report.running();
            emit(events, FirmwareEvent.Type.BOOTED, ImageLocation.FLASH, running.version(), "sha256 " + running.sha256Hex());
            return new InspectionReport(report.flash(), report.backup(), running, events);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public InspectionReport inspect() {
        lock.lock();
        try {
            requireBooted();
            List<FirmwareEvent> events = new ArrayList<>();
            InspectionReport report = inspectAndRepair(false, events);
            emit(events, FirmwareEvent.Type.INSPECTED, ImageLocation.FLASH, running.version(),
                    report.flash().state() + "/" + report.backup().state());
            return new InspectionReport(report.flash(), report.backup(), running, events);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public InspectionReport inspectUnlessBusy() {
        if (!lock.tryLock()) {
            return null;
        }
        try {
            return inspect();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public PeriodicInspector periodicInspector(Duration period) {
        return new PeriodicInspectorImpl(this, period);
    }

    @Override
    public PeriodicInspector startPeriodicInspection(ScheduledExecutorService executor, Duration period) {
        return periodicInspector(period).start(executor);
    }

    /** Reports a failed periodic inspection ({@link FirmwareEvent.Type#INSPECTION_FAILED}). */
    void inspectionFailed(RuntimeException error) {
        emit(new ArrayList<>(), FirmwareEvent.Type.INSPECTION_FAILED, ImageLocation.FLASH,
                running == null ? null : running.version(), String.valueOf(error.getMessage()));
    }

    /** S1–S4; at boot the flash image is the reference, later the running image is. */
    private InspectionReport inspectAndRepair(boolean booting, List<FirmwareEvent> events) {
        ImageCheck flash = checkFlash();
        ImageCheck backup = checkSlot(BackupRegion.Slot.BACKUP);
        FirmwareImage good;
        if (booting ? flash.isValid() : flash.holds(running)) {
            good = booting ? flash.image() : running;
        } else {
            emit(events, FirmwareEvent.Type.CORRUPTION_DETECTED, ImageLocation.FLASH,
                    flash.image() == null ? null : flash.image().version(),
                    flash.isValid() ? "flash holds another image than the running one" : flash.state() + ": " + flash.detail());
            FirmwareImage source;
            ImageLocation from;
            if (booting) {
                if (!backup.isValid()) {
                    emit(events, FirmwareEvent.Type.RECOVERY_FAILED, ImageLocation.BACKUP, null,
                            backup.state() + ": " + backup.detail());
                    throw new FlashException(FlashError.NO_BOOTABLE_IMAGE, "no bootable image: flash " + flash.state()
                            + " (" + flash.detail() + "), backup " + backup.state() + " (" + backup.detail() + ")");
                }
                source = backup.image();
                from = ImageLocation.BACKUP;
            } else if (backup.holds(running)) {
                source = backup.image();
                from = ImageLocation.BACKUP;
            } else {
                source = running;
                from = ImageLocation.MEMORY;
            }
            programFlash(source);
            emit(events, FirmwareEvent.Type.RECOVERED, ImageLocation.FLASH, source.version(), "rewritten from " + from
                    + " and verified, sha256 " + source.sha256Hex());
            good = source;
        }
        ensureBackupHolds(good, backup, events);
        return new InspectionReport(flash, backup, good, events);
    }

    private void ensureBackupHolds(FirmwareImage image, ImageCheck backup, List<FirmwareEvent> events) {
        if (backup.holds(image)) {
            return;
        }
        if (backup.state() == ImageCheck.State.CORRUPT) {
            emit(events, FirmwareEvent.Type.CORRUPTION_DETECTED, ImageLocation.BACKUP, null, backup.detail());
        }
        writeBackup(image);
        if (backup.state() == ImageCheck.State.MISSING) {
            emit(events, FirmwareEvent.Type.BACKUP_CREATED, ImageLocation.BACKUP, image.version(), "sha256 "
                    + image.sha256Hex());
        } else {
            emit(events, FirmwareEvent.Type.BACKUP_REFRESHED, ImageLocation.BACKUP, image.version(),
                    backup.isValid() ? "replaced stale " + backup.image().version() : "replaced a corrupt copy");
        }
    }

    @Override
    public ImageCheck checkFlash() {
        return copies.checkFlash();
    }

    @Override
    public ImageCheck checkSlot(BackupRegion.Slot slot) {
        return copies.checkSlot(slot);
    }

    private void programFlash(FirmwareImage image) {
        copies.programFlash(image);
    }

    private void writeBackup(FirmwareImage image) {
        copies.writeBackup(image);
    }

    // ================================================================== staging and compatibility

    @Override
    public FirmwareImage verify(byte[] image) {
        FirmwareImage parsed = FirmwareImage.parse(image, keys);
        if (image.length > store.capacityBytes()) {
            throw new FlashException(FlashError.IMAGE_TOO_LARGE, "image of " + image.length
                    + " bytes does not fit firmware store " + store.name() + " of " + store.capacityBytes() + " bytes");
        }
        return parsed;
    }

    @Override
    public FirmwareImage stage(byte[] image) {
        FirmwareImage parsed = verify(image);
        lock.lock();
        try {
            backupRegion.write(BackupRegion.Slot.STAGING, image);
            ImageCheck staged = checkSlot(BackupRegion.Slot.STAGING);
            if (!staged.holds(parsed)) {
                throw new FlashException(FlashError.VERIFY_FAILED, "staging slot does not hold the image after writing: "
                        + staged);
            }
            emit(new ArrayList<>(), FirmwareEvent.Type.STAGED, ImageLocation.STAGING, parsed.version(),
                    image.length + " bytes, sha256 " + parsed.sha256Hex());
            return staged.image();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public CompatibilityReport checkCompatibility(FirmwareImage candidate, UpdateOptions options) {
        requireBooted();
        return checker.check(running, candidate, options);
    }

    // ================================================================== update

    @Override
    public UpdateReport update(UpdateOptions options) {
        lock.lock();
        try {
            requireBooted();
            List<FirmwareEvent> events = new ArrayList<>();
            ImageCheck staged = checkSlot(BackupRegion.Slot.STAGING);
            if (!staged.isValid()) {
                throw new FlashException(FlashError.NOTHING_STAGED, "the staging slot holds no verified image: "
                        + staged.state() + " (" + staged.detail() + ")");
            }
            FirmwareImage next = staged.image();
            FirmwareImage previous = running;
            CompatibilityReport compatibility = checkCompatibility(next, options);
            if (next.sameImageAs(previous)) {
                return new UpdateReport(UpdateReport.Outcome.ALREADY_RUNNING, previous.version(), next.version(),
                        compatibility, List.of(), 0, 0, 0, "the staged image is the running image");
            }
            if (!compatibility.isCompatible()) {
                emit(events, FirmwareEvent.Type.UPDATE_REFUSED, ImageLocation.STAGING, next.version(),
                        compatibility.toString());
                return new UpdateReport(UpdateReport.Outcome.REFUSED, previous.version(), next.version(), compatibility,
                        List.of(), 0, 0, 0, compatibility.toString());
            }
            ensureBackupHolds(previous, checkSlot(BackupRegion.Slot.BACKUP), events);

            List<PlannedMigration> plan = compatibility.plan();
            long txId = journal.begin(UpdateRecord.OP_FIRMWARE_UPDATE, record(previous, next, plan).encode());
            step(txId, UpdateRecord.STEP_STAGED_VERIFIED, null);
            journal.sync();
            int[] started = {-1};
            try {
                return runUpdate(txId, plan, started, previous, next, compatibility, events);
            } catch (RuntimeException e) {
                if (isPowerLoss(e) || started[0] == Integer.MAX_VALUE) {
                    throw e; // boot recovery finishes it (or the update was already confirmed)
                }
                abortLive(txId, plan, started[0], previous, e, events);
                return new UpdateReport(UpdateReport.Outcome.FAILED, previous.version(), next.version(), compatibility,
                        List.of(), 0, 0, 0, "rolled back after: " + e.getMessage());
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Steps 4–9 of the update; {@code started[0]} tracks the last migration started, and becomes
     * {@link Integer#MAX_VALUE} once the update is confirmed (no rollback from there).
     */
    private UpdateReport runUpdate(long txId, List<PlannedMigration> plan, int[] started, FirmwareImage previous,
                                   FirmwareImage next, CompatibilityReport compatibility, List<FirmwareEvent> events) {
        {
            List<String> ran = new ArrayList<>();
            for (int i = 0; i < plan.size(); i++) {
                PlannedMigration migration = plan.get(i);
                step(txId, UpdateRecord.STEP_MIGRATION_STARTED, UpdateRecord.index(i));
                journal.sync();
                started[0] = i;
                run(migration, true);
                step(txId, UpdateRecord.STEP_MIGRATION_DONE, UpdateRecord.index(i));
                ran.add(migration.toString());
                emit(events, FirmwareEvent.Type.MIGRATED, ImageLocation.STAGING, next.version(), migration.toString());
            }

            step(txId, UpdateRecord.STEP_FLASH_PROGRAMMING, null);
            journal.sync();
            programFlash(next);
            long flashBytes = store.writeCostBytes(next.length());
            emit(events, FirmwareEvent.Type.FLASH_PROGRAMMED, ImageLocation.FLASH, next.version(), flashBytes
                    + " bytes erased+programmed, verified");
            step(txId, UpdateRecord.STEP_FLASH_VERIFIED, null);
            journal.sync();

            HostIoGateImpl.Pause pause = switchTo(next);
            emit(events, FirmwareEvent.Type.SWITCHED, ImageLocation.FLASH, next.version(), "host I/O paused "
                    + pause.pauseNanos() / 1000 + " µs; requests of the old image finished "
                    + pause.drainNanos() / 1000 + " µs later (not held)");
            step(txId, UpdateRecord.STEP_SWITCHED, null);
            journal.sync();

            String failure = trialBoot(next);
            if (failure != null) {
                step(txId, UpdateRecord.STEP_REVERTING, null);
                journal.sync();
                HostIoGateImpl.Pause back = gate.quiesceAndRun(() -> {
                    revertMigrations(plan, plan.size() - 1);
                    activate(previous);
                });
                programFlash(previous);
                journal.abort(txId);
                journal.sync();
                emit(events, FirmwareEvent.Type.REVERTED, ImageLocation.FLASH, previous.version(), "self-check of "
                        + next.version() + " failed: " + failure + "; host I/O paused " + back.pauseNanos() / 1000 + " µs");
                return new UpdateReport(UpdateReport.Outcome.REVERTED, previous.version(), next.version(), compatibility,
                        ran, pause.pauseNanos() + back.pauseNanos(), pause.drainNanos() + back.drainNanos(),
                        flashBytes * 2, "self-check failed: " + failure);
            }
            step(txId, UpdateRecord.STEP_CONFIRMED, null);
            journal.sync();
            started[0] = Integer.MAX_VALUE;
            emit(events, FirmwareEvent.Type.CONFIRMED, ImageLocation.FLASH, next.version(), "self-check passed");

            writeBackup(next);
            emit(events, FirmwareEvent.Type.BACKUP_REFRESHED, ImageLocation.BACKUP, next.version(), "replaced "
                    + previous.version());
            step(txId, UpdateRecord.STEP_BACKUP_REFRESHED, null);
            journal.commit(txId);
            journal.sync();
            emit(events, FirmwareEvent.Type.UPDATE_COMPLETED, ImageLocation.FLASH, next.version(), "from "
                    + previous.version() + ", switch pause " + pause.pauseNanos() / 1000 + " µs");
            return new UpdateReport(UpdateReport.Outcome.UPDATED, previous.version(), next.version(), compatibility, ran,
                    pause.pauseNanos(), pause.drainNanos(), flashBytes, "updated");
        }
    }

    /**
     * An error (not a power loss) interrupted an unconfirmed update: undo it now, as boot recovery
     * would — REVERTING; with host I/O paused, revert the started migrations and make the old
     * image run; rewrite the flash from it if needed; ABORT.
     */
    private void abortLive(long txId, List<PlannedMigration> plan, int lastStarted, FirmwareImage previous,
                           RuntimeException cause, List<FirmwareEvent> events) {
        try {
            step(txId, UpdateRecord.STEP_REVERTING, null);
            journal.sync();
            gate.quiesceAndRun(() -> {
                revertMigrations(plan, lastStarted);
                if (running != previous) {
                    activate(previous);
                }
            });
            if (!checkFlash().holds(previous)) {
                programFlash(previous);
            }
            journal.abort(txId);
            journal.sync();
        } catch (RuntimeException rollbackError) {
            cause.addSuppressed(rollbackError);
            throw cause;
        }
        emit(events, FirmwareEvent.Type.REVERTED, ImageLocation.FLASH, previous.version(),
                "update failed and was rolled back: " + cause.getMessage());
    }

    private static boolean isPowerLoss(RuntimeException e) {
        return (e instanceof FlashException f && f.code() == FlashError.POWER_LOST)
                || (e instanceof dev.scemu.core.CoreException c && c.code() == dev.scemu.core.CoreError.POWER_LOST);
    }

    private HostIoGateImpl.Pause switchTo(FirmwareImage image) {
        return gate.switchAndRun(() -> activate(image));
    }

    private void activate(FirmwareImage image) {
        activator.activate(image);
        running = image;
    }

    /** Null if the self-check passed, else why not. */
    private String trialBoot(FirmwareImage image) {
        try {
            return selfCheck.check(image) ? null : "self-check returned false";
        } catch (RuntimeException e) {
            if (isPowerLoss(e)) {
                throw e;
            }
            return e.toString();
        }
    }

    private void step(long txId, int stepIndex, ByteBuffer payload) {
        journal.step(txId, stepIndex, payload == null ? ByteBuffer.allocate(0) : payload);
    }

    private static UpdateRecord record(FirmwareImage previous, FirmwareImage next, List<PlannedMigration> plan) {
        List<UpdateRecord.PlannedStep> steps = new ArrayList<>();
        for (PlannedMigration migration : plan) {
            steps.add(new UpdateRecord.PlannedStep(migration.migration().format(), migration.fromVersion(),
                    migration.toVersion(), migration.forward()));
        }
        return new UpdateRecord(previous.sha256(), next.sha256(), steps);
    }

    private static void run(PlannedMigration migration, boolean forward) {
        if (migration.forward() == forward) {
            migration.migration().migrate();
        } else {
            migration.migration().revert();
        }
    }

    /** Undoes migrations {@code last} down to 0 of {@code plan}. */
    private static void revertMigrations(List<PlannedMigration> plan, int last) {
        for (int i = last; i >= 0; i--) {
            run(plan.get(i), false);
        }
    }

    // ================================================================== crash recovery

    private void recoverInterruptedUpdates(List<FirmwareEvent> events) {
        for (UpdateJournal.Entry entry : journal.unfinished()) {
            if (entry.opType() != UpdateRecord.OP_FIRMWARE_UPDATE) {
                continue; // another subsystem's transaction in a shared journal
            }
            UpdateRecord record = UpdateRecord.decode(entry.payload());
            boolean confirmed = false;
            int lastStarted = -1;
            for (UpdateJournal.Step step : entry.steps()) {
                if (step.stepIndex() == UpdateRecord.STEP_CONFIRMED) {
                    confirmed = true;
                } else if (step.stepIndex() == UpdateRecord.STEP_MIGRATION_STARTED) {
                    lastStarted = Math.max(lastStarted, UpdateRecord.indexOf(step.payload(), record.plan.size()));
                }
            }
            if (confirmed) {
                rollForward(entry, record, events);
            } else {
                rollBack(entry, record, lastStarted, events);
            }
        }
    }

    private void rollForward(UpdateJournal.Entry entry, UpdateRecord record, List<FirmwareEvent> events) {
        ImageCheck flash = checkFlash();
        String detail = "flash holds the confirmed image";
        if (!(flash.isValid() && hashEquals(flash.image(), record.newSha256))) {
            ImageCheck staged = checkSlot(BackupRegion.Slot.STAGING);
            if (staged.isValid() && hashEquals(staged.image(), record.newSha256)) {
                programFlash(staged.image());
                detail = "flash rewritten from the staging slot";
            } else {
                detail = "confirmed image unavailable (flash " + flash.state() + ", staging " + staged.state()
                        + "); boot inspection decides";
            }
        }
        journal.commit(entry.txId());
        journal.sync();
        emit(events, FirmwareEvent.Type.UPDATE_ROLLED_FORWARD, ImageLocation.FLASH, null, "transaction " + entry.txId()
                + " to " + hex(record.newSha256) + ": " + detail);
    }

    private void rollBack(UpdateJournal.Entry entry, UpdateRecord record, int lastStarted, List<FirmwareEvent> events) {
        step(entry.txId(), UpdateRecord.STEP_REVERTING, null);
        journal.sync();
        List<PlannedMigration> plan = new ArrayList<>();
        for (UpdateRecord.PlannedStep planned : record.plan) {
            plan.add(checker.resolve(planned));
        }
        revertMigrations(plan, lastStarted);
        ImageCheck flash = checkFlash();
        String detail = "flash holds the old image";
        if (!(flash.isValid() && hashEquals(flash.image(), record.oldSha256))) {
            ImageCheck backup = checkSlot(BackupRegion.Slot.BACKUP);
            if (backup.isValid() && hashEquals(backup.image(), record.oldSha256)) {
                programFlash(backup.image());
                detail = "flash rewritten from the backup slot";
            } else {
                detail = "old image unavailable (flash " + flash.state() + ", backup " + backup.state()
                        + "); boot inspection decides";
            }
        }
        journal.abort(entry.txId());
        journal.sync();
        emit(events, FirmwareEvent.Type.UPDATE_ROLLED_BACK, ImageLocation.FLASH, null, "transaction " + entry.txId()
                + " back to " + hex(record.oldSha256) + ": " + (lastStarted + 1) + " migration(s) reverted, " + detail);
    }

    private static boolean hashEquals(FirmwareImage image, byte[] sha256) {
        return MessageDigest.isEqual(image.sha256(), sha256);
    }

    private static String hex(byte[] sha256) {
        return HexFormat.of().formatHex(sha256, 0, 8);
    }

    // ================================================================== plumbing

    private void requireBooted() {
        if (running == null) {
            throw new FlashException(FlashError.NOT_BOOTED, "the firmware manager has not booted");
        }
    }

    private void emit(List<FirmwareEvent> sink, FirmwareEvent.Type type, ImageLocation location, ImageVersion version,
                      String detail) {
        FirmwareEvent event = new FirmwareEvent(type, location, version, detail);
        sink.add(event);
        synchronized (recentEvents) {
            if (recentEvents.size() == RECENT_EVENTS) {
                recentEvents.removeFirst();
            }
            recentEvents.addLast(event);
        }
        switch (type) {
            case CORRUPTION_DETECTED, RECOVERY_FAILED, REVERTED, UPDATE_REFUSED, UPDATE_ROLLED_BACK, INSPECTION_FAILED ->
                    LOG.warn("{}", event);
            default -> LOG.info("{}", event);
        }
        for (FirmwareListener listener : listeners) {
            try {
                listener.onEvent(event);
            } catch (RuntimeException e) {
                LOG.warn("firmware listener {} failed on {}", listener, event, e);
            }
        }
    }
}
