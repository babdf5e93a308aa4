package com.example.nas;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.ErrorCategory;
import dev.scemu.core.Extent;
import dev.scemu.core.Media;
import dev.scemu.core.ScemuException;
import dev.scemu.core.SliceDevice;
import dev.scemu.raid.RaidArray;
import dev.scemu.raid.RaidConfig;
import dev.scemu.raid.RaidLevel;
import dev.scemu.snapshot.SnapshotConfig;
import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.snapshot.SnapshotVolume;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A vendor's own stack built from the public API only (no {@code .internal} package): four
 * off-heap disks, a RAID-5 over them, the array cut into a data and a snapshot-store slice, and a
 * snapshot volume on top. Every layer is a {@link BlockDevice}, so the layers stack like
 * device-mapper targets.
 */
class RaidSnapshotStackTest {

    private static final int BLOCK = 4096;

    @Test
    void aSnapshotKeepsItsContentWhileTheVolumeIsRewrittenAndADiskFails() {
        List<BlockDevice> disks = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            disks.add(Media.memory("disk" + i, new BlockGeometry(BLOCK, 2048))); // 8 MiB each, sparse
        }
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(64 * 1024)
                .assumeClean(true).build(), disks);
        try {
            long dataBlocks = array.blockCount() / 2;
            BlockDevice data = SliceDevice.of("data", array, new Extent(0, dataBlocks));
            BlockDevice store = SliceDevice.of("store", array, new Extent(dataBlocks, array.blockCount() - dataBlocks));
            SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults());

            volume.write(10, 1, filled((byte) 1), 0);
            volume.flush();
            SnapshotInfo before = volume.createSnapshot("before-upgrade");
            volume.write(10, 1, filled((byte) 2), 0);
            volume.flush();

            array.failMember(2);
            assertTrue(array.isDegraded());
            assertArrayEquals(bytes(filled((byte) 1)), read(volume.snapshot(before.id()), 10), "snapshot, degraded");
            assertArrayEquals(bytes(filled((byte) 2)), read(volume, 10), "live volume, degraded");

            // one error family: a refused request names its category, whatever module refused it
            ScemuException refused = assertThrows(ScemuException.class, () -> volume.createSnapshot("before-upgrade"));
            assertEquals(ErrorCategory.INVALID_ARGUMENT, refused.category());
            assertEquals(1, volume.listSnapshots().size(), "the refused request changed nothing");

            volume.rollback(before.id());
            assertArrayEquals(bytes(filled((byte) 1)), read(volume, 10), "after the rollback");
            volume.close();
        } finally {
            array.close();
            disks.forEach(BlockDevice::close);
        }
    }

    private static ByteBuffer filled(byte value) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(BLOCK);
        for (int i = 0; i < BLOCK; i++) {
            buffer.put(i, value);
        }
        return buffer;
    }

    private static byte[] read(BlockDevice device, long lba) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(BLOCK);
        device.read(lba, 1, buffer, 0);
        return bytes(buffer);
    }

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] out = new byte[buffer.capacity()];
        buffer.get(0, out);
        return out;
    }
}
