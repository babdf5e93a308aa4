package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.internal.DirectFileBlockDevice;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The buffered (page cache) path of {@link DirectFileBlockDevice}, the fallback where O_DIRECT is refused. */
class BufferedFileBlockDeviceTest extends FileMediumContractTest {

    @TempDir
    Path dir;

    @Override
    protected Path directory() {
        return dir;
    }

    @Override
    protected BlockDevice open(Path path, BlockGeometry geometry) {
        return DirectFileBlockDevice.open("buffered", path, geometry, DirectFileBlockDevice.Options.BUFFERED);
    }

    @Test
    void isNotDirect() {
        assertThat(((DirectFileBlockDevice) device()).isDirectIo()).isFalse();
    }
}
