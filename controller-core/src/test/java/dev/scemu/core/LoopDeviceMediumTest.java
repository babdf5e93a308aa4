package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.internal.DirectFileBlockDevice;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Media#openDisk} on a Linux block device: the whole {@link BlockDeviceContractTest} on a
 * loop device over a sparse file, and what a block device adds: its size from {@code lseek}, writes
 * that reach the file below, the exclusive claim of a writer, and a strictly read-only open (a
 * read-only loop device refuses any {@code O_RDWR} open). Skipped with the reason where loop
 * devices are unavailable ({@link LoopDevice}).
 */
class LoopDeviceMediumTest extends BlockDeviceContractTest {

    @TempDir
    Path dir;

    private final List<BlockDevice> devices = new ArrayList<>();
    private final List<LoopDevice> loops = new ArrayList<>();
    private final Map<BlockDevice, LoopDevice> loopOf = new IdentityHashMap<>();
    private int files;

    @AfterEach
    void detach() {
        devices.forEach(BlockDevice::close);
        loops.forEach(LoopDevice::close);
    }

    private Path newImage(long lengthBytes) throws IOException {
        Path file = dir.resolve("image-" + files++ + ".img");
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(lengthBytes);
        }
        return file;
    }

    private LoopDevice loop(Path file, boolean readOnly) {
        LoopDevice loop = LoopDevice.attach(file, readOnly);
        loops.add(loop);
        return loop;
    }

    private BlockDevice opened(LoopDevice loop, int blockSize, boolean readOnly) {
        BlockDevice device = Media.openDisk(loop.path(), blockSize, readOnly);
        devices.add(device);
        loopOf.put(device, loop);
        return device;
    }

    @Override
    protected BlockDevice create(BlockGeometry geometry) {
        try {
            return opened(loop(newImage(geometry.capacityBytes()), false), geometry.blockSize(), false);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Override
    protected BlockDevice reopen(BlockDevice device) {
        device.close();
        return opened(loopOf.get(device), device.blockSize(), false);
    }

    @Test
    void aBlockDeviceIsSizedByLseekWhereFilesSizeSaysZero() throws IOException {
        Path image = newImage(5L << 20);
        LoopDevice loop = loop(image, false);
        assertThat(Files.size(loop.path())).as("st_size of a block special file").isZero();
        assertThat(Media.diskLengthBytes(loop.path())).isEqualTo(5L << 20);
        DirectFileBlockDevice device = (DirectFileBlockDevice) opened(loop, 512, false);
        assertThat(device.geometry()).isEqualTo(new BlockGeometry(512, 10240));
        assertThat(device.isBlockDevice()).isTrue();
        assertThat(device.name()).isEqualTo(loop.path().getFileName().toString());
        List<Extent> extents = new ArrayList<>();
        device.mapAllocation(0, device.blockCount(), (lba, count, state) -> {
            assertThat(state).isEqualTo(Allocation.DATA);
            extents.add(new Extent(lba, count));
            return true;
        });
        assertThat(extents).as("a block device has no holes to report").containsExactly(new Extent(0, 10240));
    }

    @Test
    void writesThroughTheBlockDeviceReachTheImageFileBelow() throws IOException {
        Path image = newImage(4L << 20);
        LoopDevice loop = loop(image, false);
        BlockDevice device = opened(loop, 4096, false);
        ByteBuffer data = randomBlocks(new Random(11), 3);
        device.write(100, 3, data, 0, true);
        device.close();
        loop.close();
        ByteBuffer back = ByteBuffer.allocate(3 * 4096);
        try (FileChannel file = FileChannel.open(image, StandardOpenOption.READ)) {
            file.read(back, 100L * 4096);
        }
        assertSameBytes(back.array(), bytesOf(data), "image bytes at block 100");
    }

    @Test
    void aWriterClaimsTheBlockDeviceExclusivelyAndReadersShareIt() throws IOException {
        LoopDevice loop = loop(newImage(1L << 20), false);
        BlockDevice writer = opened(loop, 4096, false);
        assertThatThrownBy(() -> opened(loop, 4096, false))
                .isInstanceOf(CoreException.class)
                .hasMessageContaining("errno=16")
                .hasMessageContaining("in use")
                .hasMessageContaining(loop.path().toString());
        BlockDevice reader = opened(loop, 4096, true);
        ByteBuffer data = randomBlocks(new Random(12), 1);
        writer.write(7, 1, data, 0, true);
        assertThat(readBytes(reader, 7, 1)).isEqualTo(bytesOf(data));
    }

    @Test
    void readOnlyOpensAReadOnlyBlockDeviceAndWritesNothing() throws IOException {
        Path image = newImage(1L << 20);
        byte[] pattern = new byte[1 << 20];
        new Random(13).nextBytes(pattern);
        Files.write(image, pattern);
        LoopDevice loop = loop(image, true);
        assertThatThrownBy(() -> opened(loop, 4096, false))
                .as("a write-protected device is refused for writing at open (Linux would fail the first write)")
                .isInstanceOf(CoreException.class)
                .hasMessage("READ_ONLY: block device " + loop.path() + " is write-protected (BLKROGET): it can only"
                        + " be opened read-only")
                .satisfies(e -> assertThat(((CoreException) e).code()).isEqualTo(CoreError.READ_ONLY));
        BlockDevice device = opened(loop, 4096, true);
        assertThat(device.isReadOnly()).isTrue();
        assertThat(MediaDiskTest.accessModesOf(loop.path())).containsOnly("O_RDONLY");
        assertThat(readBytes(device, 0, 256)).isEqualTo(pattern);
        ByteBuffer data = randomBlocks(new Random(14), 1);
        assertThatThrownBy(() -> device.write(0, 1, data, 0))
                .isInstanceOf(CoreException.class)
                .satisfies(e -> assertThat(((CoreException) e).code()).isEqualTo(CoreError.READ_ONLY));
        assertThatThrownBy(() -> device.trim(0, 1))
                .isInstanceOf(CoreException.class)
                .satisfies(e -> assertThat(((CoreException) e).code()).isEqualTo(CoreError.READ_ONLY));
        device.flush();
        device.close();
        loop.close();
        assertThat(Files.readAllBytes(image)).isEqualTo(pattern);
    }
}
