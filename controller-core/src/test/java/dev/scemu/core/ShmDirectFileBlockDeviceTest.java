package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.internal.DirectFileBlockDevice;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.extension.AnnotatedElementContext;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.io.TempDirFactory;

/**
 * {@link DirectFileBlockDevice} on tmpfs ({@code /dev/shm}). Kernels before 6.6 refuse
 * {@code O_DIRECT} on tmpfs with EINVAL and the device falls back to buffered I/O; later kernels
 * accept it. The test probes which, instead of assuming.
 */
@EnabledIf("shmIsWritable")
class ShmDirectFileBlockDeviceTest extends FileMediumContractTest {

    private static final Path SHM = Path.of("/dev/shm");

    @TempDir(factory = ShmTempDirFactory.class)
    Path dir;

    static boolean shmIsWritable() {
        return Files.isDirectory(SHM) && Files.isWritable(SHM);
    }

    @Override
    protected Path directory() {
        return dir;
    }

    @Override
    protected BlockDevice open(Path path, BlockGeometry geometry) {
        return DirectFileBlockDevice.open("shm", path, geometry);
    }

    @Test
    void usesDirectIoExactlyWhenTmpfsAcceptsIt() throws IOException {
        DirectFileBlockDevice device = (DirectFileBlockDevice) device();
        assertThat(device.isDirectIo()).isEqualTo(FileProbe.acceptsDirectIo(dir));
    }

    /** Temporary directories on /dev/shm, deleted by JUnit like any {@link TempDir}. */
    static final class ShmTempDirFactory implements TempDirFactory {
        @Override
        public Path createTempDirectory(AnnotatedElementContext elementContext, ExtensionContext extensionContext)
                throws IOException {
            return Files.createTempDirectory(SHM, "scemu-media-test-");
        }
    }
}
