package dev.scemu.unit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.flash.FirmwareEvent;
import dev.scemu.flash.FirmwareImage;
import dev.scemu.flash.ImageCheck;
import dev.scemu.flash.InspectionReport;
import dev.scemu.flash.UpdateOptions;
import dev.scemu.flash.UpdateReport;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The unit's firmware in operation: scheduled and manual inspection, and the trial-boot self-check. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FirmwareOperationTest {

    private static final long SEED = 7;

    private static UnitConfig.Builder small() {
        return UnitConfig.builder().disks(4, 16L << 20).chunkBytes(64 << 10).snapshotStoreBytes(12L << 20).seed(SEED);
    }

    @Test
    void aScheduledInspectionFindsAndRepairsARetentionFlipWhileTheUnitRuns() throws Exception {
        try (StorageControlUnit unit = StorageControlUnit.create(small().inspectionPeriod(Duration.ofMillis(20)).build())) {
            assertThat(unit.inspector().isStarted()).isTrue();
            CountDownLatch recovered = new CountDownLatch(1);
            unit.firmware().addListener(event -> {
                if (event.type() == FirmwareEvent.Type.RECOVERED) {
                    recovered.countDown();
                }
            });
            unit.flash().flipBit(8L * 5_000);
            assertThat(recovered.await(60, TimeUnit.SECONDS)).as("a scheduled inspection recovered the flash").isTrue();
            assertThat(unit.firmware().checkFlash().holds(unit.firmware().running())).isTrue();
            assertThat(unit.inspector().ticks()).isPositive();
        }
    }

    @Test
    void withoutAScheduleTheInspectorIsTickedByHand() {
        try (StorageControlUnit unit = StorageControlUnit.create(small().build())) {
            assertThat(unit.inspector().isStarted()).isFalse();
            assertThat(unit.inspector().period()).isZero();
            unit.flash().flipBit(8L * 5_000);
            assertThat(unit.firmware().checkFlash().state()).isEqualTo(ImageCheck.State.CORRUPT);
            InspectionReport report = unit.inspector().tick();
            assertThat(report.has(FirmwareEvent.Type.CORRUPTION_DETECTED)).isTrue();
            assertThat(report.has(FirmwareEvent.Type.RECOVERED)).isTrue();
            assertThat(unit.firmware().checkFlash().holds(unit.firmware().running())).isTrue();
        }
    }

    @Test
    void theInspectionScheduleSurvivesAReopen(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        try (StorageControlUnit unit = StorageControlUnit.create(small().directory(dir)
                .inspectionPeriod(Duration.ofSeconds(30)).build())) {
            assertThat(unit.inspector().isStarted()).isTrue();
        }
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(unit.config().inspectionPeriod()).isEqualTo(Duration.ofSeconds(30));
            assertThat(unit.inspector().isStarted()).isTrue();
        }
    }

    @Test
    void aNegativeInspectionPeriodIsRejected() {
        assertThatThrownBy(() -> small().inspectionPeriod(Duration.ofSeconds(-1)).build())
                .isInstanceOf(UnitException.class).hasMessageContaining("inspection period PT-1S");
    }

    @Test
    void aForcedUpdateLackingTheRaidLevelInUseFailsItsTrialBootAndReverts() {
        try (StorageControlUnit unit = StorageControlUnit.create(small().build())) {
            FirmwareImage old = unit.firmware().running();
            byte[] noRaid5 = FirmwareImage.builder().version("2.0.0").body(new byte[4096])
                    .capabilities("raid0", "raid1", "snapshots", "backup", "nbd")
                    .dataFormat("mapping-table", 1).dataFormat("raid-superblock", 1)
                    .sign(DefaultFirmware.signingKey(SEED)).build();
            unit.firmware().stage(noRaid5);
            assertThat(unit.firmware().update().outcome()).as("refused unless forced")
                    .isEqualTo(UpdateReport.Outcome.REFUSED);

            UpdateReport forced = unit.firmware().update(new UpdateOptions(false, true));
            assertThat(forced.outcome()).isEqualTo(UpdateReport.Outcome.REVERTED);
            assertThat(forced.detail()).contains("lacks capability raid5");
            assertThat(unit.firmware().running().sameImageAs(old)).isTrue();
            assertThat(unit.firmware().checkFlash().holds(old)).isTrue();
        }
    }

    @Test
    void anUpdateWhoseTrialBootCannotReadThePartitionTableReverts() {
        try (StorageControlUnit unit = StorageControlUnit.create(small().build())) {
            FirmwareImage old = unit.firmware().running();
            unit.firmware().stage(DefaultFirmware.image("1.1.0", SEED));
            // both GPT headers destroyed after boot (LBA 1 and the last LBA of the array)
            ByteBuffer garbage = ByteBuffer.allocateDirect(4096);
            while (garbage.hasRemaining()) {
                garbage.put((byte) 0x5A);
            }
            garbage.clear();
            unit.array().write(0, 1, garbage, 0); // protective MBR
            unit.array().write(1, 1, garbage, 0); // primary header
            unit.array().write(unit.array().blockCount() - 1, 1, garbage, 0);

            UpdateReport report = unit.firmware().update();
            assertThat(report.outcome()).isEqualTo(UpdateReport.Outcome.REVERTED);
            assertThat(report.detail()).contains("partition table does not read back");
            assertThat(unit.firmware().running().sameImageAs(old)).isTrue();
            assertThat(unit.firmware().checkFlash().holds(old)).isTrue();
        }
    }

    @Test
    void aHealthyUnitPassesItsTrialBoot() {
        try (StorageControlUnit unit = StorageControlUnit.create(small().build())) {
            unit.firmware().stage(DefaultFirmware.image("1.1.0", SEED));
            UpdateReport report = unit.firmware().update();
            assertThat(report.outcome()).isEqualTo(UpdateReport.Outcome.UPDATED);
            assertThat(unit.firmware().recentEvents()).extracting(FirmwareEvent::type)
                    .contains(FirmwareEvent.Type.CONFIRMED);
        }
    }

}
