package dev.scemu.snapshot;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockDeviceContractTest;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;

/** SnapshotVolume honours the BlockDevice contract (with one snapshot taken, so COW paths run too). */
class SnapshotVolumeContractTest extends BlockDeviceContractTest {

    private final List<BlockDevice> media = new ArrayList<>();
    private final Map<BlockDevice, BlockDevice[]> devicesOf = new IdentityHashMap<>();

    @Override
    protected BlockDevice create(BlockGeometry geometry) {
        BlockDevice data = Media.memory("data", geometry);
        BlockDevice store = Media.memory("store", new BlockGeometry(geometry.blockSize(), geometry.blockCount() + 512));
        media.add(data);
        media.add(store);
        SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults().withCowBatchBlocks(16));
        volume.createSnapshot("contract");
        devicesOf.put(volume, new BlockDevice[] {data, store});
        return volume;
    }

    @Override
    protected BlockDevice reopen(BlockDevice device) {
        BlockDevice[] devices = devicesOf.get(device);
        device.close();
        SnapshotVolume reopened = SnapshotVolume.open(devices[0], devices[1]);
        devicesOf.put(reopened, devices);
        return reopened;
    }

    @AfterEach
    void closeMedia() {
        devicesOf.keySet().forEach(BlockDevice::close); // volumes first: their close writes a checkpoint
        media.forEach(BlockDevice::close);
    }
}
