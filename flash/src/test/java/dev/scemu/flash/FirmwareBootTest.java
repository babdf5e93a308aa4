package dev.scemu.flash;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.time.Duration;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

class FirmwareBootTest {

    static final byte[] CURRENT = TestImages.signed("1.0.0", 9_000);
    static final byte[] OTHER = TestImages.signed("0.9.0", 7_000);

    enum FlashCase { VALID, CORRUPT, MISSING, UNSIGNED }

    enum BackupCase { SAME, STALE, CORRUPT, MISSING }

    private static Rig rig(FlashCase flashCase, BackupCase backupCase) {
        Rig rig = new Rig(11);
        switch (flashCase) {
            case VALID -> rig.store.write(CURRENT);
            case CORRUPT -> {
                rig.store.write(CURRENT);
                rig.flash.flipBit(8L * 5000 + 3); // a body bit
            }
            case MISSING -> { }
            case UNSIGNED -> rig.store.write(TestImages.base("1.0.0", 9_000).build());
        }
        BackupRegion region = rig.backupRegion();
        switch (backupCase) {
            case SAME -> region.write(BackupRegion.Slot.BACKUP, CURRENT);
            case STALE -> region.write(BackupRegion.Slot.BACKUP, OTHER);
            case CORRUPT -> {
                region.write(BackupRegion.Slot.BACKUP, CURRENT);
                rig.disk.corruptBlock(Rig.BACKUP.lba() + 2);
            }
            case MISSING -> { }
        }
        rig.disk.flush();
        return rig;
    }

    @ParameterizedTest(name = "flash {0}, backup {1}")
    @org.junit.jupiter.params.provider.MethodSource("combinations")
    void bootsTheRightImageInEveryCombination(FlashCase flashCase, BackupCase backupCase) {
        Rig rig = rig(flashCase, backupCase);
        Throwable thrown = catchThrowable(rig::boot);
        boolean flashGood = flashCase == FlashCase.VALID;
        boolean backupGood = backupCase == BackupCase.SAME || backupCase == BackupCase.STALE;
        if (!flashGood && !backupGood) {
            assertThat(thrown).isInstanceOf(FlashException.class);
            assertThat(((FlashException) thrown).code()).isEqualTo(FlashError.NO_BOOTABLE_IMAGE);
            assertThat(thrown).hasMessageContaining("flash").hasMessageContaining("backup");
            assertThat(rig.events).extracting(FirmwareEvent::type).contains(FirmwareEvent.Type.CORRUPTION_DETECTED,
                    FirmwareEvent.Type.RECOVERY_FAILED);
            return;
        }
        assertThat(thrown).isNull();
        FirmwareImage running = rig.manager.running();
        byte[] expected = flashGood || backupCase == BackupCase.SAME ? CURRENT : OTHER;
        assertThat(running.bytes()).containsExactly(expected);
        assertThat(rig.manager.checkFlash().holds(running)).isTrue();
        assertThat(rig.manager.checkSlot(BackupRegion.Slot.BACKUP).holds(running)).isTrue();
        var types = rig.events.stream().map(FirmwareEvent::type).toList();
        if (flashGood) {
            assertThat(types).doesNotContain(FirmwareEvent.Type.RECOVERED);
            switch (backupCase) {
                case SAME -> assertThat(types).containsExactly(FirmwareEvent.Type.BOOTED);
                case MISSING -> assertThat(types).containsExactly(FirmwareEvent.Type.BACKUP_CREATED, FirmwareEvent.Type.BOOTED);
                case STALE -> assertThat(types).containsExactly(FirmwareEvent.Type.BACKUP_REFRESHED, FirmwareEvent.Type.BOOTED);
                case CORRUPT -> assertThat(types).containsExactly(FirmwareEvent.Type.CORRUPTION_DETECTED,
                        FirmwareEvent.Type.BACKUP_REFRESHED, FirmwareEvent.Type.BOOTED);
            }
        } else {
            assertThat(types).containsExactly(FirmwareEvent.Type.CORRUPTION_DETECTED, FirmwareEvent.Type.RECOVERED,
                    FirmwareEvent.Type.BOOTED);
        }
        // a second boot finds nothing to do
        rig.events.clear();
        assertThat(rig.boot().foundProblems()).isFalse();
    }

    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> combinations() {
        return java.util.Arrays.stream(FlashCase.values()).flatMap(f -> java.util.Arrays.stream(BackupCase.values())
                .map(b -> org.junit.jupiter.params.provider.Arguments.of(f, b)));
    }

    @Test
    void inspectionRecoversRetentionFlipsFromTheBackupWhileIoContinues() {
        Rig rig = rig(FlashCase.VALID, BackupCase.SAME);
        rig.boot();
        rig.flash.flipBit(8L * 100);
        InspectionReport report;
        try (HostIoGate.Permit permit = rig.manager.hostIoGate().enter()) {
            report = rig.manager.inspect(); // completes while a host request is in flight
        }
        assertThat(report.flash().state()).isEqualTo(ImageCheck.State.CORRUPT);
        assertThat(report.has(FirmwareEvent.Type.CORRUPTION_DETECTED)).isTrue();
        assertThat(report.has(FirmwareEvent.Type.RECOVERED)).isTrue();
        assertThat(report.events().get(1).detail()).contains("from BACKUP");
        assertThat(rig.manager.checkFlash().holds(rig.manager.running())).isTrue();
        assertThat(rig.manager.hostIoGate().pauseCount()).isZero();
    }

    @Test
    void inspectionRecoversFromMemoryWhenTheBackupIsAlsoDamaged() {
        Rig rig = rig(FlashCase.VALID, BackupCase.SAME);
        rig.boot();
        rig.flash.flipBit(8L * 4000 + 1);
        rig.disk.corruptBlock(Rig.BACKUP.lba() + 1);
        InspectionReport report = rig.manager.inspect();
        assertThat(report.events()).extracting(FirmwareEvent::type).containsExactly(
                FirmwareEvent.Type.CORRUPTION_DETECTED, FirmwareEvent.Type.RECOVERED,
                FirmwareEvent.Type.CORRUPTION_DETECTED, FirmwareEvent.Type.BACKUP_REFRESHED, FirmwareEvent.Type.INSPECTED);
        assertThat(report.events().get(1).detail()).contains("from MEMORY");
        assertThat(rig.manager.checkFlash().holds(rig.manager.running())).isTrue();
        assertThat(rig.manager.checkSlot(BackupRegion.Slot.BACKUP).holds(rig.manager.running())).isTrue();
    }

    @Test
    void wornOutFlashBlocksAreDetected() {
        Rig rig = rig(FlashCase.VALID, BackupCase.SAME);
        rig.boot();
        FlashDevice worn = FlashDevice.builder().geometry(Rig.FLASH).endurance(0).build();
        for (int cycle = 0; cycle < 64; cycle++) {
            worn.erase(0); // 64 cycles beyond endurance: 64 bit errors in reads of the 16 KiB block
        }
        worn.program(0, CURRENT);
        FirmwareManager manager = FirmwareManager.builder().store(FirmwareStore.onFlash(worn))
                .backupRegion(rig.backupRegion()).journal(UpdateJournal.openOrFormat(rig.disk, Rig.JOURNAL))
                .trustedKeys(TestImages.TRUSTED).build();
        assertThat(manager.checkFlash().state()).isEqualTo(ImageCheck.State.CORRUPT);
    }

    @Test
    void periodicInspectorRunsOnTheConfiguredScheduleAndTicksDeterministically() {
        Rig rig = rig(FlashCase.VALID, BackupCase.SAME);
        rig.boot();
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1);
        try (PeriodicInspector inspector = rig.manager.startPeriodicInspection(executor, Duration.ofHours(6))) {
            assertThat(inspector.isStarted()).isTrue();
            assertThat(executor.getQueue()).hasSize(1);
            long delayMinutes = ((java.util.concurrent.ScheduledFuture<?>) executor.getQueue().peek())
                    .getDelay(TimeUnit.MINUTES);
            assertThat(delayMinutes).isBetween(359L, 360L);

            assertThat(inspector.tick().foundProblems()).isFalse();
            rig.flash.flipBit(8L * 2000);
            InspectionReport report = inspector.tick();
            assertThat(report.has(FirmwareEvent.Type.RECOVERED)).isTrue();
            assertThat(inspector.ticks()).isEqualTo(2);

            rig.flash.cutPower();
            assertThat(inspector.tick()).isNull();
            assertThat(inspector.failures()).isEqualTo(1);
            assertThat(rig.events).extracting(FirmwareEvent::type).contains(FirmwareEvent.Type.INSPECTION_FAILED);
            rig.flash.restorePower();
        } finally {
            executor.shutdownNow();
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"CORRUPT", "MISSING"})
    void backupRegionSlotStatesAreReported(BackupCase backupCase) {
        Rig rig = rig(FlashCase.VALID, backupCase);
        ImageCheck check = rig.newManager().checkSlot(BackupRegion.Slot.BACKUP);
        assertThat(check.state()).isEqualTo(backupCase == BackupCase.MISSING ? ImageCheck.State.MISSING
                : ImageCheck.State.CORRUPT);
    }
}
