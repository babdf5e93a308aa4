package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.internal.MemoryBlockDevice;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class MemoryBlockDeviceTest extends BlockDeviceContractTest {

    @Override
    protected BlockDevice create(BlockGeometry geometry) {
        return Media.memory("mem", geometry);
    }

    @Test
    void allocatesOnlyTheChunksThatAreWritten() {
        try (MemoryBlockDevice device = new MemoryBlockDevice("sparse", new BlockGeometry(4096, 1L << 20))) {
            assertThat(device.allocatedBytes()).isZero();
            device.write(300_000, 1, ByteBuffer.allocateDirect(4096), 0);
            assertThat(device.allocatedBytes()).isEqualTo(MemoryBlockDevice.CHUNK_BYTES);
        }
    }
}
