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

    /**
     * Inside a chunk the fill writes the device's memory itself (page-aligned blocks, the
     * scratch untouched); across a chunk boundary it writes the scratch, which is then copied.
     */
    @Test
    void computedWritesFillTheChunkInPlaceAndTheScratchAcrossChunks() {
        int chunkBlocks = MemoryBlockDevice.CHUNK_BYTES / 4096;
        try (MemoryBlockDevice device = new MemoryBlockDevice("inplace", new BlockGeometry(4096, 2L * chunkBlocks))) {
            ByteBuffer scratch = ByteBuffer.allocateDirect(8 * 4096);
            long scratchAddress = NativeMemory.address(scratch);
            long[] seen = new long[1];
            byte[] random = new byte[8 * 4096];
            new java.util.Random(3).nextBytes(random);
            ByteBuffer source = ByteBuffer.allocateDirect(random.length).put(0, random);
            BlockFill fill = (address, length) -> {
                seen[0] = address;
                NativeMemory.copy(NativeMemory.address(source), address, length);
            };
            for (long lba : new long[] {0, 7, 100, chunkBlocks - 8, chunkBlocks + 44}) {
                NativeMemory.zero(scratch, 0, scratch.capacity());
                device.writeComputed(lba, 8, fill, scratch, false);
                assertThat(seen[0]).as("fill address of lba %d", lba).isNotEqualTo(scratchAddress);
                assertThat(seen[0] % 4096).as("blocks start on a page").isZero();
                assertThat(readBytes(scratch)).as("scratch untouched").containsOnly(0);
            }
            device.writeComputed(chunkBlocks - 4, 8, fill, scratch, false);
            assertThat(seen[0]).as("across the chunk boundary").isEqualTo(scratchAddress);
            ByteBuffer back = ByteBuffer.allocateDirect(8 * 4096);
            device.read(chunkBlocks - 4, 8, back, 0);
            assertThat(readBytes(back)).isEqualTo(random);
            device.read(chunkBlocks + 44, 8, back, 0);
            assertThat(readBytes(back)).as("written in place").isEqualTo(random);
            assertThat(device.meter().snapshot().issuedWriteTotal().bytes()).isEqualTo(6L * 8 * 4096);
        }
    }

    private static byte[] readBytes(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.capacity()];
        buffer.get(0, bytes);
        return bytes;
    }
}
