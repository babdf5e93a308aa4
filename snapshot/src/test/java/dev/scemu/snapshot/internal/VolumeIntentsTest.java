package dev.scemu.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockGeometry;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.Media;
import dev.scemu.snapshot.SnapshotConfig;
import dev.scemu.snapshot.SnapshotError;
import dev.scemu.snapshot.SnapshotException;
import dev.scemu.snapshot.SnapshotVolume;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The superblock intents: their bytes, their round trip, and damaged intents refused at open with nothing written. */
class VolumeIntentsTest {

    private static final int BLOCK_SIZE = 512;

    @Test
    void intentsRoundTripAtTheDocumentedOffsets() {
        VolumeIntents intents = new VolumeIntents(true, "image b7", List.of(
                new VolumeIntents.Temporary(4, 0, "backup b7"), new VolumeIntents.Temporary(5, 6, "backup b8")));
        ByteBuffer block = ByteBuffer.allocateDirect(BLOCK_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        intents.encode(block);
        assertThat(block.getInt(144)).isEqualTo(1);
        assertThat(block.getShort(148)).isEqualTo((short) 8);
        assertThat(block.getShort(150)).isEqualTo((short) 2);
        assertThat(block.get(152)).isEqualTo((byte) 'i');
        assertThat(block.getLong(216 + 88)).isEqualTo(5);
        assertThat(block.getLong(216 + 88 + 8)).isEqualTo(6);
        assertThat(block.getShort(216 + 88 + 16)).isEqualTo((short) 9);
        assertThat(VolumeIntents.decode(block)).isEqualTo(intents);
        assertThat(VolumeIntents.decode(ByteBuffer.allocateDirect(BLOCK_SIZE))).isEqualTo(VolumeIntents.NONE);
        assertThat(VolumeIntents.END).isLessThanOrEqualTo(512);
    }

    @Test
    void aLongNoteIsCutToSixtyFourBytesOnACharacterBoundary() {
        VolumeIntents intents = VolumeIntents.NONE.withRestore(true, "é".repeat(40));
        assertThat(intents.restoreNote()).isEqualTo("é".repeat(32));
    }

    @Test
    void unknownFlagsOrAnOversizedSlotCountAreCorruptMetadataAndNothingIsWritten() {
        for (int[] damage : new int[][] {{144, 2}, {150, 4}}) {
            FaultInjectingDevice data = new FaultInjectingDevice(Media.memory("data", new BlockGeometry(BLOCK_SIZE, 64)), 1);
            FaultInjectingDevice store = new FaultInjectingDevice(Media.memory("store", new BlockGeometry(BLOCK_SIZE, 600)), 2);
            SnapshotVolume.format(data, store, SnapshotConfig.defaults()).close();
            ByteBuffer block = ByteBuffer.allocateDirect(BLOCK_SIZE).order(ByteOrder.LITTLE_ENDIAN);
            store.read(0, 1, block, 0);
            block.putShort(damage[0], (short) damage[1]);
            PageSeal.seal(block, 0, StoreLayout.MAGIC, StoreLayout.VERSION, BLOCK_SIZE); // a valid seal over bad fields
            store.write(0, 1, block, 0, true);
            long writes = store.meter().snapshot().receivedWrite().operations() + data.meter().snapshot().receivedWrite().operations();
            assertThatThrownBy(() -> SnapshotVolume.open(data, store))
                    .isInstanceOfSatisfying(SnapshotException.class, e -> assertThat(e.code()).isEqualTo(SnapshotError.CORRUPT_METADATA))
                    .hasMessageContaining("superblock intents");
            assertThat(store.meter().snapshot().receivedWrite().operations() + data.meter().snapshot().receivedWrite().operations())
                    .as("nothing written").isEqualTo(writes);
            data.close();
            store.close();
        }
    }
}
