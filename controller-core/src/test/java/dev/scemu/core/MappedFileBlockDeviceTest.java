package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.scemu.core.internal.LibC;
import dev.scemu.core.internal.MappedFileBlockDevice;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Mapped file with 1 MiB chunks, so the contract's I/O crosses chunk boundaries and the last chunk is partial. */
class MappedFileBlockDeviceTest extends FileMediumContractTest {

    private static final int CHUNK_BYTES = 1 << 20;

    @TempDir
    Path dir;

    @Override
    protected Path directory() {
        return dir;
    }

    @Override
    protected BlockDevice open(Path path, BlockGeometry geometry) {
        return MappedFileBlockDevice.open("mapped", path, geometry, CHUNK_BYTES);
    }

    @Test
    void buffersMoveByPreadPwriteAndMapOnlyWhatAnMsyncNeeds() {
        assumeTrue(LibC.isAvailable(), "pread/pwrite path needs 64-bit Linux");
        MappedFileBlockDevice device = (MappedFileBlockDevice) device();
        assertThat(device.mappedChunkCount()).isZero();
        ByteBuffer data = randomBlocks(new Random(30), 1);
        device.write(BLOCK_COUNT - 1, 1, data, 0); // partial last chunk, by pwrite: no page mapped
        assertThat(readBytes(device, BLOCK_COUNT - 1, 1)).isEqualTo(bytesOf(data));
        assertThat(device.mappedChunkCount()).isZero();
        // a heap buffer goes by pread/pwrite too (through a direct buffer), so it maps nothing either:
        // through the mapping, each page of a sparse file it touched first was a page fault
        ByteBuffer heap = ByteBuffer.allocate(BLOCK_SIZE);
        device.read(BLOCK_COUNT - 1, 1, heap, 0);
        assertThat(heap.array()).isEqualTo(bytesOf(data));
        byte[] other = bytesOf(randomBlocks(new Random(31), 1));
        device.write(1, 1, ByteBuffer.wrap(other), 0);
        assertThat(readBytes(device, 1, 1)).isEqualTo(other);
        assertThat(device.mappedChunkCount()).isZero();
        device.write(0, 1, data, 0, true); // fua: msync of the range needs its chunk mapped
        assertThat(device.mappedChunkCount()).isEqualTo(1);
    }

    /**
     * Another process shrinks the member file under the device: reads beyond the new end fail with
     * an I/O error ({@code pread}'s short read), reads of what is left still work, and the process
     * goes on. (Reads stay off the mapping for this too: a load from a mapped page beyond the end
     * is a SIGBUS, which the JVM raises as an {@link InternalError} at some later instruction of
     * compiled code, where no caller can tell it from any other failure.)
     */
    @Test
    void aFileShrunkUnderTheDeviceFailsItsReadsWithAnIoError() throws Exception {
        assumeTrue(LibC.isAvailable(), "pread/pwrite path needs 64-bit Linux");
        MappedFileBlockDevice device = (MappedFileBlockDevice) device();
        ByteBuffer data = randomBlocks(new Random(34), 2);
        device.write(BLOCK_COUNT - 2, 2, data, 0);
        assertThat(readBytes(device, BLOCK_COUNT - 2, 2)).isEqualTo(bytesOf(data));
        try (java.io.RandomAccessFile file = new java.io.RandomAccessFile(device.path().toFile(), "rw")) {
            file.setLength(BLOCK_SIZE * (BLOCK_COUNT / 2));
        }
        for (int round = 0; round < 2; round++) {
            for (long lba : new long[] {BLOCK_COUNT - 2, BLOCK_COUNT - 1}) {
                assertThatThrownBy(() -> readBytes(device, lba, 1)).isInstanceOf(CoreException.class)
                        .satisfies(e -> assertThat(((CoreException) e).code()).isEqualTo(CoreError.IO_ERROR));
            }
        }
        assertThat(readBytes(device, 0, 1)).isEqualTo(new byte[BLOCK_SIZE]);
    }

    /**
     * Heap buffers larger than a pwrite piece (64 KiB), at offsets inside the heap array and
     * across the device's 1 MiB chunks, read back what they wrote, through heap and direct buffers.
     */
    @Test
    void heapBuffersOfSeveralPiecesAtAnyOffsetReadBackThroughEitherKindOfBuffer() {
        BlockDevice device = device();
        Random random = new Random(33);
        int blocks = 3 * 64 * 1024 / BLOCK_SIZE + 5; // three pieces and a part of a fourth
        long lba = CHUNK_BYTES / BLOCK_SIZE - 7; // starts 7 blocks before a chunk boundary
        byte[] heapArray = new byte[(blocks + 2) * BLOCK_SIZE];
        random.nextBytes(heapArray);
        device.write(lba, blocks, ByteBuffer.wrap(heapArray), BLOCK_SIZE);
        byte[] expected = java.util.Arrays.copyOfRange(heapArray, BLOCK_SIZE, (blocks + 1) * BLOCK_SIZE);
        assertThat(readBytes(device, lba, blocks)).as("read into a direct buffer").isEqualTo(expected);
        byte[] back = new byte[(blocks + 1) * BLOCK_SIZE];
        device.read(lba, blocks, ByteBuffer.wrap(back), BLOCK_SIZE);
        assertThat(java.util.Arrays.copyOfRange(back, BLOCK_SIZE, back.length)).as("read into a heap buffer")
                .isEqualTo(expected);
    }

    /**
     * A ranged flush syncs the dirty chunks' parts inside its range: a chunk it covers whole is
     * clean after it, one it covers in part stays dirty for the next full flush, and chunks outside
     * are not touched.
     */
    @Test
    void aRangedFlushSyncsOnlyItsRangeAndKeepsAPartlyCoveredChunkDirty() {
        MappedFileBlockDevice device = (MappedFileBlockDevice) device();
        int blocksPerChunk = CHUNK_BYTES / BLOCK_SIZE;
        ByteBuffer data = randomBlocks(new Random(32), 1);
        for (int chunk = 0; chunk < 3; chunk++) {
            device.write(chunk * (long) blocksPerChunk + 1, 1, data, 0);
        }
        assertThat(device.dirtyChunkCount()).isEqualTo(3);

        device.flushRange(blocksPerChunk, blocksPerChunk);
        assertThat(device.dirtyChunkCount()).as("chunk 1, covered whole, is clean").isEqualTo(2);
        device.flushRange(0, 4);
        assertThat(device.dirtyChunkCount()).as("chunk 0, covered in part, keeps its flag").isEqualTo(2);
        device.flushRange(0, BLOCK_COUNT);
        assertThat(device.dirtyChunkCount()).as("the whole device: the full flush").isZero();
        for (int chunk = 0; chunk < 3; chunk++) {
            assertThat(readBytes(device, chunk * (long) blocksPerChunk + 1, 1)).isEqualTo(bytesOf(data));
        }
    }

    @Test
    void aLongUnalignedWriteGoesDownInAlignedPiecesAndReadsBackWhole() {
        assumeTrue(LibC.isAvailable(), "pread/pwrite path needs 64-bit Linux");
        BlockDevice device = device();
        int blocks = 3 * MappedFileBlockDevice.WRITE_PIECE_BYTES / BLOCK_SIZE + 5; // 3 pieces and a bit, across chunks
        ByteBuffer data = randomBlocks(new Random(31), blocks);
        device.write(3, blocks, data, 0); // starts 12 KiB into a piece: the first piece is short
        assertThat(readBytes(device, 3, blocks)).isEqualTo(bytesOf(data));
        assertThat(readBytes(device, 2, 1)).containsOnly(0);
        assertThat(readBytes(device, 3 + blocks, 1)).containsOnly(0);
    }

    @Test
    void defaultChunksWorkThroughTheFactory() {
        BlockDevice device = track(Media.mappedFile(dir.resolve("factory.img"), new BlockGeometry(BLOCK_SIZE, BLOCK_COUNT)));
        assertThat(device).isInstanceOf(MappedFileBlockDevice.class);
        assertThat(((MappedFileBlockDevice) device).chunkBytes()).isEqualTo(MappedFileBlockDevice.DEFAULT_CHUNK_BYTES);
        ByteBuffer data = randomBlocks(new Random(31), 2);
        device.write(BLOCK_COUNT - 2, 2, data, 0);
        assertThat(readBytes(device, BLOCK_COUNT - 2, 2)).isEqualTo(bytesOf(data));
    }

    @Test
    void rejectsChunkSizeBelowBlockSize() {
        assertThatThrownBy(() -> MappedFileBlockDevice.open("bad", dir.resolve("bad.img"),
                new BlockGeometry(8192, 4), 4096))
                .isInstanceOf(CoreException.class)
                .satisfies(e -> assertThat(((CoreException) e).code()).isEqualTo(CoreError.INVALID_ARGUMENT));
        assertThat(dir.resolve("bad.img")).doesNotExist();
    }
}
