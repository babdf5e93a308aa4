package dev.scemu.flash;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class FirmwareUpdateTest {

    static final byte[] V1 = TestImages.signed("1.0.0", 20_000);

    static byte[] v2() {
        return TestImages.base("1.1.0", 22_000).dataFormat("mapping-table", 2).sign(TestImages.KEY).build();
    }

    private static Rig booted() {
        Rig rig = Rig.provisioned(1, V1, 1);
        rig.boot();
        return rig;
    }

    @Test
    void updatesMigratesSwitchesConfirmsAndBacksUp() {
        Rig rig = booted();
        FirmwareImage staged = rig.manager.stage(v2());
        UpdateReport report = rig.manager.update();
        assertThat(report.outcome()).isEqualTo(UpdateReport.Outcome.UPDATED);
        assertThat(report.from()).isEqualTo(ImageVersion.parse("1.0.0"));
        assertThat(report.to()).isEqualTo(ImageVersion.parse("1.1.0"));
        assertThat(report.migrations()).containsExactly("mapping-table v1→v2");
        assertThat(report.switchPauseNanos()).isPositive();
        assertThat(report.flashBytesWritten()).isEqualTo(2 * 16384 + 22_000 + (staged.length() - 22_000));
        assertThat(rig.manager.running().sameImageAs(staged)).isTrue();
        assertThat(rig.manager.checkFlash().holds(staged)).isTrue();
        assertThat(rig.manager.checkSlot(BackupRegion.Slot.BACKUP).holds(staged)).isTrue();
        assertThat(rig.tableVersion()).isEqualTo(2);
        assertThat(rig.manager.hostIoGate().pauseCount()).isEqualTo(1);
        assertThat(rig.events).extracting(FirmwareEvent::type).containsSubsequence(FirmwareEvent.Type.STAGED,
                FirmwareEvent.Type.MIGRATED, FirmwareEvent.Type.FLASH_PROGRAMMED, FirmwareEvent.Type.SWITCHED,
                FirmwareEvent.Type.CONFIRMED, FirmwareEvent.Type.UPDATE_COMPLETED);
        InspectionReport reboot = rig.reboot();
        assertThat(reboot.running().sameImageAs(staged)).isTrue();
        assertThat(reboot.foundProblems()).isFalse();
    }

    @Test
    void switchIsTheOnlyPauseAndHostIoContinuesAroundIt() throws Exception {
        Rig rig = booted();
        AtomicBoolean pausedDuringActivation = new AtomicBoolean();
        AtomicBoolean done = new AtomicBoolean();
        AtomicLong hostRequests = new AtomicLong();
        FirmwareManager manager = FirmwareManager.builder().store(rig.store).backupRegion(rig.backupRegion())
                .journal(UpdateJournal.openOrFormat(rig.disk, Rig.JOURNAL)).trustedKeys(TestImages.TRUSTED)
                .migration(Migrations.recordHeaderV1ToV2("mapping-table", rig.disk, Rig.TABLE))
                .activator(image -> pausedDuringActivation.set(rigGatePaused(rig)))
                .build();
        rig.manager = manager;
        manager.boot();
        java.util.concurrent.CountDownLatch hostRunning = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor();
        java.util.concurrent.Future<?> host = pool.submit(() -> {
            while (!done.get()) {
                try (HostIoGate.Permit permit = manager.hostIoGate().enter()) {
                    hostRequests.incrementAndGet();
                }
                hostRunning.countDown();
            }
        });
        UpdateReport report;
        try {
            // the update starts once host requests run: else it can be over before the host thread's
            // first request (in a warm JVM it often was) and hostRequests stays 0
            assertThat(hostRunning.await(60, java.util.concurrent.TimeUnit.SECONDS)).as("host requests running").isTrue();
            manager.stage(v2());
            report = manager.update();
        } finally {
            done.set(true);
            pool.shutdown();
        }
        host.get(60, java.util.concurrent.TimeUnit.SECONDS); // the host thread's exception fails the test
        assertThat(report.outcome()).isEqualTo(UpdateReport.Outcome.UPDATED);
        System.out.printf("[switch] host I/O paused %d µs (old image's requests drained %d µs after, not held) during "
                + "an update with concurrent host I/O (%d host requests)%n", report.switchPauseNanos() / 1000,
                report.drainNanos() / 1000, hostRequests.get());
        assertThat(pausedDuringActivation).isTrue();
        assertThat(hostRequests.get()).isPositive();
        assertThat(report.switchPauseNanos()).isPositive();
        assertThat(manager.hostIoGate().maxPauseNanos()).isEqualTo(report.switchPauseNanos());
    }

    private static boolean rigGatePaused(Rig rig) {
        return rig.manager.hostIoGate().isPaused();
    }

    @Test
    void refusesDowngradeUnlessForcedAndThenRevertsTheDataFormat() {
        Rig rig = Rig.provisioned(2, v2(), 2);
        rig.boot();
        rig.manager.stage(V1);
        UpdateReport refused = rig.manager.update();
        assertThat(refused.outcome()).isEqualTo(UpdateReport.Outcome.REFUSED);
        assertThat(refused.compatibility().downgrade()).isTrue();
        assertThat(refused.detail()).contains("downgrade from 1.1.0+0 to 1.0.0+0", "mapping-table would go back");
        assertThat(rig.manager.running().version()).isEqualTo(ImageVersion.parse("1.1.0"));
        assertThat(rig.events).extracting(FirmwareEvent::type).contains(FirmwareEvent.Type.UPDATE_REFUSED);

        UpdateReport forced = rig.manager.update(new UpdateOptions(true, false));
        assertThat(forced.outcome()).isEqualTo(UpdateReport.Outcome.UPDATED);
        assertThat(forced.migrations()).containsExactly("mapping-table v2→v1");
        assertThat(rig.tableVersion()).isEqualTo(1);
    }

    /** verify answers what stage would (and checkCompatibility what update would) without staging: nothing is written. */
    @Test
    void verifyChecksAnImageWithoutStagingIt() {
        Rig rig = Rig.provisioned(2, v2(), 2);
        rig.boot();
        FirmwareImage older = rig.manager.verify(V1);
        assertThat(older.version()).isEqualTo(ImageVersion.parse("1.0.0"));
        assertThat(rig.manager.checkCompatibility(older, UpdateOptions.defaults()).isCompatible()).isFalse();
        assertThat(rig.manager.checkSlot(BackupRegion.Slot.STAGING).isValid()).as("staging slot after verify").isFalse();
        assertThat(rig.manager.running().version()).isEqualTo(ImageVersion.parse("1.1.0"));
    }

    @Test
    void refusesAnImageMissingACapabilityAndListsIt() {
        Rig rig = booted();
        long erasesBefore = rig.flash.stats().eraseBlocksErased();
        rig.manager.stage(FirmwareImage.builder().version("2.0.0").body(new byte[100]).capabilities("raid0")
                .dataFormat("mapping-table", 1).dataFormat("raid-superblock", 1).sign(TestImages.KEY).build());
        UpdateReport report = rig.manager.update();
        assertThat(report.outcome()).isEqualTo(UpdateReport.Outcome.REFUSED);
        assertThat(report.compatibility().missingCapabilities()).containsExactly("raid1", "snapshots");
        assertThat(report.detail()).contains("lacks capabilities", "[raid1, snapshots]");
        assertThat(rig.manager.checkFlash().holds(rig.manager.running())).isTrue();
        assertThat(rig.flash.stats().eraseBlocksErased()).isEqualTo(erasesBefore);
        assertThat(rig.manager.update(new UpdateOptions(false, true)).outcome()).isEqualTo(UpdateReport.Outcome.UPDATED);
    }

    @Test
    void refusesAFormatChangeWithoutAMigrationPath() {
        Rig rig = booted();
        rig.manager.stage(TestImages.base("1.2.0", 100).dataFormat("raid-superblock", 3).sign(TestImages.KEY).build());
        UpdateReport report = rig.manager.update();
        assertThat(report.outcome()).isEqualTo(UpdateReport.Outcome.REFUSED);
        assertThat(report.detail()).contains("no migration path for data format raid-superblock v1 → v3",
                "registered: none");
    }

    @Test
    void revertsAutomaticallyWhenTheTrialBootSelfCheckFails() {
        Rig rig = booted();
        FirmwareImage old = rig.manager.running();
        rig.selfCheck = image -> !image.version().equals(ImageVersion.parse("1.1.0"));
        rig.manager.stage(v2());
        UpdateReport report = rig.manager.update();
        assertThat(report.outcome()).isEqualTo(UpdateReport.Outcome.REVERTED);
        assertThat(report.detail()).contains("self-check");
        assertThat(rig.manager.running().sameImageAs(old)).isTrue();
        assertThat(rig.manager.checkFlash().holds(old)).isTrue();
        assertThat(rig.manager.checkSlot(BackupRegion.Slot.BACKUP).holds(old)).isTrue();
        assertThat(rig.tableVersion()).isEqualTo(1);
        assertThat(rig.manager.hostIoGate().pauseCount()).isEqualTo(2);
        assertThat(rig.events).extracting(FirmwareEvent::type).contains(FirmwareEvent.Type.REVERTED);
        assertThat(rig.reboot().running().sameImageAs(old)).isTrue();
    }

    @Test
    void aThrowingSelfCheckAlsoReverts() {
        Rig rig = booted();
        rig.selfCheck = image -> {
            throw new IllegalStateException("array did not assemble");
        };
        rig.manager.stage(v2());
        UpdateReport report = rig.manager.update();
        assertThat(report.outcome()).isEqualTo(UpdateReport.Outcome.REVERTED);
        assertThat(report.detail()).contains("array did not assemble");
    }

    @Test
    void stagingRejectsBadImagesAndChangesNothing() {
        Rig rig = booted();
        byte[] unsigned = TestImages.base("1.1.0", 100).build();
        assertThatThrownBy(() -> rig.manager.stage(unsigned)).isInstanceOf(FlashException.class)
                .satisfies(e -> assertThat(((FlashException) e).code()).isEqualTo(FlashError.MISSING_SIGNATURE));
        assertThat(rig.manager.checkSlot(BackupRegion.Slot.STAGING).state()).isEqualTo(ImageCheck.State.MISSING);
        assertThatThrownBy(() -> rig.manager.update()).isInstanceOf(FlashException.class)
                .satisfies(e -> assertThat(((FlashException) e).code()).isEqualTo(FlashError.NOTHING_STAGED));
        byte[] huge = TestImages.signed("1.1.0", 70_000);
        assertThatThrownBy(() -> rig.manager.stage(huge)).isInstanceOf(FlashException.class)
                .satisfies(e -> assertThat(((FlashException) e).code()).isEqualTo(FlashError.IMAGE_TOO_LARGE));
    }

    @Test
    void stagingTheRunningImageIsANoOpUpdate() {
        Rig rig = booted();
        rig.manager.stage(V1);
        assertThat(rig.manager.update().outcome()).isEqualTo(UpdateReport.Outcome.ALREADY_RUNNING);
    }

    @Test
    void theLifecycleWorksOnAStrictFlash() {
        FlashDevice strict = FlashDevice.builder().geometry(Rig.FLASH).strict(true).build();
        Rig rig = new Rig(4);
        rig.writeTable(1);
        FirmwareStore store = FirmwareStore.onFlash(strict);
        store.write(V1);
        FirmwareManager manager = FirmwareManager.builder().store(store).backupRegion(rig.backupRegion())
                .journal(UpdateJournal.openOrFormat(rig.disk, Rig.JOURNAL)).trustedKeys(TestImages.TRUSTED)
                .migration(Migrations.recordHeaderV1ToV2("mapping-table", rig.disk, Rig.TABLE)).build();
        manager.boot();
        manager.stage(v2());
        assertThat(manager.update().outcome()).isEqualTo(UpdateReport.Outcome.UPDATED);
        strict.flipBit(8L * 3000);
        assertThat(manager.inspect().has(FirmwareEvent.Type.RECOVERED)).isTrue();
    }

    @Test
    void aScheduledInspectionSkipsWhileAnUpdateRuns() throws Exception {
        Rig rig = booted();
        PeriodicInspector inspector = rig.manager.periodicInspector(java.time.Duration.ofMinutes(1));
        java.util.concurrent.atomic.AtomicReference<InspectionReport> during = new java.util.concurrent.atomic.AtomicReference<>();
        rig.selfCheck = image -> {
            // the scheduler's thread, as PeriodicInspector's executor runs it; its exception fails the update
            java.util.concurrent.ExecutorService scheduler = java.util.concurrent.Executors.newSingleThreadExecutor();
            try {
                during.set(scheduler.submit(inspector::tick).get(60, java.util.concurrent.TimeUnit.SECONDS));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            } finally {
                scheduler.shutdown();
            }
            return true;
        };
        rig.manager.stage(v2());
        assertThat(rig.manager.update().outcome()).isEqualTo(UpdateReport.Outcome.UPDATED);
        assertThat(during.get()).isNull();
        assertThat(inspector.skipped()).isEqualTo(1);
        assertThat(inspector.tick()).isNotNull();
    }

    @Test
    void aFailingMigrationRollsTheUpdateBackAtOnce() {
        Rig rig = Rig.provisioned(5, V1, 1);
        Migration broken = new Migration() {
            @Override
            public String format() {
                return "raid-superblock";
            }

            @Override
            public int fromVersion() {
                return 1;
            }

            @Override
            public int toVersion() {
                return 2;
            }

            @Override
            public void migrate() {
                throw new FlashException(FlashError.MIGRATION_FAILED, "superblock of member 2 is unreadable");
            }

            @Override
            public void revert() {
            }
        };
        FirmwareManager manager = FirmwareManager.builder().store(rig.store).backupRegion(rig.backupRegion())
                .journal(UpdateJournal.openOrFormat(rig.disk, Rig.JOURNAL)).trustedKeys(TestImages.TRUSTED)
                .migration(Migrations.recordHeaderV1ToV2("mapping-table", rig.disk, Rig.TABLE)).migration(broken)
                .build();
        FirmwareImage old = manager.boot().running();
        manager.stage(TestImages.base("1.2.0", 5000).dataFormat("mapping-table", 2).dataFormat("raid-superblock", 2)
                .sign(TestImages.KEY).build());
        UpdateReport report = manager.update();
        assertThat(report.outcome()).isEqualTo(UpdateReport.Outcome.FAILED);
        assertThat(report.detail()).contains("superblock of member 2 is unreadable");
        assertThat(manager.running().sameImageAs(old)).isTrue();
        assertThat(manager.checkFlash().holds(old)).isTrue();
        assertThat(rig.tableVersion()).isEqualTo(1); // mapping-table ran first and was reverted
        assertThat(UpdateJournal.openOrFormat(rig.disk, Rig.JOURNAL).unfinished()).isEmpty();
    }

    @Test
    void operationsNeedABootedManager() {
        Rig rig = Rig.provisioned(3, V1, 1);
        FirmwareManager manager = rig.newManager();
        assertThatThrownBy(manager::inspect).isInstanceOf(FlashException.class)
                .satisfies(e -> assertThat(((FlashException) e).code()).isEqualTo(FlashError.NOT_BOOTED));
    }
}
