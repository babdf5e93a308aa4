package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.internal.DirectFileBlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** pread/pwrite file in the default temporary directory, O_DIRECT wherever that file system accepts it. */
class DirectFileBlockDeviceTest extends FileMediumContractTest {

    @TempDir
    Path dir;

    @Override
    protected Path directory() {
        return dir;
    }

    @Override
    protected BlockDevice open(Path path, BlockGeometry geometry) {
        return DirectFileBlockDevice.open("direct", path, geometry);
    }

    @Test
    void usesDirectIoExactlyWhenTheFileSystemAcceptsIt() throws IOException {
        DirectFileBlockDevice device = (DirectFileBlockDevice) device();
        assertThat(device.isDirectIo()).isEqualTo(FileProbe.acceptsDirectIo(dir));
    }

    @Test
    void trimPunchesHolesWhereSupported() {
        DirectFileBlockDevice device = (DirectFileBlockDevice) device();
        device.write(64, 64, randomBlocks(new Random(40), 64), 0, true);
        assertThat(FileProbe.hasNoData(device.path())).isFalse();
        device.trim(64, 64);
        device.flush();
        assertThat(readBytes(device, 64, 64)).containsOnly(0);
        if (device.punchesHoles()) {
            assertThat(FileProbe.hasNoData(device.path())).as("trimmed range is a hole again").isTrue();
        }
    }

    @Test
    void preallocatedFileHasItsCapacityAndReadsZeros() throws IOException {
        Path path = newPath();
        BlockDevice device = track(DirectFileBlockDevice.open("prealloc", path,
                new BlockGeometry(BLOCK_SIZE, 16), new DirectFileBlockDevice.Options(true, true)));
        assertThat(Files.size(path)).isEqualTo(16L * BLOCK_SIZE);
        assertThat(readBytes(device, 0, 16)).containsOnly(0);
    }

    @Test
    void osErrorsCarryErrnoTextAndFile() throws IOException {
        Path directoryAsFile = Files.createDirectory(dir.resolve("not-a-file"));
        assertThatThrownBy(() -> open(directoryAsFile, new BlockGeometry(BLOCK_SIZE, 1)))
                .isInstanceOf(CoreException.class)
                .hasMessageContaining("errno=21 (Is a directory)")
                .hasMessageContaining(directoryAsFile.toString())
                .satisfies(e -> assertThat(((CoreException) e).code()).isEqualTo(CoreError.IO_ERROR));
    }

    @Test
    void meterCountsPhysicalBytes() {
        BlockDevice device = device();
        ByteBuffer heap = ByteBuffer.allocate(3 * BLOCK_SIZE);
        device.write(0, 3, heap, 0, true);
        device.read(0, 2, heap, 0);
        IoMeter.Snapshot snapshot = device.meter().snapshot();
        assertThat(snapshot.issuedWrite(IoCause.HOST).bytes()).isEqualTo(3L * BLOCK_SIZE);
        assertThat(snapshot.issuedRead(IoCause.HOST).bytes()).isEqualTo(2L * BLOCK_SIZE);
        assertThat(snapshot.writeAmplification()).isEqualTo(1.0);
    }
}
