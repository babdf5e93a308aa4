package dev.scemu.flash;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.Media;
import dev.scemu.core.PowerCutMode;
import dev.scemu.flash.internal.RecordHeaderLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class MigrationTest {

    private static final int BLOCK = 512;
    private static final Extent REGION = new Extent(4, 20);

    private static FaultInjectingDevice deviceWithV1Records(int records) {
        FaultInjectingDevice device = new FaultInjectingDevice(Media.memory("meta", new BlockGeometry(BLOCK, 32)), 5);
        ByteBuffer block = ByteBuffer.allocate(BLOCK);
        for (int i = 0; i < records; i++) {
            for (int j = RecordHeaderLayout.HEADER_BYTES; j < BLOCK; j++) {
                block.put(j, (byte) (i + j));
            }
            RecordHeaderLayout.encodeV1(block, 1000 + i);
            device.write(REGION.lba() + i, 1, block, 0);
        }
        device.flush();
        return device;
    }

    private static int[] versions(FaultInjectingDevice device) {
        int[] versions = new int[(int) REGION.blockCount()];
        ByteBuffer block = ByteBuffer.allocate(BLOCK);
        for (int i = 0; i < versions.length; i++) {
            device.read(REGION.lba() + i, 1, block, 0);
            RecordHeaderLayout.Header header = RecordHeaderLayout.decode(block);
            versions[i] = header.version();
            if (header.version() != 0) {
                assertThat(header.entryCount()).isEqualTo(1000 + i);
                assertThat(block.get(BLOCK - 1)).isEqualTo((byte) (i + BLOCK - 1));
            }
        }
        return versions;
    }

    @Test
    void rewritesEveryV1HeaderToV2AndBackKeepingPayloadsAndUnusedBlocks() {
        FaultInjectingDevice device = deviceWithV1Records(12);
        Migration migration = Migrations.recordHeaderV1ToV2("mapping-table", device, REGION);
        assertThat(migration.describe()).isEqualTo("mapping-table v1→v2");
        migration.migrate();
        int[] after = versions(device);
        for (int i = 0; i < after.length; i++) {
            assertThat(after[i]).isEqualTo(i < 12 ? 2 : 0);
        }
        ByteBuffer block = ByteBuffer.allocate(BLOCK).order(ByteOrder.LITTLE_ENDIAN);
        device.read(REGION.lba(), 1, block, 0);
        assertThat(block.getShort(4)).isEqualTo((short) 2);
        assertThat(block.getInt(8)).isEqualTo(1000);
        migration.migrate(); // idempotent
        migration.revert();
        for (int version : versions(device)) {
            assertThat(version).isIn(0, 1);
        }
        assertThat(device.unflushedBlockCount()).isZero();
    }

    @Test
    void resumesAfterAPowerCutAtEveryWrite() {
        for (int cut = 0; cut < 12; cut++) {
            FaultInjectingDevice device = deviceWithV1Records(12);
            Migration migration = Migrations.recordHeaderV1ToV2("mapping-table", device, REGION);
            device.powerDomain().armCutAtWrite(device.powerDomain().writeCount() + cut, PowerCutMode.KEEP_RANDOM_SUBSET);
            assertThatThrownBy(migration::migrate).isNotNull();
            device.restorePower();
            int[] mixed = versions(device); // some v1, some v2: both readable
            assertThat(mixed).contains(1);
            migration.migrate();
            for (int i = 0; i < 12; i++) {
                assertThat(versions(device)[i]).isEqualTo(2);
            }
        }
    }

    @Test
    void refusesDamagedRecordsNamingTheLba() {
        FaultInjectingDevice device = deviceWithV1Records(3);
        device.corruptBlock(REGION.lba() + 1);
        Migration migration = Migrations.recordHeaderV1ToV2("mapping-table", device, REGION);
        assertThatThrownBy(migration::migrate).isInstanceOf(FlashException.class)
                .hasMessageContaining("lba " + (REGION.lba() + 1))
                .satisfies(e -> assertThat(((FlashException) e).code()).isEqualTo(FlashError.MIGRATION_FAILED));
    }
}
