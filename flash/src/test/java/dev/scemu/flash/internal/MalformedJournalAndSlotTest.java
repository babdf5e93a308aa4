package dev.scemu.flash.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import dev.scemu.core.Media;
import dev.scemu.flash.BackupRegion;
import dev.scemu.flash.FlashError;
import dev.scemu.flash.FlashException;
import dev.scemu.flash.UpdateJournal;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Regressions of the decoder fuzzing (flash/src/test/.../fuzz): damaged update-journal steps and slot headers are FlashExceptions. */
class MalformedJournalAndSlotTest {

    private static FlashError codeOf(Throwable e) {
        return ((FlashException) e).code();
    }

    @Test
    void rejectsMigrationStepWithoutIndex() {
        assertThatThrownBy(() -> UpdateRecord.indexOf(ByteBuffer.allocate(0), 2))
                .isInstanceOf(FlashException.class).extracting(MalformedJournalAndSlotTest::codeOf)
                .isEqualTo(FlashError.JOURNAL_ERROR);
    }

    @Test
    void rejectsMigrationStepNamingAMigrationBeyondThePlan() {
        ByteBuffer step = UpdateRecord.index(5);
        assertThatThrownBy(() -> UpdateRecord.indexOf(step, 2))
                .isInstanceOf(FlashException.class).hasMessageContaining("migration 5 of a plan of 2");
        assertThat(UpdateRecord.indexOf(UpdateRecord.index(1), 2)).isEqualTo(1);
    }

    @Test
    void rejectsSlotHeaderDamagedOrTruncatedWithCorruptSlot() {
        ByteBuffer block = ByteBuffer.allocate(512);
        SlotHeaderLayout.encode(block, new SlotHeaderLayout.Header(0, 100, 1, new byte[32]));
        byte[] bytes = block.array();
        byte[] flipped = bytes.clone();
        flipped[40] ^= 1;
        assertThatThrownBy(() -> SlotHeaderLayout.decode(ByteBuffer.wrap(flipped), "slot"))
                .isInstanceOf(FlashException.class).extracting(MalformedJournalAndSlotTest::codeOf)
                .isEqualTo(FlashError.CORRUPT_SLOT);
        byte[] zeroPrefix = new byte[20]; // a truncated block that starts like an empty one
        assertThatThrownBy(() -> SlotHeaderLayout.decode(ByteBuffer.wrap(zeroPrefix), "slot"))
                .isInstanceOf(FlashException.class).extracting(MalformedJournalAndSlotTest::codeOf)
                .isEqualTo(FlashError.CORRUPT_SLOT);
        assertThatThrownBy(() -> SlotHeaderLayout.decode(ByteBuffer.wrap(Arrays.copyOf(bytes, 30)), "slot"))
                .isInstanceOf(FlashException.class);
        assertThat(SlotHeaderLayout.decode(ByteBuffer.allocate(512), "slot")).isNull();
    }

    @Test
    void damagedSlotHeaderReadsAsCorruptSlot() {
        try (BlockDevice device = Media.memory("backup", new BlockGeometry(512, 16))) {
            BackupRegion region = BackupRegion.on(device, new Extent(0, 16));
            region.write(BackupRegion.Slot.BACKUP, new byte[700]);
            ByteBuffer header = ByteBuffer.allocate(512).order(ByteOrder.LITTLE_ENDIAN);
            device.read(0, 1, header, 0);
            header.put(40, (byte) (header.get(40) ^ 1));
            device.write(0, 1, header, 0, true);
            assertThat(region.read(BackupRegion.Slot.BACKUP).state()).isEqualTo(BackupRegion.SlotState.CORRUPT);
        }
    }

    @Test
    void rejectsUpdateJournalHeaderOfAnotherGeometryWithJournalError() {
        try (BlockDevice disk = Media.memory("array", new BlockGeometry(4096, 16))) {
            Extent extent = new Extent(0, 8);
            dev.scemu.core.ExecutionLog.format(disk, extent);
            for (int slot = 0; slot < 2; slot++) { // both header slots claim 512-byte blocks, checksums intact
                ByteBuffer header = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
                disk.read(slot, 1, header, 0);
                header.putInt(48, 512);
                dev.scemu.core.ChecksummedRecord.seal(header, 0, header.getInt(0), 1, 0, header.getInt(8));
                disk.write(slot, 1, header, 0, true);
            }
            assertThatThrownBy(() -> UpdateJournal.openOrFormat(disk, extent))
                    .isInstanceOf(FlashException.class).extracting(MalformedJournalAndSlotTest::codeOf)
                    .isEqualTo(FlashError.JOURNAL_ERROR);
        }
    }
}
