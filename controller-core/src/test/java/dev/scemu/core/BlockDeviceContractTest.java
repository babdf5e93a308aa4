package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The contract every {@link BlockDevice} honours. One subclass per implementation; reused by other
 * modules through controller-core's test jar. Subclasses that persist data override
 * {@link #reopen(BlockDevice)}.
 */
public abstract class BlockDeviceContractTest {

    protected static final int BLOCK_SIZE = 4096;
    /** 3 MiB + 1 block: odd size, spans several 1 MiB memory chunks. */
    protected static final long BLOCK_COUNT = 769;

    private final List<BlockDevice> opened = new ArrayList<>();

    /** A new, zero-filled device of the given geometry. */
    protected abstract BlockDevice create(BlockGeometry geometry);

    /** Closes {@code device} and opens it again on the same storage; null if contents do not survive close. */
    protected BlockDevice reopen(BlockDevice device) {
        return null;
    }

    protected final BlockDevice device() {
        return track(create(new BlockGeometry(BLOCK_SIZE, BLOCK_COUNT)));
    }

    protected final BlockDevice track(BlockDevice device) {
        opened.add(device);
        return device;
    }

    @AfterEach
    void closeDevices() {
        opened.forEach(BlockDevice::close);
    }

    protected static ByteBuffer randomBlocks(Random random, int blockCount) {
        byte[] bytes = new byte[blockCount * BLOCK_SIZE];
        random.nextBytes(bytes);
        ByteBuffer buffer = ByteBuffer.allocateDirect(bytes.length);
        buffer.put(bytes).clear();
        return buffer;
    }

    protected static byte[] readBytes(BlockDevice device, long lba, int blockCount) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(blockCount * device.blockSize());
        device.read(lba, blockCount, buffer, 0);
        byte[] bytes = new byte[buffer.capacity()];
        buffer.get(0, bytes);
        return bytes;
    }

    protected static byte[] bytesOf(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.limit()];
        buffer.get(0, bytes);
        return bytes;
    }

    /** Compares byte arrays and reports the first differing offset instead of dumping both arrays. */
    protected static void assertSameBytes(byte[] actual, byte[] expected, String what) {
        int mismatch = java.util.Arrays.mismatch(actual, expected);
        assertThat(mismatch).as("%s: first differing byte offset (-1 = identical), lengths %d vs %d",
                what, actual.length, expected.length).isEqualTo(-1);
    }

    @Test
    void reportsItsGeometry() {
        BlockDevice device = device();
        assertThat(device.blockSize()).isEqualTo(BLOCK_SIZE);
        assertThat(device.blockCount()).isEqualTo(BLOCK_COUNT);
        assertThat(device.geometry().capacityBytes()).isEqualTo(BLOCK_SIZE * BLOCK_COUNT);
    }

    @Test
    void readsZerosBeforeAnyWrite() {
        BlockDevice device = device();
        assertThat(readBytes(device, 0, 8)).containsOnly(0);
        assertThat(readBytes(device, BLOCK_COUNT - 3, 3)).containsOnly(0);
    }

    @Test
    void readsBackWhatWasWritten() {
        BlockDevice device = device();
        ByteBuffer data = randomBlocks(new Random(1), 5);
        device.write(10, 5, data, 0);
        assertThat(readBytes(device, 10, 5)).isEqualTo(bytesOf(data));
        assertThat(readBytes(device, 9, 1)).containsOnly(0);
        assertThat(readBytes(device, 15, 1)).containsOnly(0);
    }

    @Test
    void writesAndReadsTheLastBlock() {
        BlockDevice device = device();
        ByteBuffer data = randomBlocks(new Random(2), 1);
        device.write(BLOCK_COUNT - 1, 1, data, 0);
        assertThat(readBytes(device, BLOCK_COUNT - 1, 1)).isEqualTo(bytesOf(data));
    }

    @Test
    void ioSpanningMegabyteBoundariesRoundTrips() {
        BlockDevice device = device();
        int blocks = 500; // ~2 MiB starting just below the first 1 MiB boundary (block 256)
        ByteBuffer data = randomBlocks(new Random(3), blocks);
        device.write(250, blocks, data, 0);
        assertSameBytes(readBytes(device, 250, blocks), bytesOf(data), "spanning read");
    }

    @Test
    void heapBuffersWorkLikeDirectOnes() {
        BlockDevice device = device();
        byte[] bytes = new byte[2 * BLOCK_SIZE + 100];
        new Random(4).nextBytes(bytes);
        ByteBuffer heap = ByteBuffer.wrap(bytes);
        device.write(7, 2, heap, 100);
        ByteBuffer back = ByteBuffer.allocate(2 * BLOCK_SIZE + 7);
        device.read(7, 2, back, 7);
        byte[] expected = java.util.Arrays.copyOfRange(bytes, 100, 100 + 2 * BLOCK_SIZE);
        byte[] actual = java.util.Arrays.copyOfRange(back.array(), 7, 7 + 2 * BLOCK_SIZE);
        assertThat(actual).isEqualTo(expected);
    }

    @Test
    void leavesBufferPositionAndLimitUnchanged() {
        BlockDevice device = device();
        ByteBuffer buffer = randomBlocks(new Random(5), 3);
        buffer.position(17).limit(3 * BLOCK_SIZE);
        device.write(0, 2, buffer, BLOCK_SIZE);
        device.read(0, 2, buffer, 0);
        assertThat(buffer.position()).isEqualTo(17);
        assertThat(buffer.limit()).isEqualTo(3 * BLOCK_SIZE);
    }

    @Test
    void rejectsWriteBeyondLastBlock() {
        BlockDevice device = device();
        ByteBuffer data = randomBlocks(new Random(6), 2);
        assertThatThrownBy(() -> device.write(BLOCK_COUNT - 1, 2, data, 0))
                .isInstanceOf(CoreException.class)
                .hasMessageContaining("outside the device")
                .satisfies(e -> assertThat(((CoreException) e).code()).isEqualTo(CoreError.OUT_OF_RANGE));
        assertThat(readBytes(device, BLOCK_COUNT - 1, 1)).containsOnly(0);
    }

    @Test
    void rejectsReadBeyondLastBlockAndNegativeAddresses() {
        BlockDevice device = device();
        ByteBuffer buffer = ByteBuffer.allocateDirect(BLOCK_SIZE);
        assertThatThrownBy(() -> device.read(BLOCK_COUNT, 1, buffer, 0)).isInstanceOf(CoreException.class);
        assertThatThrownBy(() -> device.read(-1, 1, buffer, 0)).isInstanceOf(CoreException.class);
        assertThatThrownBy(() -> device.read(0, -1, buffer, 0)).isInstanceOf(CoreException.class);
        assertThatThrownBy(() -> device.trim(BLOCK_COUNT - 1, 2)).isInstanceOf(CoreException.class);
    }

    @Test
    void rejectsBufferTooSmallWithoutWriting() {
        BlockDevice device = device();
        ByteBuffer small = randomBlocks(new Random(7), 1);
        assertThatThrownBy(() -> device.write(0, 2, small, 0))
                .isInstanceOf(CoreException.class)
                .satisfies(e -> assertThat(((CoreException) e).code()).isEqualTo(CoreError.BUFFER_TOO_SMALL));
        assertThatThrownBy(() -> device.write(0, 1, small, 1)).isInstanceOf(CoreException.class);
        assertThat(readBytes(device, 0, 2)).containsOnly(0);
    }

    @Test
    void trimmedBlocksReadAsZeros() {
        BlockDevice device = device();
        ByteBuffer data = randomBlocks(new Random(8), 8);
        device.write(20, 8, data, 0);
        device.trim(22, 3);
        byte[] after = readBytes(device, 20, 8);
        byte[] expected = bytesOf(data);
        java.util.Arrays.fill(expected, 2 * BLOCK_SIZE, 5 * BLOCK_SIZE, (byte) 0);
        assertThat(after).isEqualTo(expected);
    }

    @Test
    void seededRandomWorkloadMatchesReferenceModel() {
        BlockDevice device = device();
        byte[] model = new byte[(int) (BLOCK_COUNT * BLOCK_SIZE)];
        Random random = new Random(42);
        ByteBuffer buffer = ByteBuffer.allocateDirect(64 * BLOCK_SIZE);
        for (int op = 0; op < 400; op++) {
            int blocks = 1 + random.nextInt(64);
            long lba = random.nextInt((int) BLOCK_COUNT - blocks + 1);
            int offset = (int) lba * BLOCK_SIZE;
            int length = blocks * BLOCK_SIZE;
            switch (random.nextInt(5)) {
                case 0, 1 -> {
                    byte[] data = new byte[length];
                    random.nextBytes(data);
                    buffer.put(0, data);
                    device.write(lba, blocks, buffer, 0, random.nextInt(8) == 0);
                    System.arraycopy(data, 0, model, offset, length);
                }
                case 2 -> {
                    device.trim(lba, blocks);
                    java.util.Arrays.fill(model, offset, offset + length, (byte) 0);
                }
                case 3 -> device.flush();
                default -> {
                    device.read(lba, blocks, buffer, 0);
                    byte[] actual = new byte[length];
                    buffer.get(0, actual);
                    assertSameBytes(actual, java.util.Arrays.copyOfRange(model, offset, offset + length),
                            "op " + op + " read [" + lba + ",+" + blocks + ")");
                }
            }
        }
        assertSameBytes(readBytes(device, 0, (int) BLOCK_COUNT), model, "whole device");
    }

    @Test
    void concurrentWritersToDisjointRangesAllLand() throws Exception {
        BlockDevice device = device();
        int threads = 4;
        int blocksPerThread = (int) (BLOCK_COUNT / threads);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<byte[]>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                results.add(pool.submit(() -> {
                    ByteBuffer data = randomBlocks(new Random(100 + thread), blocksPerThread);
                    for (int i = 0; i < blocksPerThread; i++) {
                        device.write((long) thread * blocksPerThread + i, 1, data, i * BLOCK_SIZE);
                    }
                    return bytesOf(data);
                }));
            }
            List<byte[]> written = new ArrayList<>();
            for (Future<byte[]> result : results) {
                written.add(result.get());
            }
            for (int t = 0; t < threads; t++) {
                assertSameBytes(readBytes(device, (long) t * blocksPerThread, blocksPerThread), written.get(t),
                        "thread " + t);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void meterCountsReceivedBytes() {
        BlockDevice device = device();
        ByteBuffer data = randomBlocks(new Random(9), 3);
        device.write(0, 3, data, 0);
        device.read(0, 2, data, 0);
        IoMeter.Snapshot snapshot = device.meter().snapshot();
        assertThat(snapshot.receivedWrite().bytes()).isEqualTo(3L * BLOCK_SIZE);
        assertThat(snapshot.receivedWrite().operations()).isEqualTo(1);
        assertThat(snapshot.receivedRead().bytes()).isEqualTo(2L * BLOCK_SIZE);
    }

    /** Fill of a computed write: copies {@code source} (the bytes the write must leave) and counts calls. */
    private static final class CopyFill implements BlockFill {
        final ByteBuffer source;
        int calls;

        CopyFill(ByteBuffer source) {
            this.source = source;
        }

        @Override
        public void fill(long address, int length) {
            calls++;
            NativeMemory.copy(NativeMemory.address(source), address, length);
        }
    }

    @Test
    void computedWritesLeaveTheBytesTheFillWrote() {
        BlockDevice device = create(new BlockGeometry(BLOCK_SIZE, BLOCK_COUNT)); // tracked by whoever ends it
        Random random = new Random(12);
        ByteBuffer scratch = ByteBuffer.allocateDirect(300 * BLOCK_SIZE);
        byte[] expected = new byte[(int) BLOCK_COUNT * BLOCK_SIZE];
        // inside a 1 MiB memory chunk, across chunk boundaries, the first and the last block
        long[][] writes = {{0, 1}, {3, 16}, {250, 12}, {255, 2}, {256, 1}, {500, 300 - 32}, {BLOCK_COUNT - 1, 1}};
        for (long[] w : writes) {
            int blocks = (int) w[1];
            ByteBuffer data = randomBlocks(random, blocks);
            CopyFill fill = new CopyFill(data);
            device.writeComputed(w[0], blocks, fill, scratch, random.nextBoolean());
            assertThat(fill.calls).as("fill calls of %d+%d", w[0], blocks).isEqualTo(1);
            data.get(0, expected, (int) w[0] * BLOCK_SIZE, blocks * BLOCK_SIZE);
        }
        assertSameBytes(readBytes(device, 0, (int) BLOCK_COUNT), expected, "after computed writes");
        IoMeter.Snapshot snapshot = device.meter().snapshot();
        assertThat(snapshot.receivedWrite().operations()).isEqualTo(writes.length);
        assertThat(snapshot.receivedWrite().bytes())
                .isEqualTo(java.util.Arrays.stream(writes).mapToLong(w -> w[1] * BLOCK_SIZE).sum());
        device.flush();
        BlockDevice reopened = reopen(device);
        if (reopened == null) {
            device.close();
            return;
        }
        track(reopened);
        assertSameBytes(readBytes(reopened, 0, (int) BLOCK_COUNT), expected, "after reopen");
    }

    @Test
    void computedWriteRejectsBadRequestsWithoutCallingTheFill() {
        BlockDevice device = device();
        ByteBuffer data = randomBlocks(new Random(13), 2);
        device.write(10, 2, data, 0);
        CopyFill fill = new CopyFill(randomBlocks(new Random(14), 2));
        assertThatThrownBy(() -> device.writeComputed(10, 2, fill, ByteBuffer.allocate(2 * BLOCK_SIZE), false))
                .isInstanceOf(CoreException.class).hasMessageContaining("direct scratch")
                .satisfies(e -> assertThat(((CoreException) e).code()).isEqualTo(CoreError.INVALID_ARGUMENT));
        assertThatThrownBy(() -> device.writeComputed(10, 2, fill, ByteBuffer.allocateDirect(BLOCK_SIZE), false))
                .isInstanceOf(CoreException.class).hasMessageContaining("8192 bytes")
                .satisfies(e -> assertThat(((CoreException) e).code()).isEqualTo(CoreError.BUFFER_TOO_SMALL));
        assertThatThrownBy(() -> device.writeComputed(BLOCK_COUNT - 1, 2, fill,
                ByteBuffer.allocateDirect(2 * BLOCK_SIZE), false)).isInstanceOf(CoreException.class)
                .satisfies(e -> assertThat(((CoreException) e).code()).isEqualTo(CoreError.OUT_OF_RANGE));
        assertThat(fill.calls).isZero();
        assertThat(readBytes(device, 10, 2)).isEqualTo(bytesOf(data));
    }

    @Test
    void closeIsIdempotentAndIoAfterCloseFails() {
        BlockDevice device = create(new BlockGeometry(BLOCK_SIZE, BLOCK_COUNT));
        device.close();
        device.close();
        ByteBuffer buffer = ByteBuffer.allocateDirect(BLOCK_SIZE);
        assertThatThrownBy(() -> device.read(0, 1, buffer, 0))
                .isInstanceOf(CoreException.class)
                .satisfies(e -> assertThat(((CoreException) e).code()).isEqualTo(CoreError.CLOSED));
        assertThatThrownBy(device::flush).isInstanceOf(CoreException.class);
    }

    @Test
    void flushedDataSurvivesReopen() {
        BlockDevice device = create(new BlockGeometry(BLOCK_SIZE, BLOCK_COUNT));
        ByteBuffer data = randomBlocks(new Random(10), 4);
        device.write(BLOCK_COUNT - 4, 4, data, 0);
        device.write(0, 1, data, 0, true);
        device.flush();
        BlockDevice reopened = reopen(device);
        if (reopened == null) {
            device.close();
            return; // volatile medium: nothing survives close, by definition
        }
        track(reopened);
        assertThat(reopened.geometry()).isEqualTo(new BlockGeometry(BLOCK_SIZE, BLOCK_COUNT));
        assertThat(readBytes(reopened, BLOCK_COUNT - 4, 4)).isEqualTo(bytesOf(data));
        assertThat(readBytes(reopened, 0, 1)).isEqualTo(java.util.Arrays.copyOf(bytesOf(data), BLOCK_SIZE));
        assertThat(readBytes(reopened, 1, 1)).containsOnly(0);
    }
}
