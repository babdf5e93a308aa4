package dev.scemu.unit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.PowerCutMode;
import dev.scemu.flash.FirmwareEvent;
import dev.scemu.flash.UpdateReport;
import dev.scemu.raid.MemberState;
import dev.scemu.raid.RebuildProgress;
import dev.scemu.snapshot.SnapshotInfo;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StorageControlUnitTest {

    private static UnitConfig.Builder small() {
        return UnitConfig.builder().disks(4, 16L << 20).chunkBytes(64 << 10).snapshotStoreBytes(12L << 20).seed(7);
    }

    private static ByteBuffer pattern(long seed, int blocks) {
        byte[] bytes = new byte[blocks * 4096];
        new Random(seed).nextBytes(bytes);
        return ByteBuffer.allocateDirect(bytes.length).put(bytes).clear();
    }

    private static ByteBuffer read(BlockDevice device, long lba, int blocks) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(blocks * 4096);
        device.read(lba, blocks, buffer, 0);
        return buffer;
    }

    @Test
    void provisionsPartitionsFirmwareBackupAndAnEmptyVolume() {
        try (StorageControlUnit unit = StorageControlUnit.create(small().build())) {
            assertThat(unit.partitions().partitions()).extracting(GptPartition::name)
                    .containsExactly("firmware-backup", "snapshot-store", "data");
            assertThat(unit.bootReport().has(FirmwareEvent.Type.BACKUP_CREATED)).isTrue();
            long dataBytes = unit.partitions().find("data").orElseThrow().sizeBytes();
            assertThat(unit.host().geometry().capacityBytes()).isEqualTo(dataBytes);
            assertThat(unit.host().geometry().capacityBytes())
                    .as("the firmware-backup partition is not addressable by the host")
                    .isLessThan(unit.array().geometry().capacityBytes() - (4L << 20));
            assertThat(unit.status().describe()).contains("RAID5").contains("firmware   1.0.0")
                    .as("no NaN when the host has written nothing").doesNotContain("NaN")
                    .contains("end-to-end WA n/a");
        }
    }

    @Test
    void rebootsAfterAPowerCutThatTheFlashRaisedDuringAFirmwareUpdate() {
        UnitConfig config = small().build();
        try (StorageControlUnit unit = StorageControlUnit.create(config)) {
            unit.firmware().stage(DefaultFirmware.image("1.1.0", unit.testSigningKey().orElseThrow()));
            unit.flash().armCutAtOperation(unit.flash().operationCount() + 3, PowerCutMode.DROP_UNFLUSHED);
            assertThatThrownBy(() -> unit.firmware().update()).hasMessageContaining("POWER_LOST");
            assertThat(unit.power().isPowered()).isFalse();
            unit.crashAndReboot(PowerCutMode.DROP_UNFLUSHED);
            assertThat(unit.flash().isPowered()).isTrue();
            assertThat(unit.bootReport().has(FirmwareEvent.Type.BOOTED)).isTrue();
            assertThat(unit.firmware().running().version().toString()).startsWith("1.0.0");
            assertThat(unit.firmware().checkFlash().holds(unit.firmware().running())).isTrue();
        }
    }

    @Test
    void dataAndSnapshotsSurviveCloseAndReopenFromTheImageFiles(@TempDir Path dir) {
        ByteBuffer before = pattern(1, 8);
        ByteBuffer after = pattern(2, 8);
        long snapshotId;
        try (StorageControlUnit unit = StorageControlUnit.create(small().directory(dir).build())) {
            unit.host().write(100, 8, before, 0);
            snapshotId = unit.snapshots().createSnapshot("before").id();
            unit.host().write(100, 8, after, 0);
            unit.host().flush();
        }
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(unit.bootReport().foundProblems()).isFalse();
            assertThat(read(unit.host(), 100, 8)).isEqualTo(after);
            assertThat(unit.snapshots().listSnapshots()).extracting(SnapshotInfo::name).containsExactly("before");
            assertThat(read(unit.snapshots().snapshot(snapshotId), 100, 8)).isEqualTo(before);
        }
    }

    @Test
    void openingADirectoryWithoutAUnitIsAClearError(@TempDir Path dir) {
        assertThatThrownBy(() -> StorageControlUnit.open(dir))
                .isInstanceOf(UnitException.class).hasMessageContaining("no scemu unit in");
    }

    @Test
    void bootRecoversACorruptedFlashImageFromTheBackupPartition() {
        try (StorageControlUnit unit = StorageControlUnit.create(small().build())) {
            String good = unit.firmware().running().sha256Hex();
            unit.flash().program(70_000, new byte[64]); // clears bits inside the image body
            unit.flash().restorePower();
            unit.crashAndReboot(PowerCutMode.DROP_UNFLUSHED);
            assertThat(unit.bootReport().has(FirmwareEvent.Type.CORRUPTION_DETECTED)).isTrue();
            assertThat(unit.bootReport().has(FirmwareEvent.Type.RECOVERED)).isTrue();
            assertThat(unit.firmware().running().sha256Hex()).isEqualTo(good);
            assertThat(unit.firmware().inspect().foundProblems()).as("the flash holds a good image again").isFalse();
        }
    }

    @Test
    void aPowerCutKeepsFlushedHostWritesAndSnapshotViews() {
        try (StorageControlUnit unit = StorageControlUnit.create(small().build())) {
            ByteBuffer durable = pattern(3, 16);
            unit.host().write(500, 16, durable, 0);
            SnapshotInfo snapshot = unit.snapshots().createSnapshot("s1");
            unit.host().write(500, 16, pattern(4, 16), 0);
            unit.host().flush();
            ByteBuffer flushed = read(unit.host(), 500, 16);
            unit.host().write(500, 16, pattern(5, 16), 0);   // never flushed
            unit.crashAndReboot(PowerCutMode.KEEP_RANDOM_SUBSET);
            ByteBuffer now = read(unit.host(), 500, 16);
            ByteBuffer lost = pattern(5, 16);
            for (int block = 0; block < 16; block++) {
                ByteBuffer actual = now.slice(block * 4096, 4096);
                assertThat(actual.equals(flushed.slice(block * 4096, 4096)) || actual.equals(lost.slice(block * 4096, 4096)))
                        .as("block %d holds its flushed or its newer data", block).isTrue();
            }
            assertThat(read(unit.snapshots().snapshot(snapshot.id()), 500, 16)).isEqualTo(durable);
        }
    }

    @Test
    void aFailedDiskIsReplacedAndRebuiltWhileDataStaysReadable() throws Exception {
        try (StorageControlUnit unit = StorageControlUnit.create(small().build())) {
            ByteBuffer data = pattern(6, 64);
            unit.host().write(0, 64, data, 0);
            unit.host().flush();
            unit.disk(2).failDevice();
            assertThat(read(unit.host(), 0, 64)).isEqualTo(data);
            assertThat(unit.status().degraded()).isTrue();
            RebuildProgress done = unit.replaceDisk(2, new dev.scemu.raid.RebuildListener() { }).get(60, TimeUnit.SECONDS);
            assertThat(done.fraction()).isEqualTo(1.0);
            assertThat(unit.status().degraded()).isFalse();
            assertThat(unit.status().members()).containsOnly(MemberState.ACTIVE);
            unit.disk(0).failDevice();   // the rebuilt disk now carries redundancy
            assertThat(read(unit.host(), 0, 64)).isEqualTo(data);
        }
    }

    @Test
    void aReplacedDiskImageIsTheMemberAfterReopen(@TempDir Path dir) throws Exception {
        ByteBuffer data = pattern(9, 32);
        try (StorageControlUnit unit = StorageControlUnit.create(small().directory(dir).build())) {
            unit.host().write(0, 32, data, 0);
            unit.host().flush();
            unit.array().failMember(1);
            unit.replaceDisk(1, new dev.scemu.raid.RebuildListener() { }).get(60, TimeUnit.SECONDS);
        }
        assertThat(dir.resolve("disk1.img")).exists();
        assertThat(dir.resolve("disk1-r1.img")).doesNotExist();
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(unit.status().degraded()).isFalse();
            assertThat(read(unit.host(), 0, 32)).isEqualTo(data);
        }
    }

    /** md's --run: a missing member image starts the unit degraded, status says why, replace writes a new image. */
    @Test
    void aMissingDiskImageStartsTheUnitDegradedAndReplaceRecreatesIt(@TempDir Path dir) throws Exception {
        ByteBuffer data = pattern(11, 32);
        try (StorageControlUnit unit = StorageControlUnit.create(small().directory(dir).build())) {
            unit.host().write(0, 32, data, 0);
            unit.host().flush();
        }
        java.nio.file.Files.delete(dir.resolve("disk2.img"));
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            UnitStatus status = unit.status();
            assertThat(status.degraded()).isTrue();
            assertThat(status.members().get(2)).isEqualTo(MemberState.FAILED);
            assertThat(status.memberFaults()).containsOnlyKeys(2);
            assertThat(status.memberFaults().get(2)).isEqualTo("missing (image file disk2.img not found)");
            assertThat(status.describe()).contains("disk 2   FAILED: missing (image file disk2.img not found)");
            assertThat(read(unit.host(), 0, 32)).isEqualTo(data);
            unit.replaceDisk(2, new dev.scemu.raid.RebuildListener() { }).get(60, TimeUnit.SECONDS);
            assertThat(unit.status().memberFaults()).isEmpty();
        }
        assertThat(dir.resolve("disk2.img")).exists();
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(unit.status().degraded()).isFalse();
            assertThat(read(unit.host(), 0, 32)).isEqualTo(data);
            assertThat(unit.array().scrub(false).mismatchedStripes()).isZero();
        }
    }

    @Test
    void aRaid0UnitWhoseDiskDiesIsReportedFailedBecauseRaid0HasNoRedundancy() {
        try (StorageControlUnit unit = StorageControlUnit.create(small().level(dev.scemu.raid.RaidLevel.RAID0).build())) {
            unit.host().write(0, 64, pattern(12, 64), 0);
            unit.host().flush();
            unit.disk(1).failDevice();
            assertThatThrownBy(() -> read(unit.host(), 0, 64)).hasMessageContaining("RAID-0 has no redundancy");
            UnitStatus status = unit.status();
            assertThat(status.describe()).contains("FAILED (RAID-0 has no redundancy)");
            assertThat(status.memberFaults()).containsOnlyKeys(1);
            assertThat(status.memberFaults().get(1)).contains("DEVICE_FAILED");
        }
    }

    /** Two dead disks of a RAID-5: the array fails every I/O, and status must not call it "DEGRADED" (still running). */
    @Test
    void aRaid5UnitThatLostTwoDisksIsReportedFailedNotDegraded() {
        try (StorageControlUnit unit = StorageControlUnit.create(small().build())) {
            unit.host().write(0, 64, pattern(13, 64), 0);
            unit.host().flush();
            unit.disk(0).failDevice();
            unit.disk(1).failDevice();
            assertThatThrownBy(() -> read(unit.host(), 0, 64)).hasMessageContaining("no redundancy left");
            assertThat(unit.status().describe())
                    .contains("FAILED (2 of 4 disks in sync, RAID5 needs 3: reads and writes fail)")
                    .doesNotContain("DEGRADED");
        }
    }

    @Test
    void firmwareUpdatesWhileHostIoRunsAndPausesOnlyForTheSwitch() throws Exception {
        try (StorageControlUnit unit = StorageControlUnit.create(small().build())) {
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong writes = new AtomicLong();
            java.util.concurrent.CountDownLatch writing = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor();
            java.util.concurrent.Future<?> writer = pool.submit(() -> {
                ByteBuffer block = pattern(8, 1);
                Random random = new Random(8);
                while (!stop.get()) {
                    unit.host().write(random.nextInt(1000), 1, block, 0);
                    writes.incrementAndGet();
                    writing.countDown();
                }
            });
            try {
                // the update starts once host writes run (else, on a loaded machine, it could be over
                // before the writer thread's first write, leaving 'writes' at 0)
                assertThat(writing.await(60, java.util.concurrent.TimeUnit.SECONDS)).as("host writes running").isTrue();
                unit.firmware().stage(DefaultFirmware.image("1.1.0", 7));
                UpdateReport report = unit.firmware().update();
                assertThat(report.outcome()).isEqualTo(UpdateReport.Outcome.UPDATED);
                assertThat(report.switchPauseNanos()).isPositive();
            } finally {
                stop.set(true);
                pool.shutdown();
            }
            writer.get(60, java.util.concurrent.TimeUnit.SECONDS); // a write that failed during the update fails the test
            assertThat(writes.get()).isPositive();
            assertThat(unit.firmware().running().version().toString()).startsWith("1.1.0");
            unit.crashAndReboot(PowerCutMode.DROP_UNFLUSHED);
            assertThat(unit.firmware().running().version().toString()).startsWith("1.1.0");
        }
    }
}
