package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.internal.DirectFileBlockDevice;
import dev.scemu.core.internal.MappedFileBlockDevice;
import dev.scemu.core.internal.MemoryBlockDevice;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MediaTest {

    private static final BlockGeometry GEOMETRY = new BlockGeometry(4096, 64);

    @TempDir
    Path dir;

    @Test
    void opensEachKind() {
        try (BlockDevice memory = Media.open(MediaKind.MEMORY, "m", null, GEOMETRY);
             BlockDevice mapped = Media.open(MediaKind.MAPPED, "p", dir.resolve("p.img"), GEOMETRY);
             BlockDevice file = Media.open(MediaKind.FILE, "f", dir.resolve("f.img"), GEOMETRY)) {
            assertThat(memory).isInstanceOf(MemoryBlockDevice.class);
            assertThat(mapped).isInstanceOf(MappedFileBlockDevice.class);
            assertThat(file).isInstanceOf(DirectFileBlockDevice.class);
            assertThat(mapped.name()).isEqualTo("p");
            assertThat(file.geometry()).isEqualTo(GEOMETRY);
        }
    }

    @ParameterizedTest
    @EnumSource(value = MediaKind.class, names = {"MAPPED", "FILE"})
    void openExistingTakesTheGeometryFromTheFileLength(MediaKind kind) {
        Path path = dir.resolve(kind + ".img");
        ByteBuffer data = ByteBuffer.allocateDirect(4096);
        byte[] bytes = new byte[4096];
        new Random(50).nextBytes(bytes);
        data.put(0, bytes);
        try (BlockDevice device = Media.open(kind, "d", path, GEOMETRY)) {
            device.write(63, 1, data, 0);
            device.flush();
        }
        try (BlockDevice device = Media.openExisting(kind, path, 512)) {
            assertThat(device.geometry()).isEqualTo(new BlockGeometry(512, 64 * 8));
            assertThat(device.name()).isEqualTo(kind + ".img");
            ByteBuffer back = ByteBuffer.allocate(4096);
            device.read(63 * 8, 8, back, 0);
            assertThat(back.array()).isEqualTo(bytes);
        }
    }

    @Test
    void openExistingRefusesMissingFilesLengthsThatAreNoBlockMultipleAndMemory() throws Exception {
        assertThatThrownBy(() -> Media.openExisting(MediaKind.FILE, dir.resolve("missing.img"), 4096))
                .isInstanceOf(CoreException.class).hasMessageContaining("missing.img");
        assertThat(dir.resolve("missing.img")).doesNotExist();
        Path odd = dir.resolve("odd.img");
        try (RandomAccessFile file = new RandomAccessFile(odd.toFile(), "rw")) {
            file.setLength(4096 + 512);
        }
        assertThatThrownBy(() -> Media.openExisting(MediaKind.MAPPED, odd, 4096))
                .isInstanceOf(CoreException.class)
                .satisfies(e -> assertThat(((CoreException) e).code()).isEqualTo(CoreError.MISALIGNED));
        assertThatThrownBy(() -> Media.openExisting(MediaKind.MEMORY, odd, 4096))
                .isInstanceOf(CoreException.class)
                .satisfies(e -> assertThat(((CoreException) e).code()).isEqualTo(CoreError.INVALID_ARGUMENT));
    }

    @Test
    void fileKindsNeedAPath() {
        assertThatThrownBy(() -> Media.open(MediaKind.FILE, "f", null, GEOMETRY))
                .isInstanceOf(CoreException.class)
                .hasMessageContaining("needs a file path");
    }
}
