package dev.scemu.raid;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockDeviceContractTest;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Nested;

/** controller-core's BlockDevice contract for every level; reopen = stop + assemble from the members. */
class RaidContractTests {

    static RaidArray createArray(RaidLevel level, int memberCount, BlockGeometry geometry) {
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < memberCount; i++) {
            members.add(Media.memory(level + "-m" + i, BlockGeometry.ofBytes(geometry.blockSize(), 4L << 20)));
        }
        return RaidArray.create(RaidConfig.builder(level).chunkBytes(16 * 1024)
                .arrayBlockCount(geometry.blockCount()).build(), members);
    }

    static BlockDevice reassemble(BlockDevice device) {
        RaidArray array = (RaidArray) device;
        array.stop();
        List<BlockDevice> members = new ArrayList<>();
        for (int i = array.raidDisks() - 1; i >= 0; i--) {
            members.add(array.member(i));
        }
        return RaidArray.assemble(members, AssembleOptions.defaults().withArrayBlockCount(device.blockCount()));
    }

    @Nested
    class Raid0 extends BlockDeviceContractTest {
        @Override
        protected BlockDevice create(BlockGeometry geometry) {
            return createArray(RaidLevel.RAID0, 3, geometry);
        }

        @Override
        protected BlockDevice reopen(BlockDevice device) {
            return reassemble(device);
        }
    }

    @Nested
    class Raid1 extends BlockDeviceContractTest {
        @Override
        protected BlockDevice create(BlockGeometry geometry) {
            return createArray(RaidLevel.RAID1, 2, geometry);
        }

        @Override
        protected BlockDevice reopen(BlockDevice device) {
            return reassemble(device);
        }
    }

    @Nested
    class Raid5 extends BlockDeviceContractTest {
        @Override
        protected BlockDevice create(BlockGeometry geometry) {
            return createArray(RaidLevel.RAID5, 4, geometry);
        }

        @Override
        protected BlockDevice reopen(BlockDevice device) {
            return reassemble(device);
        }
    }
}
