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

    static final byte[] OLD = FirmwareUpdateTest.V1;
    static final byte[] NEW = FirmwareUpdateTest.v2();
    static final long SEED = 99;

    enum Outcome { OLD, NEW }

    /** A booted controller running OLD over v1 data, with its backup created. */
    private static Rig prepared(boolean failingSelfCheck) {
        Rig rig = Rig.provisioned(SEED, OLD, 1);
        rig.boot();
        if (failingSelfCheck) {
            rig.selfCheck = image -> !Arrays.equals(image.bytes(), NEW);
        }
        return rig;
    }

    private static void scenario(Rig rig) {
        rig.manager.stage(NEW);
        rig.manager.update();
    }

    private record Range(long flashFrom, long flashTo, long diskFrom, long diskTo) {
    }

    private static Range measure(boolean failingSelfCheck) {
        Rig rig = prepared(failingSelfCheck);
        long flash0 = rig.flash.operationCount();
        long disk0 = rig.domain.writeCount();
        scenario(rig);
        return new Range(flash0, rig.flash.operationCount(), disk0, rig.domain.writeCount());
    }

    private static final class Tally {
        int points;
        int old;
        int fresh;

        void add(Outcome outcome) {
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
    private static Outcome crashAndReboot(boolean failingSelfCheck, Consumer<Rig> arm) {
        Rig rig = prepared(failingSelfCheck);
        arm.accept(rig);
        Throwable thrown = catchThrowable(() -> scenario(rig));
        assertThat(thrown).as("the armed cut must interrupt the scenario").isNotNull();
        assertThat(isPowerLoss(thrown)).as("%s", thrown).isTrue();
        assertThat(rig.flash.isPowered()).isFalse();
        return verifyAfterReboot(rig, failingSelfCheck);
    }

    static boolean isPowerLoss(Throwable thrown) {
        return (thrown instanceof FlashException f && f.code() == FlashError.POWER_LOST)
                || (thrown instanceof CoreException c && c.code() == CoreError.POWER_LOST);
    }

    static Outcome verifyAfterReboot(Rig rig, boolean failingSelfCheck) {
        InspectionReport report = rig.reboot();
        FirmwareImage running = report.running();
        Outcome outcome;
        if (Arrays.equals(running.bytes(), OLD)) {
            outcome = Outcome.OLD;
        } else {
            assertThat(running.bytes()).as("booted image is neither old nor new").containsExactly(NEW);
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
            rig.manager.stage(NEW);
            assertThat(rig.manager.update().outcome()).isEqualTo(UpdateReport.Outcome.UPDATED);
            assertThat(rig.tableVersion()).isEqualTo(2);
        }
        return outcome;
    }

    @ParameterizedTest(name = "self-check fails: {0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void everyFlashOperationOfAnUpdateIsSafeToCut(boolean failingSelfCheck) {
        Range range = measure(failingSelfCheck);
        assertThat(range.flashTo() - range.flashFrom()).isGreaterThanOrEqualTo(8); // 2 erases + 6 pages at least
        Tally tally = new Tally();
        for (long k = range.flashFrom(); k < range.flashTo(); k++) {
            long index = k;
            tally.add(crashAndReboot(failingSelfCheck,
                    rig -> rig.flash.armCutAtOperation(index, PowerCutMode.DROP_UNFLUSHED)));
        }
        System.out.println("[crash] flash operations, self-check fails=" + failingSelfCheck + ": " + tally);
        assertThat(tally.points).isEqualTo((int) (range.flashTo() - range.flashFrom()));
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(PowerCutMode.class)
    void everyDiskWriteOfAnUpdateIsSafeToCut(PowerCutMode mode) {
        for (boolean failingSelfCheck : new boolean[] {false, true}) {
            Range range = measure(failingSelfCheck);
            assertThat(range.diskTo() - range.diskFrom()).isGreaterThan(10);
            Tally tally = new Tally();
            for (long k = range.diskFrom(); k < range.diskTo(); k++) {
                long index = k;
                tally.add(crashAndReboot(failingSelfCheck, rig -> rig.domain.armCutAtWrite(index, mode)));
            }
            System.out.println("[crash] disk writes (" + mode + "), self-check fails=" + failingSelfCheck + ": " + tally);
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
    void aCutDuringRecoveryIsAlsoSafe() {
        Range range = measure(false);
        Tally tally = new Tally();
        for (long k = range.diskFrom(); k < range.diskTo(); k += 3) {
            long first = k;
            // count what the recovering boot does after this first cut
            Rig probe = prepared(false);
            probe.domain.armCutAtWrite(first, PowerCutMode.DROP_UNFLUSHED);
            catchThrowable(() -> scenario(probe));
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
                    Rig rig = prepared(false);
                    rig.domain.armCutAtWrite(first, PowerCutMode.DROP_UNFLUSHED);
                    catchThrowable(() -> scenario(rig));
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
                    tally.add(verifyAfterReboot(rig, false));
                }
            }
        }
        System.out.println("[crash] cut during recovery boot: " + tally);
        assertThat(tally.points).isPositive();
    }
}
