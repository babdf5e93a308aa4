package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link FileWriteback}: leaves the file's bytes as they are, holds one descriptor until closed, closes once. */
class FileWritebackTest {

    @TempDir
    Path dir;

    @Test
    void startingWritebackChangesNothingAndCloseReleasesTheDescriptor() throws IOException {
        Path file = dir.resolve("image");
        byte[] bytes = new byte[3 << 20];
        new java.util.Random(3).nextBytes(bytes);
        Files.write(file, bytes);
        FileWriteback writeback = FileWriteback.open(file);
        assertThat(descriptorsOf(file)).isEqualTo(com.sun.jna.Platform.isLinux() ? 1 : 0);
        writeback.start(0, bytes.length);
        writeback.start(1 << 20, 0);
        writeback.close();
        writeback.close();
        writeback.start(0, bytes.length); // closed: nothing
        assertThat(descriptorsOf(file)).isZero();
        assertThat(Files.readAllBytes(file)).isEqualTo(bytes);
    }

    /** Open descriptors of this process on {@code file} (Linux /proc; 0 elsewhere). */
    private static long descriptorsOf(Path file) throws IOException {
        Path fds = Path.of("/proc/self/fd");
        if (!Files.isDirectory(fds)) {
            return 0;
        }
        Path real = file.toRealPath();
        try (Stream<Path> list = Files.list(fds)) {
            return list.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).equals(real);
                } catch (IOException e) {
                    return false; // closed meanwhile (the listing's own descriptor)
                }
            }).count();
        }
    }
}
