package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Media#openDisk} without loop devices: what is refused by name (a directory, a character
 * device, nothing), a block device that cannot be opened (its errno named), and a read-only image
 * file opened {@code O_RDONLY} (read back from {@code /proc/self/fdinfo}) that nothing is written to.
 * Block devices that work: {@link LoopDeviceMediumTest}.
 */
class MediaDiskTest {

    @TempDir
    Path dir;

    private static CoreError codeOf(Throwable e) {
        return ((CoreException) e).code();
    }

    @Test
    void aDirectoryACharacterDeviceAndNothingAreRefusedByName() throws IOException {
        Path directory = Files.createDirectory(dir.resolve("member-dir"));
        for (boolean readOnly : new boolean[] {true, false}) {
            assertThatThrownBy(() -> Media.openDisk(directory, 4096, readOnly))
                    .isInstanceOf(CoreException.class)
                    .hasMessage("INVALID_ARGUMENT: " + directory + " is a directory, not an image file or a block device")
                    .satisfies(e -> assertThat(codeOf(e)).isEqualTo(CoreError.INVALID_ARGUMENT));
        }
        Path devNull = Path.of("/dev/null");
        assertThatThrownBy(() -> Media.diskLengthBytes(devNull))
                .hasMessage("INVALID_ARGUMENT: /dev/null is a character device, not an image file or a block device");
        Path missing = dir.resolve("missing.img");
        assertThatThrownBy(() -> Media.openDisk(missing, 512, true))
                .hasMessage("INVALID_ARGUMENT: no image file or block device at " + missing);
        assertThat(missing).doesNotExist();
    }

    @Test
    void aBlockDeviceThatCannotBeOpenedNamesTheErrno() throws Exception {
        Path node = dir.resolve("no-driver");
        // block major 240 is reserved for local/experimental use: no driver answers it, so open fails
        Process mknod = new ProcessBuilder("mknod", node.toString(), "b", "240", "0").redirectErrorStream(true).start();
        String output = new String(mknod.getInputStream().readAllBytes());
        assumeTrue(mknod.waitFor() == 0, "cannot make a block device node (mknod: " + output.strip() + "); skipping");
        for (boolean readOnly : new boolean[] {true, false}) {
            assertThatThrownBy(() -> Media.openDisk(node, 512, readOnly))
                    .isInstanceOf(CoreException.class)
                    .hasMessageStartingWith("IO_ERROR: open of block device " + node + " failed: errno=")
                    .satisfies(e -> assertThat(codeOf(e)).isEqualTo(CoreError.IO_ERROR));
        }
    }

    @Test
    void aReadOnlyImageIsOpenedReadOnlyAndNothingIsWritten() throws IOException {
        Path image = dir.resolve("member.img");
        byte[] pattern = new byte[64 * 512];
        new Random(21).nextBytes(pattern);
        Files.write(image, pattern);
        long modified = Files.getLastModifiedTime(image).toMillis();
        try (BlockDevice device = Media.openDisk(image, 512, true)) {
            assertThat(device.isReadOnly()).isTrue();
            assertThat(device.geometry()).isEqualTo(new BlockGeometry(512, 64));
            assertThat(accessModesOf(image)).as("access mode of every descriptor open on the image")
                    .containsOnly("O_RDONLY");
            ByteBuffer back = ByteBuffer.allocate(pattern.length);
            device.read(0, 64, back, 0);
            assertThat(back.array()).isEqualTo(pattern);
            ByteBuffer zeros = ByteBuffer.allocateDirect(512);
            assertThatThrownBy(() -> device.write(3, 1, zeros, 0, true))
                    .satisfies(e -> assertThat(codeOf(e)).isEqualTo(CoreError.READ_ONLY));
            assertThatThrownBy(() -> device.trim(0, 64))
                    .satisfies(e -> assertThat(codeOf(e)).isEqualTo(CoreError.READ_ONLY));
            device.flush();
        }
        assertThat(Files.readAllBytes(image)).isEqualTo(pattern);
        assertThat(Files.getLastModifiedTime(image).toMillis()).isEqualTo(modified);
        try (BlockDevice device = Media.openDisk(image, 512, false)) {
            assertThat(device.isReadOnly()).isFalse();
            assertThat(accessModesOf(image)).containsOnly("O_RDWR");
        }
    }

    @Test
    void aReadOnlyOpenNeverCreatesAFile() {
        Path missing = dir.resolve("never.img");
        assertThatThrownBy(() -> dev.scemu.core.internal.DirectFileBlockDevice.open("never", missing,
                new BlockGeometry(512, 8), dev.scemu.core.internal.DirectFileBlockDevice.Options.READ_ONLY))
                .satisfies(e -> assertThat(codeOf(e)).isEqualTo(CoreError.INVALID_ARGUMENT))
                .hasMessageContaining(missing.toString());
        assertThat(missing).doesNotExist();
    }

    @Test
    void diskLengthOfAnImageIsItsSize() throws IOException {
        Path image = dir.resolve("odd.img");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(4096 * 3 + 512);
        }
        assertThat(Media.diskLengthBytes(image)).isEqualTo(4096 * 3 + 512);
        assertThatThrownBy(() -> Media.openDisk(image, 4096, true))
                .satisfies(e -> assertThat(codeOf(e)).isEqualTo(CoreError.MISALIGNED));
    }

    /** The access mode (flags & O_ACCMODE) of each descriptor of this process open on {@code file}. */
    static List<String> accessModesOf(Path file) throws IOException {
        Path real = file.toRealPath();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).equals(real);
                } catch (IOException e) {
                    return false; // closed meanwhile (the listing's own descriptor)
                }
            }).map(fd -> {
                try {
                    String flags = Files.readAllLines(Path.of("/proc/self/fdinfo", fd.getFileName().toString()))
                            .stream().filter(l -> l.startsWith("flags:")).findFirst().orElseThrow();
                    int mode = Integer.parseInt(flags.substring("flags:".length()).strip(), 8) & 3;
                    return mode == 0 ? "O_RDONLY" : mode == 1 ? "O_WRONLY" : "O_RDWR";
                } catch (IOException e) {
                    throw new AssertionError(e);
                }
            }).toList();
        }
    }
}
