package dev.scemu.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import org.junit.jupiter.api.Test;

/** Snapshot names are unique within a volume, across reopen; a deleted snapshot's name is free again. */
class SnapshotNameTest {

    @Test
    void anExistingNameIsRefusedAndChangesNothing() {
        try (BlockDevice data = Media.memory("data", new BlockGeometry(4096, 256));
             BlockDevice store = Media.memory("store", new BlockGeometry(4096, 768))) {
            SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults());
            SnapshotInfo daily = volume.createSnapshot("daily");
            assertThatThrownBy(() -> volume.createSnapshot("daily"))
                    .isInstanceOfSatisfying(SnapshotException.class,
                            e -> assertThat(e.code()).isEqualTo(SnapshotError.DUPLICATE_NAME))
                    .hasMessageContaining("'daily' already exists");
            assertThat(volume.listSnapshots()).containsExactly(daily);
            volume.close();

            SnapshotVolume reopened = SnapshotVolume.open(data, store);
            assertThatThrownBy(() -> reopened.createSnapshot("daily")).hasMessageContaining("DUPLICATE_NAME");
            reopened.deleteSnapshot(daily.id());
            assertThat(reopened.createSnapshot("daily").id()).isNotEqualTo(daily.id());
            reopened.close();
        }
    }
}
