package dev.scemu.flash;

import dev.scemu.flash.internal.FirmwareManagerImpl;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The firmware lifecycle of the controller: boot inspection and recovery, backup, periodic
 * inspection, and the concurrent update with migrations, switch, trial boot and revert. Works on
 * the small interfaces {@link FirmwareStore} (the flash), {@link BackupRegion} (two slots on the
 * array) and {@link UpdateJournal} (an intent log); built by {@link #builder()}.
 *
 * <h2>Boot (S1–S4)</h2>
 * {@link #boot()} first finishes any update a power cut interrupted (rolled back unless it was
 * confirmed, rolled forward if it was), then: S1 inspects the flash image (structure, SHA-256,
 * Ed25519 signature against the trusted keys); S2 rewrites a corrupt or missing one from the backup
 * slot and verifies it (with no good backup either it fails with
 * {@link FlashError#NO_BOOTABLE_IMAGE}); S3 checks that the backup slot holds a verified copy of
 * exactly that image; S4 writes it there if not. {@link #inspect()} repeats S1–S4 against the
 * running image while host I/O continues.
 *
 * <h2>Update</h2>
 * {@link #stage} persists a new image in the staging slot while host I/O continues; {@link #update}
 * checks compatibility (refusing a downgrade, a missing capability or a data format without a
 * migration path, with nothing changed), runs the migrations, programs and verifies the flash,
 * switches to the new image (host I/O is held only while it is activated: see {@link HostIoGate}),
 * runs the {@link SelfCheck} as a trial boot and confirms, or reverts to the old image. Every step
 * is journaled before it acts, so a power cut anywhere boots a verified image that matches the data
 * formats on disk: the old one unless the update was confirmed, else the new one. The numbered
 * ordering is in {@code docs/flash.md} and beside the code of the implementation.
 *
 * <p>Thread-safe: boot, inspection, staging and update are serialized; host I/O only meets the
 * {@link HostIoGate}.
 */
public interface FirmwareManager {

    /** A builder: store, backup region and journal are required, the rest has defaults. */
    static Builder builder() {
        return new Builder();
    }

    /** Adds a listener for every later event (listeners given to the builder see boot too). */
    void addListener(FirmwareListener listener);

    /** The gate host I/O passes through; the switch pauses it. */
    HostIoGate hostIoGate();

    /** The running image, or null before {@link #boot()}. */
    FirmwareImage running();

    TrustedKeys trustedKeys();

    /** The most recent events (up to 256), oldest first. */
    List<FirmwareEvent> recentEvents();

    /** Runs the boot sequence (see the class description) and returns what it found and did. */
    InspectionReport boot();

    /**
     * Inspects flash and backup against the running image now, repairing what is damaged: a damaged
     * flash is rewritten from the backup, or from the running image's verified copy in memory if the
     * backup does not hold it. Fails with {@link FlashError#NOT_BOOTED} before {@link #boot()}.
     */
    InspectionReport inspect();

    /**
     * Like {@link #inspect()}, but returns null at once if another thread is booting, staging,
     * updating or inspecting (what a scheduled inspection does: it never waits behind an update).
     */
    InspectionReport inspectUnlessBusy();

    /**
     * A periodic inspector that is not started yet: {@link PeriodicInspector#start} or drive
     * {@link PeriodicInspector#tick()}. A {@code period} of zero makes one that is only ticked by hand.
     */
    PeriodicInspector periodicInspector(Duration period);

    /** Starts inspecting every {@code period} on {@code executor}. */
    PeriodicInspector startPeriodicInspection(ScheduledExecutorService executor, Duration period);

    /** Inspects the flash image (S1) without changing anything. */
    ImageCheck checkFlash();

    /** Inspects a backup-region slot without changing anything. */
    ImageCheck checkSlot(BackupRegion.Slot slot);

    /**
     * Verifies {@code image} and persists it in the staging slot (host I/O continues). Bad input
     * fails with the parse error and changes nothing.
     */
    FirmwareImage stage(byte[] image);

    /**
     * Parses {@code image} and verifies it against the trusted keys exactly as {@link #stage} does
     * (the same errors), without staging it: changes nothing. With {@link #checkCompatibility} and
     * {@link FirmwareImage#sameImageAs} a caller learns what {@link #update} would decide before it
     * writes the staging slot, so an image the update would refuse need never be staged.
     */
    FirmwareImage verify(byte[] image);

    /** Compares {@code candidate} with the running image: version, capabilities, data formats. */
    CompatibilityReport checkCompatibility(FirmwareImage candidate, UpdateOptions options);

    /** {@link #update(UpdateOptions)} with {@link UpdateOptions#defaults()}. */
    default UpdateReport update() {
        return update(UpdateOptions.defaults());
    }

    /**
     * Updates to the staged image (see the class description). Fails with
     * {@link FlashError#NOTHING_STAGED} if the staging slot holds no verified image; an error other
     * than a power loss before the confirmation is rolled back at once and reported as
     * {@link UpdateReport.Outcome#FAILED}.
     */
    UpdateReport update(UpdateOptions options);

    /** Builder of a {@link FirmwareManager}. Store, backup region and journal are required. */
    final class Builder {
        private FirmwareStore store;
        private BackupRegion backupRegion;
        private UpdateJournal journal;
        private TrustedKeys keys = TrustedKeys.acceptUnsigned();
        private final List<Migration> migrations = new ArrayList<>();
        private SelfCheck selfCheck = SelfCheck.alwaysPasses();
        private ImageActivator activator = ImageActivator.none();
        private final List<FirmwareListener> listeners = new ArrayList<>();

        private Builder() {
        }

        public Builder store(FirmwareStore store) {
            this.store = store;
            return this;
        }

        public Builder backupRegion(BackupRegion backupRegion) {
            this.backupRegion = backupRegion;
            return this;
        }

        public Builder journal(UpdateJournal journal) {
            this.journal = journal;
            return this;
        }

        /** The keys images must be signed by (default {@link TrustedKeys#acceptUnsigned()}). */
        public Builder trustedKeys(TrustedKeys keys) {
            this.keys = keys;
            return this;
        }

        /** Registers a migration an update may plan (in either direction). */
        public Builder migration(Migration migration) {
            this.migrations.add(migration);
            return this;
        }

        /** The trial-boot check after a switch (default {@link SelfCheck#alwaysPasses()}). */
        public Builder selfCheck(SelfCheck selfCheck) {
            this.selfCheck = selfCheck;
            return this;
        }

        /** What makes an image the running code during the switch (default {@link ImageActivator#none()}). */
        public Builder activator(ImageActivator activator) {
            this.activator = activator;
            return this;
        }

        public Builder listener(FirmwareListener listener) {
            this.listeners.add(listener);
            return this;
        }

        /** A manager that has not booted yet; fails with a {@link NullPointerException} naming a missing requirement. */
        public FirmwareManager build() {
            return new FirmwareManagerImpl(store, backupRegion, journal, keys, migrations, selfCheck, activator,
                    listeners);
        }
    }
}
