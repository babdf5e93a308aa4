package dev.scemu.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The directory target's image writer: what it appends is the image byte for byte (writeback is
 * started every few MiB along the way, which changes nothing one can read), and every file it
 * opened (its channel, and the second descriptor writeback is started through) is closed by
 * commit, abort and close alike.
 */
class DirectoryTargetWriterTest {

    @TempDir
    Path dir;

    @Test
    void appendedBytesAreTheImageAndEveryDescriptorIsClosedAfterwards() throws IOException {
        byte[] expected = new byte[21 << 20];
        new Random(5).nextBytes(expected);
        try (BackupTarget target = BackupTarget.directory(dir)) {
            ImageWriter writer = target.createImage("w");
            for (int offset = 0; offset < expected.length; offset += 1 << 20) {
                writer.write(ByteBuffer.wrap(expected, offset, Math.min(1 << 20, expected.length - offset)));
                writer.recordBoundary();
            }
            assertThat(descriptorsUnder(dir)).as("open while writing").isPositive();
            writer.sync();
            assertThat(writer.durableLength()).isEqualTo(expected.length);
            writer.commit();
            assertThat(descriptorsUnder(dir)).as("after commit").isZero();
            try (ImageReader reader = target.openImage("w")) {
                ByteBuffer back = ByteBuffer.allocate(expected.length);
                reader.read(0, back);
                assertThat(back.array()).isEqualTo(expected);
            }

            ImageWriter dropped = target.createImage("x");
            dropped.write(ByteBuffer.wrap(expected, 0, 9 << 20));
            dropped.abort();
            assertThat(descriptorsUnder(dir)).as("after abort").isZero();
            ImageWriter closed = target.createImage("y");
            closed.write(ByteBuffer.wrap(expected, 0, 9 << 20));
            closed.close();
            closed.close();
            assertThat(descriptorsUnder(dir)).as("after close, twice").isZero();
        }
    }

    /** Open descriptors of this process on files under {@code directory} (Linux /proc). */
    private static long descriptorsUnder(Path directory) throws IOException {
        Path real = directory.toRealPath();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).startsWith(real);
                } catch (IOException e) {
                    return false; // closed meanwhile (the listing's own descriptor)
                }
            }).count();
        }
    }
}
