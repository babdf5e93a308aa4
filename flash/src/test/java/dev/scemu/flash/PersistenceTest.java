package dev.scemu.flash;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The NVRAM and the backup region survive closing everything and reopening from files (a process restart). */
class PersistenceTest {

    @Test
    void flashOnAMappedFilePersistsContentsAndEraseCounts(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("nvram.img");
        FlashGeometry geometry = new FlashGeometry(4096, 4, 8);
        try (FlashDevice flash = FlashDevice.builder().geometry(geometry).mappedFile(file).build()) {
            assertThat(flash.read(0, 4096)).containsOnly((byte) 0xFF);
            flash.program(5000, new byte[] {0x12, 0x34});
            flash.erase(3);
        }
        assertThat(Files.size(file)).isEqualTo(FlashDevice.backingGeometry(geometry).capacityBytes());
        try (FlashDevice flash = FlashDevice.builder().geometry(geometry).mappedFile(file).build()) {
            assertThat(flash.read(5000, 2)).containsExactly(0x12, 0x34);
            assertThat(flash.eraseCount(3)).isEqualTo(1);
        }
    }

    @Test
    void anUpdatedControllerBootsTheNewImageAfterAProcessRestart(@TempDir Path dir) {
        byte[] v1 = FirmwareUpdateTest.V1;
        byte[] v2 = FirmwareUpdateTest.v2();
        Path nvram = dir.resolve("nvram.img");
        Path array = dir.resolve("array.img");
        BlockGeometry arrayGeometry = new BlockGeometry(Rig.BLOCK, 64);
        try (FlashDevice flash = FlashDevice.builder().geometry(Rig.FLASH).mappedFile(nvram).build();
             BlockDevice disk = Media.mappedFile(array, arrayGeometry)) {
            FirmwareStore.onFlash(flash).write(v1);
            FirmwareManager manager = manager(flash, disk);
            assertThat(manager.boot().has(FirmwareEvent.Type.BACKUP_CREATED)).isTrue();
            manager.stage(v2);
            assertThat(manager.update().outcome()).isEqualTo(UpdateReport.Outcome.UPDATED);
            disk.flush();
        }
        try (FlashDevice flash = FlashDevice.builder().geometry(Rig.FLASH).mappedFile(nvram).build();
             BlockDevice disk = Media.mappedFile(array, arrayGeometry)) {
            FirmwareManager manager = manager(flash, disk);
            InspectionReport report = manager.boot();
            assertThat(report.running().bytes()).containsExactly(v2);
            assertThat(report.foundProblems()).isFalse();
        }
    }

    private static FirmwareManager manager(FlashDevice flash, BlockDevice disk) {
        return FirmwareManager.builder().store(FirmwareStore.onFlash(flash))
                .backupRegion(BackupRegion.on(disk, Rig.BACKUP))
                .journal(UpdateJournal.openOrFormat(disk, Rig.JOURNAL))
                .trustedKeys(TestImages.TRUSTED)
                .migration(Migrations.recordHeaderV1ToV2("mapping-table", disk, Rig.TABLE))
                .build();
    }
}
