package dev.scemu.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.AbstractBlockDevice;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.Extent;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.Media;
import dev.scemu.core.PowerDomain;
import dev.scemu.snapshot.SnapshotConfig;
import dev.scemu.snapshot.SnapshotError;
import dev.scemu.snapshot.SnapshotException;
import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.snapshot.SnapshotVolume;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Precise torn outcomes the random crash explorer may or may not hit: the journal record of a COW
 * batch survives but its copies do not (recovery must drop the entries: the overwrite never
 * happened), and a corrupt journal header (a clear error, nothing written).
 */
class TornCowBatchTest {

    private static final int BLOCK_SIZE = 512;

    /** Passes I/O through; once armed, the first write into {@code region} lands and then power fails keeping only it. */
    private static final class CutAfterLogWrite extends AbstractBlockDevice {
        private final FaultInjectingDevice inner;
        private final Extent region;
        private final Set<Long> logBlocksWritten = new HashSet<>();
        private boolean armed;

        CutAfterLogWrite(FaultInjectingDevice inner, Extent region) {
            super("cut-after-log", inner.geometry());
            this.inner = inner;
            this.region = region;
        }

        @Override
        protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
            inner.read(lba, blockCount, buffer, bufferOffset);
        }

        @Override
        protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
            inner.write(lba, blockCount, buffer, bufferOffset, fua);
            if (armed && region.overlaps(lba, blockCount)) {
                for (long l = lba; l < lba + blockCount; l++) {
                    logBlocksWritten.add(l);
                }
                armed = false;
                inner.cutPowerKeeping(logBlocksWritten);
                throw new CoreException(CoreError.POWER_LOST, "cut after journal write at lba " + lba);
            }
        }

        @Override
        protected void doFlush() {
            inner.flush();
        }

        @Override
        protected void doTrim(long lba, long blockCount) {
            inner.trim(lba, blockCount);
        }

        @Override
        protected void doClose() {
            // the test closes inner
        }
    }

    private static byte[] filled(int value, int blocks) {
        byte[] bytes = new byte[blocks * BLOCK_SIZE];
        Arrays.fill(bytes, (byte) value);
        return bytes;
    }

    private static void write(BlockDevice device, long lba, byte[] bytes) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(bytes.length);
        buffer.put(0, bytes);
        device.write(lba, bytes.length / BLOCK_SIZE, buffer, 0);
    }

    private static byte[] read(BlockDevice device, long lba, int blocks) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(blocks * BLOCK_SIZE);
        device.read(lba, blocks, buffer, 0);
        byte[] bytes = new byte[buffer.capacity()];
        buffer.get(0, bytes);
        return bytes;
    }

    @Test
    void journaledEntriesWhoseCopiesWereLostAreDropped() {
        PowerDomain domain = new PowerDomain(77);
        FaultInjectingDevice data = domain.attach(Media.memory("data", new BlockGeometry(BLOCK_SIZE, 64)));
        FaultInjectingDevice store = domain.attach(Media.memory("store", new BlockGeometry(BLOCK_SIZE, 600)));
        try {
            SnapshotConfig config = SnapshotConfig.defaults().withLogBlocks(16);
            StoreLayout layout = StoreLayout.compute(BLOCK_SIZE, 64, 600, config, 0, 0, 0);
            CutAfterLogWrite cutting = new CutAfterLogWrite(store, layout.log());
            SnapshotVolume volume = SnapshotVolume.format(data, cutting, config);
            write(volume, 0, filled(0x11, 8));
            SnapshotInfo snapshot = volume.createSnapshot("before");
            write(volume, 0, filled(0x22, 8)); // 8 copies + entries wait in the batch
            cutting.armed = true;
            assertThatThrownBy(volume::flush).isInstanceOf(CoreException.class);
            domain.restore();
            volume.close();

            SnapshotVolume recovered = SnapshotVolume.open(data, store);
            assertThat(recovered.storeUsage().usedStoreBlocks()).as("entries without durable copies are dropped").isZero();
            assertThat(read(recovered.snapshot(snapshot.id()), 0, 8)).isEqualTo(filled(0x11, 8));
            assertThat(read(recovered, 0, 8)).isEqualTo(filled(0x11, 8));
            // and the volume goes on: the same write now preserves the old data properly
            write(recovered, 0, filled(0x33, 8));
            recovered.flush();
            assertThat(read(recovered.snapshot(snapshot.id()), 0, 8)).isEqualTo(filled(0x11, 8));
            assertThat(recovered.storeUsage().usedStoreBlocks()).isEqualTo(8);
            recovered.close();
        } finally {
            data.close();
            store.close();
        }
    }

    @Test
    void corruptJournalHeadersAreReportedAndNothingIsWritten() {
        BlockDevice data = Media.memory("data", new BlockGeometry(BLOCK_SIZE, 64));
        FaultInjectingDevice store = new FaultInjectingDevice(Media.memory("store", new BlockGeometry(BLOCK_SIZE, 600)), 3);
        try {
            SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults().withLogBlocks(16));
            write(volume, 0, filled(0x11, 8));
            volume.createSnapshot("s");
            write(volume, 0, filled(0x22, 8));
            volume.flush(); // leaves unfinished journal transactions behind (no close)
            ByteBuffer block = ByteBuffer.allocateDirect(BLOCK_SIZE);
            store.read(0, 1, block, 0);
            StoreLayout layout = StoreLayout.decode(block, BLOCK_SIZE, store.blockCount());
            ByteBuffer garbage = ByteBuffer.allocateDirect(2 * BLOCK_SIZE);
            for (int i = 0; i < garbage.capacity(); i++) {
                garbage.put(i, (byte) (i * 31 + 7));
            }
            store.write(layout.log().lba(), 2, garbage, 0, true); // both journal header slots
            long storeWrites = store.meter().snapshot().receivedWrite().operations();
            long dataWrites = data.meter().snapshot().receivedWrite().operations();
            assertThatThrownBy(() -> SnapshotVolume.open(data, store))
                    .isInstanceOf(SnapshotException.class)
                    .hasMessageContaining("execution log")
                    .satisfies(e -> assertThat(((SnapshotException) e).code()).isEqualTo(SnapshotError.CORRUPT_METADATA));
            assertThat(store.meter().snapshot().receivedWrite().operations()).isEqualTo(storeWrites);
            assertThat(data.meter().snapshot().receivedWrite().operations()).isEqualTo(dataWrites);
        } finally {
            data.close();
            store.close();
        }
    }
}
