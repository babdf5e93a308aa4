package dev.scemu.flash;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.PowerCutMode;
import java.util.Arrays;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Crash-point exploration of an update: the scenario (stage the new image, update) is run once to
 * count its flash operations and disk writes; then, for every index, it is re-run from the same
 * start with a power cut armed there, the controller is rebooted, and the booted image must be the
 * old or the new one, verified in flash and backup, with the data format on disk matching it, the
 * journal clean — and a following update must still succeed.
 */
class FirmwareUpdateCrashTest {

    static final byte[] V1 = FirmwareUpdateTest.V1;
    static final byte[] V2 = FirmwareUpdateTest.v2();
    static final long SEED = 99;

    enum Outcome { OLD, NEW }

    /** What is updated to what. */
    enum Variant {
        /** 1.0.0 (mapping-table v1) → 1.1.0 (v2): migrate. */
        UPGRADE(V1, 1, V2, UpdateOptions.defaults()),
        /** 1.1.0 (v2) → 1.0.0 (v1), forced: the migration runs in reverse. */
        FORCED_DOWNGRADE(V2, 2, V1, UpdateOptions.forced());

        final byte[] from;
        final int fromTable;
        final byte[] to;
        final UpdateOptions options;

        Variant(byte[] from, int fromTable, byte[] to, UpdateOptions options) {
            this.from = from;
            this.fromTable = fromTable;
            this.to = to;
            this.options = options;
        }
    }

    /** A booted controller running the variant's old image over its data, with its backup created. */
    private static Rig prepared(Variant variant, boolean failingSelfCheck) {
        Rig rig = Rig.provisioned(SEED, variant.from, variant.fromTable);
        rig.boot();
        if (failingSelfCheck) {
            rig.selfCheck = image -> !Arrays.equals(image.bytes(), variant.to);
        }
        return rig;
    }

    private static void scenario(Rig rig, Variant variant) {
        rig.manager.stage(variant.to);
        rig.manager.update(variant.options);
    }

    private record Range(long flashFrom, long flashTo, long diskFrom, long diskTo) {
    }

    private static Range measure(Variant variant, boolean failingSelfCheck) {
        Rig rig = prepared(variant, failingSelfCheck);
        long flash0 = rig.flash.operationCount();
        long disk0 = rig.domain.writeCount();
        scenario(rig, variant);
        return new Range(flash0, rig.flash.operationCount(), disk0, rig.domain.writeCount());
    }

    /** One grep-able line per explored set: runs started and runs whose checks passed, counted apart. */
    private static void printCrashPoints(String what, Tally tally) {
        System.out.printf("CRASH POINTS: FirmwareUpdateCrashTest[%s] explored=%d passed=%d%n", what, tally.explored,
                tally.points);
    }

    private static final class Tally {
        int explored;
        int points;
        int old;
        int fresh;

        /** Counts the run when it starts (explored) and again when its checks returned (points = passed). */
        void add(java.util.function.Supplier<Outcome> run) {
            explored++;
            Outcome outcome = run.get();
            points++;
            if (outcome == Outcome.OLD) {
                old++;
            } else {
                fresh++;
            }
        }

        @Override
        public String toString() {
            return points + " crash points: " + old + " booted old, " + fresh + " booted new";
        }
    }

    /** Runs the scenario with {@code arm} applied first; it must die of the power cut. */
    private static Outcome crashAndReboot(Variant variant, boolean failingSelfCheck, Consumer<Rig> arm) {
        Rig rig = prepared(variant, failingSelfCheck);
        arm.accept(rig);
        Throwable thrown = catchThrowable(() -> scenario(rig, variant));
        assertThat(thrown).as("the armed cut must interrupt the scenario").isNotNull();
        assertThat(isPowerLoss(thrown)).as("%s", thrown).isTrue();
        assertThat(rig.flash.isPowered()).isFalse();
        return verifyAfterReboot(rig, variant, failingSelfCheck);
    }

    static boolean isPowerLoss(Throwable thrown) {
        return (thrown instanceof FlashException f && f.code() == FlashError.POWER_LOST)
                || (thrown instanceof CoreException c && c.code() == CoreError.POWER_LOST);
    }

    static Outcome verifyAfterReboot(Rig rig, Variant variant, boolean failingSelfCheck) {
        InspectionReport report = rig.reboot();
        FirmwareImage running = report.running();
        Outcome outcome;
        if (Arrays.equals(running.bytes(), variant.from)) {
            outcome = Outcome.OLD;
        } else {
            assertThat(running.bytes()).as("booted image is neither old nor new").containsExactly(variant.to);
            outcome = Outcome.NEW;
        }
        assertThat(running.isSignatureVerified()).isTrue();
        assertThat(rig.manager.checkFlash().holds(running)).as("flash holds the booted image").isTrue();
        assertThat(rig.manager.checkSlot(BackupRegion.Slot.BACKUP).holds(running)).as("backup holds it").isTrue();
        assertThat(rig.tableVersion()).as("data format on disk").isEqualTo(running.dataFormats().get("mapping-table"));
        assertThat(UpdateJournal.openOrFormat(rig.disk, Rig.JOURNAL).unfinished()).as("journal").isEmpty();
        if (failingSelfCheck) {
            assertThat(outcome).as("a new image failing its self-check never stays").isEqualTo(Outcome.OLD);
        } else if (outcome == Outcome.OLD) {
            // the controller is still updatable
            rig.manager.stage(variant.to);
            assertThat(rig.manager.update(variant.options).outcome()).isEqualTo(UpdateReport.Outcome.UPDATED);
            assertThat(rig.tableVersion()).isEqualTo(rig.manager.running().dataFormats().get("mapping-table"));
        }
        return outcome;
    }

    @ParameterizedTest(name = "self-check fails: {0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void everyFlashOperationOfAnUpdateIsSafeToCut(boolean failingSelfCheck) {
        Range range = measure(Variant.UPGRADE, failingSelfCheck);
        assertThat(range.flashTo() - range.flashFrom()).isGreaterThanOrEqualTo(8); // 2 erases + 6 pages at least
        Tally tally = new Tally();
        for (long k = range.flashFrom(); k < range.flashTo(); k++) {
            long index = k;
            tally.add(() -> crashAndReboot(Variant.UPGRADE, failingSelfCheck,
                    rig -> rig.flash.armCutAtOperation(index, PowerCutMode.DROP_UNFLUSHED)));
        }
        System.out.println("[crash] flash operations, self-check fails=" + failingSelfCheck + ": " + tally);
        printCrashPoints("flashOperations[selfCheckFails=" + failingSelfCheck + "]", tally);
        assertThat(tally.points).isEqualTo((int) (range.flashTo() - range.flashFrom()));
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(PowerCutMode.class)
    void everyDiskWriteOfAnUpdateIsSafeToCut(PowerCutMode mode) {
        for (boolean failingSelfCheck : new boolean[] {false, true}) {
            Range range = measure(Variant.UPGRADE, failingSelfCheck);
            assertThat(range.diskTo() - range.diskFrom()).isGreaterThan(10);
            Tally tally = new Tally();
            for (long k = range.diskFrom(); k < range.diskTo(); k++) {
                long index = k;
                tally.add(() -> crashAndReboot(Variant.UPGRADE, failingSelfCheck, rig -> rig.domain.armCutAtWrite(index, mode)));
            }
            System.out.println("[crash] disk writes (" + mode + "), self-check fails=" + failingSelfCheck + ": " + tally);
            printCrashPoints("diskWrites[" + mode + ", selfCheckFails=" + failingSelfCheck + "]", tally);
            if (!failingSelfCheck) {
                assertThat(tally.old).isPositive();
                assertThat(tally.fresh).isPositive();
            }
        }
    }

    /**
     * A second cut during the recovery boot itself: for a sample of first cuts (disk writes of the
     * update), every flash operation and disk write of the recovering boot is cut in turn.
     */
    @Test
    void everyFlashOperationAndDiskWriteOfAForcedDowngradeIsSafeToCut() {
        Variant downgrade = Variant.FORCED_DOWNGRADE;
        Range range = measure(downgrade, false);
        Tally tally = new Tally();
        for (long k = range.flashFrom(); k < range.flashTo(); k++) {
            long index = k;
            tally.add(() -> crashAndReboot(downgrade, false, rig -> rig.flash.armCutAtOperation(index, PowerCutMode.DROP_UNFLUSHED)));
        }
        for (long k = range.diskFrom(); k < range.diskTo(); k++) {
            long index = k;
            tally.add(() -> crashAndReboot(downgrade, false, rig -> rig.domain.armCutAtWrite(index, PowerCutMode.KEEP_RANDOM_SUBSET)));
        }
        System.out.println("[crash] forced downgrade (reverse migration), flash ops + disk writes: " + tally);
        printCrashPoints("forcedDowngrade", tally);
        assertThat(tally.old).isPositive();
        assertThat(tally.fresh).isPositive();
    }

    @Test
    void aCutDuringRecoveryIsAlsoSafe() {
        Variant upgrade = Variant.UPGRADE;
        Range range = measure(upgrade, false);
        Tally tally = new Tally();
        for (long k = range.diskFrom(); k < range.diskTo(); k += 3) {
            long first = k;
            // count what the recovering boot does after this first cut
            Rig probe = prepared(upgrade, false);
            probe.domain.armCutAtWrite(first, PowerCutMode.DROP_UNFLUSHED);
            catchThrowable(() -> scenario(probe, upgrade));
            probe.flash.disarm();
            probe.domain.disarm();
            probe.flash.restorePower();
            long flash0 = probe.flash.operationCount();
            long disk0 = probe.domain.writeCount();
            probe.boot();
            long recoveryFlashOps = probe.flash.operationCount() - flash0;
            long recoveryDiskWrites = probe.domain.writeCount() - disk0;
            for (int kind = 0; kind < 2; kind++) {
                long count = kind == 0 ? recoveryFlashOps : recoveryDiskWrites;
                for (long j = 0; j < count; j++) {
                    Rig rig = prepared(upgrade, false);
                    rig.domain.armCutAtWrite(first, PowerCutMode.DROP_UNFLUSHED);
                    catchThrowable(() -> scenario(rig, upgrade));
                    rig.flash.disarm();
                    rig.domain.disarm();
                    rig.flash.restorePower();
                    if (kind == 0) {
                        rig.flash.armCutAtOperation(rig.flash.operationCount() + j, PowerCutMode.DROP_UNFLUSHED);
                    } else {
                        rig.domain.armCutAtWrite(rig.domain.writeCount() + j, PowerCutMode.DROP_UNFLUSHED);
                    }
                    Throwable thrown = catchThrowable(rig::boot);
                    assertThat(isPowerLoss(thrown)).as("second cut %d/%d: %s", first, j, thrown).isTrue();
                    tally.add(() -> verifyAfterReboot(rig, upgrade, false));
                }
            }
        }
        System.out.println("[crash] cut during recovery boot: " + tally);
        printCrashPoints("cutDuringRecovery", tally);
        assertThat(tally.points).isPositive();
    }
}
