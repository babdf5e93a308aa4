package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.internal.DirectFileBlockDevice;
import dev.scemu.core.internal.MappedFileBlockDevice;
import dev.scemu.core.internal.MemoryBlockDevice;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link BlockDevice#mapAllocation} of the media: sparse files report their holes
 * ({@code SEEK_DATA}/{@code SEEK_HOLE}), written blocks are data, a punched trim is a hole again,
 * and so is a mapped file's (whole pages punched, partial pages zeroed), memory reports its
 * unallocated chunks.
 */
class MediaAllocationTest {

    private static final int BLOCK = 4096;

    @TempDir
    Path dir;

    /** One extent of a map, merged with its neighbours of the same state. */
    record Run(long lba, long blockCount, Allocation allocation) {
    }

    static List<Run> map(BlockDevice device, long lba, long blockCount) {
        List<Run> runs = new ArrayList<>();
        long[] next = {lba};
        device.mapAllocation(lba, blockCount, (at, count, allocation) -> {
            assertThat(at).as("contiguous, ascending").isEqualTo(next[0]);
            assertThat(count).isPositive();
            next[0] = at + count;
            Run last = runs.isEmpty() ? null : runs.get(runs.size() - 1);
            if (last != null && last.allocation() == allocation) {
                runs.set(runs.size() - 1, new Run(last.lba(), last.blockCount() + count, allocation));
            } else {
                runs.add(new Run(at, count, allocation));
            }
            return true;
        });
        assertThat(next[0]).as("covers the range").isEqualTo(lba + blockCount);
        return runs;
    }

    private static ByteBuffer ones(int blocks) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(blocks * BLOCK);
        for (int i = 0; i < buffer.capacity(); i++) {
            buffer.put(i, (byte) 1);
        }
        return buffer;
    }

    @Test
    void directFileReportsHolesWrittenDataAndPunchedTrims() {
        try (DirectFileBlockDevice device = DirectFileBlockDevice.open("d", dir.resolve("d.img"),
                new BlockGeometry(BLOCK, 1024))) {
            assertThat(map(device, 0, 1024)).containsExactly(new Run(0, 1024, Allocation.HOLE));
            device.write(100, 4, ones(4), 0, true);
            device.write(1023, 1, ones(1), 0, true);
            assertThat(map(device, 0, 1024)).containsExactly(new Run(0, 100, Allocation.HOLE),
                    new Run(100, 4, Allocation.DATA), new Run(104, 919, Allocation.HOLE),
                    new Run(1023, 1, Allocation.DATA));
            // a sub-range starting inside data, ending inside a hole
            assertThat(map(device, 102, 10)).containsExactly(new Run(102, 2, Allocation.DATA),
                    new Run(104, 8, Allocation.HOLE));
            device.trim(100, 4);
            if (device.punchesHoles()) {
                assertThat(map(device, 0, 1023)).containsExactly(new Run(0, 1023, Allocation.HOLE));
            }
        }
    }

    @Test
    void mappedFileTrimPunchesAHoleThatReadsZerosAndSurvivesReopen() {
        Path file = dir.resolve("m.img");
        BlockGeometry geometry = new BlockGeometry(BLOCK, 1024);
        try (MappedFileBlockDevice device = MappedFileBlockDevice.open("m", file, geometry, 1 << 20)) {
            assertThat(map(device, 0, 1024)).containsExactly(new Run(0, 1024, Allocation.HOLE));
            device.write(300, 8, ones(8), 0, false); // not flushed: dirty pages count as data
            ByteBuffer heap = ByteBuffer.allocate(8 * BLOCK);
            heap.put(0, (byte) 7);
            device.write(400, 8, heap, 0, false); // through the mapping
            device.flush();
            assertThat(map(device, 0, 1024)).containsExactly(new Run(0, 300, Allocation.HOLE),
                    new Run(300, 8, Allocation.DATA), new Run(308, 92, Allocation.HOLE),
                    new Run(400, 8, Allocation.DATA), new Run(408, 616, Allocation.HOLE));
            device.trim(302, 4);
            device.trim(400, 8);
            device.flush();
            if (!device.punchesHoles()) {
                return; // a file system without hole punching: trims write zeros (data)
            }
            assertThat(map(device, 0, 1024)).containsExactly(new Run(0, 300, Allocation.HOLE),
                    new Run(300, 2, Allocation.DATA), new Run(302, 4, Allocation.HOLE),
                    new Run(306, 2, Allocation.DATA), new Run(308, 716, Allocation.HOLE));
            assertZeros(device, 302, 4, ByteBuffer.allocateDirect(4 * BLOCK)); // pread
            assertZeros(device, 400, 8, ByteBuffer.allocate(8 * BLOCK)); // the mapping
            ByteBuffer kept = ByteBuffer.allocateDirect(2 * BLOCK);
            device.read(306, 2, kept, 0);
            assertThat(kept.get(0)).isEqualTo((byte) 1);
            assertThat(kept.get(2 * BLOCK - 1)).isEqualTo((byte) 1);
        }
        try (MappedFileBlockDevice device = MappedFileBlockDevice.open("m", file, geometry, 1 << 20)) {
            assertThat(map(device, 302, 4)).containsExactly(new Run(302, 4, Allocation.HOLE));
            assertZeros(device, 400, 8, ByteBuffer.allocate(8 * BLOCK));
        }
    }

    @Test
    void mappedFileTrimOfPartialPagesZerosThemAndPunchesTheWholePagesBetween() {
        int small = 512;
        try (MappedFileBlockDevice device = MappedFileBlockDevice.open("m", dir.resolve("s.img"),
                new BlockGeometry(small, 64), 1 << 20)) {
            ByteBuffer data = ByteBuffer.allocateDirect(64 * small);
            for (int i = 0; i < data.capacity(); i++) {
                data.put(i, (byte) 3);
            }
            device.write(0, 64, data, 0, false);
            device.flush();
            device.trim(4, 16); // bytes [2048, 10240): page 1 whole, halves of pages 0 and 2
            device.flush();
            ByteBuffer back = ByteBuffer.allocateDirect(64 * small);
            device.read(0, 64, back, 0);
            for (int i = 0; i < back.capacity(); i++) {
                byte expected = i >= 4 * small && i < 20 * small ? 0 : (byte) 3;
                if (back.get(i) != expected) {
                    assertThat(back.get(i)).as("byte %d", i).isEqualTo(expected);
                }
            }
            if (device.punchesHoles()) {
                assertThat(map(device, 0, 64)).containsExactly(new Run(0, 8, Allocation.DATA),
                        new Run(8, 8, Allocation.HOLE), new Run(16, 48, Allocation.DATA));
            }
        }
    }

    private static void assertZeros(BlockDevice device, long lba, int blocks, ByteBuffer buffer) {
        for (int i = 0; i < buffer.capacity(); i++) {
            buffer.put(i, (byte) 9);
        }
        device.read(lba, blocks, buffer, 0);
        for (int i = 0; i < blocks * BLOCK; i++) {
            if (buffer.get(i) != 0) {
                assertThat(buffer.get(i)).as("byte %d of lba %d +%d", i, lba, blocks).isZero();
            }
        }
    }

    @Test
    void memoryReportsUnallocatedChunksAsHoles() {
        int chunkBlocks = MemoryBlockDevice.CHUNK_BYTES / BLOCK;
        try (MemoryBlockDevice device = new MemoryBlockDevice("mem", new BlockGeometry(BLOCK, 4L * chunkBlocks))) {
            assertThat(map(device, 0, 4L * chunkBlocks)).containsExactly(new Run(0, 4L * chunkBlocks, Allocation.HOLE));
            device.write(chunkBlocks + 5, 1, ones(1), 0, false);
            assertThat(map(device, 0, 4L * chunkBlocks)).containsExactly(new Run(0, chunkBlocks, Allocation.HOLE),
                    new Run(chunkBlocks, chunkBlocks, Allocation.DATA), new Run(2L * chunkBlocks, 2L * chunkBlocks,
                            Allocation.HOLE));
            assertThat(map(device, chunkBlocks + 3, chunkBlocks)).containsExactly(
                    new Run(chunkBlocks + 3, chunkBlocks - 3, Allocation.DATA), new Run(2L * chunkBlocks, 3, Allocation.HOLE));
        }
    }

    @Test
    void faultInjectionDelegatesReportsReadErrorsAsDataAndRefusesWhenFailed() {
        int chunkBlocks = MemoryBlockDevice.CHUNK_BYTES / BLOCK;
        try (FaultInjectingDevice device = new FaultInjectingDevice(
                Media.memory("inner", new BlockGeometry(BLOCK, 1024)), 1)) {
            device.write(0, 1, ones(1), 0, false);
            assertThat(map(device, 0, 1024)).containsExactly(new Run(0, chunkBlocks, Allocation.DATA),
                    new Run(chunkBlocks, 1024 - chunkBlocks, Allocation.HOLE));
            device.failReads(new Extent(600, 1));
            assertThat(map(device, 0, 1024)).containsExactly(new Run(0, 1024, Allocation.DATA));
            device.failDevice();
            assertThatThrownBy(() -> map(device, 0, 1)).isInstanceOfSatisfying(CoreException.class,
                    e -> assertThat(e.code()).isEqualTo(CoreError.DEVICE_FAILED));
        }
    }

    @Test
    void rangeIsCheckedAndTheSinkMayStopEarly() {
        try (DirectFileBlockDevice device = DirectFileBlockDevice.open("d", dir.resolve("e.img"),
                new BlockGeometry(BLOCK, 64))) {
            assertThatThrownBy(() -> device.mapAllocation(60, 5, (a, b, c) -> true))
                    .isInstanceOfSatisfying(CoreException.class, e -> assertThat(e.code()).isEqualTo(CoreError.OUT_OF_RANGE));
            device.write(10, 1, ones(1), 0, true);
            List<Long> seen = new ArrayList<>();
            device.mapAllocation(0, 64, (at, count, allocation) -> {
                seen.add(at);
                return false;
            });
            assertThat(seen).containsExactly(0L);
        }
    }
}
