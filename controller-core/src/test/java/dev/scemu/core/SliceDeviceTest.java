package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SliceDeviceTest extends BlockDeviceContractTest {

    private static final long OFFSET = 37;

    @Override
    protected BlockDevice create(BlockGeometry geometry) {
        BlockDevice parent = track(Media.memory("parent", new BlockGeometry(geometry.blockSize(),
                geometry.blockCount() + OFFSET + 11)));
        return SliceDevice.of("slice", parent, Extent.of(OFFSET, geometry.blockCount()));
    }

    @Test
    void writesLandAtTheOffsetInTheParentAndNowhereElse() {
        BlockDevice parent = track(Media.memory("p", new BlockGeometry(BLOCK_SIZE, 100)));
        SliceDevice slice = (SliceDevice) track(SliceDevice.of("s", parent, Extent.of(10, 20)));
        ByteBuffer data = randomBlocks(new Random(1), 20);
        slice.write(0, 20, data, 0);
        assertThat(readBytes(parent, 10, 20)).isEqualTo(bytesOf(data));
        assertThat(readBytes(parent, 0, 10)).containsOnly(0);
        assertThat(readBytes(parent, 30, 70)).containsOnly(0);
        assertThatThrownBy(() -> slice.write(20, 1, data, 0)).isInstanceOf(CoreException.class);
    }

    @Test
    void closingTheSliceLeavesTheParentOpen() {
        BlockDevice parent = track(Media.memory("p", new BlockGeometry(BLOCK_SIZE, 10)));
        SliceDevice.of("s", parent, Extent.of(0, 5)).close();
        assertThat(readBytes(parent, 0, 1)).containsOnly(0);
    }

    @Test
    void readOnlySliceRefusesWritesAndTrims() {
        BlockDevice parent = track(Media.memory("p", new BlockGeometry(BLOCK_SIZE, 10)));
        SliceDevice slice = (SliceDevice) track(new SliceDevice("ro", parent, Extent.of(2, 5), true));
        assertThatThrownBy(() -> slice.write(0, 1, ByteBuffer.allocateDirect(BLOCK_SIZE), 0))
                .satisfies(e -> assertThat(((CoreException) e).code()).isEqualTo(CoreError.READ_ONLY));
        assertThatThrownBy(() -> slice.trim(0, 1)).isInstanceOf(CoreException.class);
    }

    @Test
    void sliceBeyondTheParentIsRefused() {
        BlockDevice parent = track(Media.memory("p", new BlockGeometry(BLOCK_SIZE, 10)));
        assertThatThrownBy(() -> SliceDevice.of("s", parent, Extent.of(8, 3)))
                .satisfies(e -> assertThat(((CoreException) e).code()).isEqualTo(CoreError.OUT_OF_RANGE));
    }
}
