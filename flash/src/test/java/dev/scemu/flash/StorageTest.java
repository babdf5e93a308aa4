package dev.scemu.flash;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.Media;
import dev.scemu.core.PowerCutMode;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

class StorageTest {

    @Test
    void backupRegionSlotsHoldImagesIndependently() {
        BlockDevice device = Media.memory("array", new BlockGeometry(512, 64));
        BackupRegion region = BackupRegion.on(device, new Extent(10, 40));
        assertThat(region.slotCapacityBytes()).isEqualTo(19 * 512);
        assertThat(region.read(BackupRegion.Slot.BACKUP).state()).isEqualTo(BackupRegion.SlotState.EMPTY);
        byte[] a = TestImages.body(3000, 1);
        byte[] b = TestImages.body(700, 2);
        region.write(BackupRegion.Slot.BACKUP, a);
        region.write(BackupRegion.Slot.STAGING, b);
        assertThat(region.read(BackupRegion.Slot.BACKUP).image()).containsExactly(a);
        assertThat(region.read(BackupRegion.Slot.STAGING).image()).containsExactly(b);
        assertThat(region.read(BackupRegion.Slot.STAGING).sequence()).isGreaterThan(region.read(BackupRegion.Slot.BACKUP).sequence());
        region.erase(BackupRegion.Slot.BACKUP);
        assertThat(region.read(BackupRegion.Slot.BACKUP).state()).isEqualTo(BackupRegion.SlotState.EMPTY);
        assertThat(region.read(BackupRegion.Slot.STAGING).image()).containsExactly(b);
        assertThatThrownBy(() -> region.write(BackupRegion.Slot.BACKUP, new byte[20 * 512]))
                .isInstanceOf(FlashException.class).hasMessageContaining("does not fit");
    }

    @Test
    void aCutSlotWriteReadsCorruptNeverAsAnotherImage() {
        for (int cut = 0; cut < 2; cut++) { // image blocks, then the header (the flush between is not a write)
            FaultInjectingDevice device = new FaultInjectingDevice(Media.memory("array", new BlockGeometry(512, 64)), cut);
            BackupRegion region = BackupRegion.on(device, new Extent(0, 40));
            region.write(BackupRegion.Slot.BACKUP, TestImages.body(3000, 1));
            device.powerDomain().armCutAtWrite(device.powerDomain().writeCount() + cut, PowerCutMode.KEEP_RANDOM_SUBSET);
            assertThatThrownBy(() -> region.write(BackupRegion.Slot.BACKUP, TestImages.body(3000, 2))).isNotNull();
            device.restorePower();
            BackupRegion.SlotContents contents = BackupRegion.on(device, new Extent(0, 40)).read(BackupRegion.Slot.BACKUP);
            if (contents.state() == BackupRegion.SlotState.VALID) {
                assertThat(contents.image()).isIn(TestImages.body(3000, 1), TestImages.body(3000, 2));
            } else {
                assertThat(contents.state()).isEqualTo(BackupRegion.SlotState.CORRUPT);
            }
        }
    }

    @Test
    void journalKeepsUnfinishedTransactionsAcrossReopenOnlyOnceSynced() {
        BlockDevice device = Media.memory("array", new BlockGeometry(512, 16));
        Extent extent = new Extent(2, 6);
        UpdateJournal journal = UpdateJournal.openOrFormat(device, extent);
        long tx = journal.begin(7, ByteBuffer.wrap(new byte[] {1, 2, 3}));
        journal.step(tx, 1, ByteBuffer.wrap(new byte[] {9}));
        assertThat(UpdateJournal.openOrFormat(device, extent).unfinished()).isEmpty();
        journal.sync();
        List<UpdateJournal.Entry> reopened = UpdateJournal.openOrFormat(device, extent).unfinished();
        assertThat(reopened).hasSize(1);
        assertThat(reopened.get(0).opType()).isEqualTo(7);
        assertThat(reopened.get(0).payload().remaining()).isEqualTo(3);
        assertThat(reopened.get(0).steps()).extracting(UpdateJournal.Step::stepIndex).containsExactly(1);
        journal.commit(tx);
        journal.sync();
        UpdateJournal again = UpdateJournal.openOrFormat(device, extent);
        assertThat(again.unfinished()).isEmpty();
        assertThat(again.begin(1, null)).isGreaterThan(tx);
        assertThatThrownBy(() -> again.commit(tx)).isInstanceOf(FlashException.class)
                .satisfies(e -> assertThat(((FlashException) e).code()).isEqualTo(FlashError.JOURNAL_ERROR));
    }

    @Test
    void journalRefusesOversizedPayloadsAndDamagedLogs() {
        BlockDevice device = Media.memory("array", new BlockGeometry(512, 16));
        UpdateJournal journal = UpdateJournal.openOrFormat(device, new Extent(0, 6));
        assertThatThrownBy(() -> journal.begin(1, ByteBuffer.allocate(600))).isInstanceOf(FlashException.class)
                .satisfies(e -> assertThat(((FlashException) e).code()).isEqualTo(FlashError.JOURNAL_ERROR));
        device.write(0, 2, ByteBuffer.allocate(1024).put(0, (byte) 1), 0);
        assertThatThrownBy(() -> UpdateJournal.openOrFormat(device, new Extent(0, 6)))
                .isInstanceOf(FlashException.class).hasMessageContaining("damaged");
    }

    @Test
    void flashStoreRejectsImagesLargerThanItsEraseBlocks() {
        FlashDevice flash = FlashDevice.builder().geometry(new FlashGeometry(512, 2, 8)).build();
        FirmwareStore store = FirmwareStore.onFlash(flash, 2, 3);
        assertThat(store.capacityBytes()).isEqualTo(3 * 1024);
        store.write(TestImages.body(2000, 3));
        byte[] back = new byte[2000];
        store.read(0, back, 0, 2000);
        assertThat(back).containsExactly(TestImages.body(2000, 3));
        assertThat(flash.read(0, 2048)).containsOnly((byte) 0xFF); // blocks 0-1 untouched
        assertThatThrownBy(() -> store.write(new byte[3 * 1024 + 1])).isInstanceOf(FlashException.class)
                .satisfies(e -> assertThat(((FlashException) e).code()).isEqualTo(FlashError.IMAGE_TOO_LARGE));
        assertThatThrownBy(() -> FirmwareStore.onFlash(flash, 7, 2)).isInstanceOf(FlashException.class);
    }
}
