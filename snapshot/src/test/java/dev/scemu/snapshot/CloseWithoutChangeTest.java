package dev.scemu.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/**
 * A volume opened and closed without a change writes nothing, its close's checkpoint included
 * (reads, snapshot views and refused operations are no change); a volume that changed writes its
 * checkpoint at close as before, and the next open needs no journal redo.
 */
class CloseWithoutChangeTest {

    private static final int BLOCK_SIZE = 4096;

    private static long written(BlockDevice data, BlockDevice store) {
        return data.meter().snapshot().receivedWrite().bytes() + store.meter().snapshot().receivedWrite().bytes();
    }

    private static ByteBuffer block(long value) {
        ByteBuffer block = ByteBuffer.allocateDirect(BLOCK_SIZE);
        block.putLong(0, value);
        return block;
    }

    @Test
    void anOpenWithoutAChangeWritesNothingAtCloseAndAChangedOneCheckpoints() {
        try (BlockDevice data = Media.memory("data", new BlockGeometry(BLOCK_SIZE, 1024));
             BlockDevice store = Media.memory("store", new BlockGeometry(BLOCK_SIZE, 2048))) {
            SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults());
            volume.write(3, 1, block(1), 0);
            SnapshotInfo snapshot = volume.createSnapshot("s");
            volume.write(3, 1, block(2), 0); // a copy-on-write: the snapshot keeps 1
            volume.close();

            data.meter().reset();
            store.meter().reset();
            SnapshotVolume reopened = SnapshotVolume.open(data, store);
            ByteBuffer read = ByteBuffer.allocateDirect(BLOCK_SIZE);
            reopened.read(3, 1, read, 0);
            assertThat(read.getLong(0)).isEqualTo(2);
            reopened.snapshot(snapshot.id()).read(3, 1, read, 0);
            assertThat(read.getLong(0)).isEqualTo(1);
            assertThatThrownBy(() -> reopened.deleteSnapshot(99)).isInstanceOf(SnapshotException.class)
                    .hasMessageContaining("UNKNOWN_SNAPSHOT");
            assertThatThrownBy(() -> reopened.rollback(99)).hasMessageContaining("UNKNOWN_SNAPSHOT");
            assertThatThrownBy(() -> reopened.createSnapshot("s")).hasMessageContaining("DUPLICATE_NAME");
            reopened.flush();
            reopened.close();
            assertThat(written(data, store)).as("open, reads, refused operations, flush and close").isZero();

            SnapshotVolume changed = SnapshotVolume.open(data, store);
            changed.createSnapshot("t");
            changed.write(3, 1, block(3), 0);
            long beforeClose = written(data, store);
            changed.close();
            assertThat(written(data, store)).as("the close of a changed volume writes its checkpoint")
                    .isGreaterThan(beforeClose);

            data.meter().reset();
            store.meter().reset();
            SnapshotVolume again = SnapshotVolume.open(data, store);
            assertThat(written(data, store)).as("nothing left to redo: the open wrote nothing").isZero();
            again.read(3, 1, read, 0);
            assertThat(read.getLong(0)).isEqualTo(3);
            assertThat(again.listSnapshots()).extracting(SnapshotInfo::name).containsExactly("s", "t");
            again.snapshot(again.listSnapshots().get(1).id()).read(3, 1, read, 0);
            assertThat(read.getLong(0)).isEqualTo(2);
            again.close();
            assertThat(written(data, store)).isZero();
        }
    }
}
