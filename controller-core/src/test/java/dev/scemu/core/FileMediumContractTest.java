package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * What every file-backed medium adds to the {@link BlockDeviceContractTest}: exact sparse file,
 * persistence across close and reopen, refusal of files of the wrong length, any buffer alignment.
 */
abstract class FileMediumContractTest extends BlockDeviceContractTest {

    private final Map<BlockDevice, Path> paths = new IdentityHashMap<>();
    private int fileCounter;

    /** Directory the test's files live in. */
    protected abstract Path directory();

    /** Creates or opens the medium on {@code path}. */
    protected abstract BlockDevice open(Path path, BlockGeometry geometry);

    protected final Path newPath() {
        return directory().resolve("medium-" + (fileCounter++) + ".img");
    }

    protected final Path pathOf(BlockDevice device) {
        return paths.get(device);
    }

    protected final BlockDevice openTracked(Path path, BlockGeometry geometry) {
        BlockDevice device = open(path, geometry);
        paths.put(device, path);
        return track(device);
    }

    @Override
    protected BlockDevice create(BlockGeometry geometry) {
        Path path = newPath();
        BlockDevice device = open(path, geometry);
        paths.put(device, path);
        return device;
    }

    @Override
    protected BlockDevice reopen(BlockDevice device) {
        device.close();
        BlockDevice reopened = open(pathOf(device), device.geometry());
        paths.put(reopened, pathOf(device));
        return reopened;
    }

    @Test
    void createsSparseFileOfExactCapacity() throws IOException {
        BlockDevice device = device();
        Path path = pathOf(device);
        assertThat(Files.size(path)).isEqualTo(BLOCK_SIZE * BLOCK_COUNT);
        assertThat(FileProbe.hasNoData(path)).as("no block of a new file is allocated").isTrue();
        assertThat(readBytes(device, 0, (int) BLOCK_COUNT)).containsOnly(0);
    }

    @Test
    void fileLengthStaysExactAfterWritingTheLastBlock() throws IOException {
        BlockDevice device = device();
        device.write(BLOCK_COUNT - 1, 1, randomBlocks(new Random(20), 1), 0);
        device.flush();
        assertThat(Files.size(pathOf(device))).isEqualTo(BLOCK_SIZE * BLOCK_COUNT);
    }

    @Test
    void refusesExistingFileOfWrongLengthAndLeavesItUnchanged() throws IOException {
        Path path = newPath();
        long wrongLength = BLOCK_SIZE * BLOCK_COUNT + BLOCK_SIZE;
        try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw")) {
            file.setLength(wrongLength);
        }
        assertThatThrownBy(() -> open(path, new BlockGeometry(BLOCK_SIZE, BLOCK_COUNT)))
                .isInstanceOf(CoreException.class)
                .hasMessageContaining(path.toString())
                .hasMessageContaining(Long.toString(wrongLength))
                .satisfies(e -> assertThat(((CoreException) e).code()).isEqualTo(CoreError.INVALID_ARGUMENT));
        assertThat(Files.size(path)).isEqualTo(wrongLength);
    }

    @Test
    void fuaWriteSurvivesReopenWithoutFlush() {
        BlockDevice device = device();
        ByteBuffer data = randomBlocks(new Random(21), 3);
        device.write(100, 3, data, 0, true);
        BlockDevice reopened = track(reopen(device));
        assertThat(readBytes(reopened, 100, 3)).isEqualTo(bytesOf(data));
    }

    @Test
    void unalignedDirectAndHeapBuffersRoundTripAcrossBouncePieces() {
        BlockDevice device = device();
        int blocks = 300; // 1.17 MiB: more than one 1 MiB bounce piece
        byte[] bytes = new byte[blocks * BLOCK_SIZE];
        new Random(22).nextBytes(bytes);
        ByteBuffer unalignedDirect = ByteBuffer.allocateDirect(bytes.length + 1);
        unalignedDirect.put(1, bytes);
        device.write(5, blocks, unalignedDirect, 1);

        ByteBuffer heap = ByteBuffer.allocate(bytes.length + 3);
        device.read(5, blocks, heap, 3);
        assertSameBytes(Arrays.copyOfRange(heap.array(), 3, 3 + bytes.length), bytes, "heap read");

        ByteBuffer unalignedRead = ByteBuffer.allocateDirect(bytes.length + 513);
        device.read(5, blocks, unalignedRead, 513);
        byte[] back = new byte[bytes.length];
        unalignedRead.get(513, back);
        assertSameBytes(back, bytes, "unaligned direct read");

        byte[] heapBytes = new byte[2 * BLOCK_SIZE + 7];
        new Random(23).nextBytes(heapBytes);
        device.write(600, 2, ByteBuffer.wrap(heapBytes), 7);
        assertThat(readBytes(device, 600, 2)).isEqualTo(Arrays.copyOfRange(heapBytes, 7, heapBytes.length));
    }

    @Test
    void smallBlocksOnACapacityThatIsNoPageMultipleRoundTripAndPersist() throws IOException {
        BlockGeometry geometry = new BlockGeometry(512, 769); // 384.5 KiB
        Path path = newPath();
        BlockDevice device = openTracked(path, geometry);
        ByteBuffer data = ByteBuffer.allocateDirect(3 * 512);
        byte[] bytes = new byte[3 * 512];
        new Random(24).nextBytes(bytes);
        data.put(0, bytes);
        device.write(766, 3, data, 0);
        device.write(1, 1, data, 512, true);
        device.flush();
        assertThat(Files.size(path)).isEqualTo(769 * 512L);
        BlockDevice reopened = track(reopen(device));
        assertThat(readBytes(reopened, 766, 3)).isEqualTo(bytes);
        assertThat(readBytes(reopened, 1, 1)).isEqualTo(Arrays.copyOfRange(bytes, 512, 1024));
        assertThat(readBytes(reopened, 0, 1)).containsOnly(0);
    }

    @Test
    void trimIsPersistentAfterFlushAndReopen() {
        BlockDevice device = device();
        ByteBuffer data = randomBlocks(new Random(25), 4);
        device.write(40, 4, data, 0);
        device.flush();
        device.trim(41, 2);
        device.flush();
        BlockDevice reopened = track(reopen(device));
        byte[] expected = bytesOf(data);
        Arrays.fill(expected, BLOCK_SIZE, 3 * BLOCK_SIZE, (byte) 0);
        assertThat(readBytes(reopened, 40, 4)).isEqualTo(expected);
    }

    @Test
    void emptyGeometryGivesAnEmptyFile() throws IOException {
        Path path = newPath();
        BlockDevice device = openTracked(path, new BlockGeometry(BLOCK_SIZE, 0));
        device.flush();
        assertThat(Files.size(path)).isZero();
    }
}
