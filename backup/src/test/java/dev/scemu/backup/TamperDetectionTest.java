package dev.scemu.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import dev.scemu.backup.internal.DirectoryBackupTarget;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every byte of a small image flipped in turn, and the image cut short at many lengths. */
class TamperDetectionTest {

    static final char[] PASSWORD = "tamper".toCharArray();
    static final int BLOCK_SIZE = 512;
    static final int BLOCKS = 40;

    @TempDir
    Path dir;

    private static BlockDevice smallVolume() {
        BlockDevice device = Media.memory("src", new BlockGeometry(BLOCK_SIZE, BLOCKS));
        Random random = new Random(42);
        java.nio.ByteBuffer block = java.nio.ByteBuffer.allocateDirect(BLOCK_SIZE);
        for (long lba = 0; lba < 32; lba++) {
            if (lba % 5 != 3) {
                Volumes.fill(block, random, lba != 7); // text-like blocks and one random block
                device.write(lba, 1, block, 0);
            }
        }
        return device;
    }

    private String backup(DirectoryBackupTarget target, boolean encrypted) {
        BackupOptions options = BackupOptions.defaults().withChunkSizeBytes(8 * BLOCK_SIZE).withThreads(1)
                .withKdf(KdfParameters.TEST_ONLY_WEAK).withImageId("small");
        if (encrypted) {
            options = options.withPassword(PASSWORD);
        }
        try (BlockDevice source = smallVolume()) {
            return BackupEngine.backup(BackupSource.ofDevice(source, "v", "s"), target, options).imageId();
        }
    }

    @ParameterizedTest(name = "encrypted={0}")
    @ValueSource(booleans = {false, true})
    void detectsEveryFlippedByteAndRestoreWritesNothing(boolean encrypted) throws IOException {
        DirectoryBackupTarget target = new DirectoryBackupTarget(dir);
        String id = backup(target, encrypted);
        char[] password = encrypted ? PASSWORD : null;
        Path file = target.imagePath(id);
        long size = Files.size(file);
        assertThat(size).isBetween(500L, 8_000L);
        try (BlockDevice dst = Volumes.patterned("dst", BLOCK_SIZE, BLOCKS);
             RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            byte[] before = Volumes.content(dst);
            RestoreOptions restoreOptions = RestoreOptions.defaults().withThreads(1);
            for (long offset = 0; offset < size; offset++) {
                raf.seek(offset);
                int original = raf.read();
                raf.seek(offset);
                raf.write(original ^ 0xFF);
                try {
                    BackupEngine.verify(target, id, password);
                    fail("verify accepted the image with byte " + offset + " of " + size + " flipped");
                } catch (BackupException expected) {
                    assertThat(expected.code()).isIn(BackupError.CORRUPT_IMAGE, BackupError.TRUNCATED_IMAGE,
                            BackupError.AUTHENTICATION_FAILED, BackupError.WRONG_PASSWORD, BackupError.UNSUPPORTED_VERSION,
                            BackupError.PASSWORD_REQUIRED);
                }
                dst.meter().reset();
                assertThatThrownBy(() -> BackupEngine.restore(target, id, password, dst, restoreOptions))
                        .as("restore with byte %d flipped", offset).isInstanceOf(BackupException.class);
                assertThat(dst.meter().snapshot().receivedWrite().bytes()).as("bytes written with byte %d flipped", offset)
                        .isZero();
                raf.seek(offset);
                raf.write(original);
            }
            assertThat(Volumes.content(dst)).isEqualTo(before);
            BackupEngine.verify(target, id, password);
        }
    }

    @ParameterizedTest(name = "encrypted={0}")
    @ValueSource(booleans = {false, true})
    void detectsTruncatedImages(boolean encrypted) throws IOException {
        DirectoryBackupTarget target = new DirectoryBackupTarget(dir);
        String id = backup(target, encrypted);
        char[] password = encrypted ? PASSWORD : null;
        Path file = target.imagePath(id);
        byte[] whole = Files.readAllBytes(file);
        int size = whole.length;
        try (BlockDevice dst = Volumes.patterned("dst", BLOCK_SIZE, BLOCKS)) {
            byte[] before = Volumes.content(dst);
            for (int length : new int[] {0, 1, 15, 16, 17, 100, size / 3, size / 2, size - 200, size - 29, size - 28,
                    size - 27, size - 1}) {
                Files.write(file, java.util.Arrays.copyOf(whole, length));
                assertThatThrownBy(() -> BackupEngine.verify(target, id, password)).as("verify of %d of %d bytes", length, size)
                        .isInstanceOf(BackupException.class)
                        .extracting(e -> ((BackupException) e).code())
                        .isIn(BackupError.TRUNCATED_IMAGE, BackupError.CORRUPT_IMAGE);
                assertThatThrownBy(() -> BackupEngine.restore(target, id, password, dst, RestoreOptions.defaults()))
                        .isInstanceOf(BackupException.class);
                assertThat(dst.meter().snapshot().receivedWrite().bytes()).isEqualTo((long) BLOCKS * BLOCK_SIZE);
            }
            assertThat(Volumes.content(dst)).isEqualTo(before);
            Files.write(file, whole);
            BackupEngine.verify(target, id, password);
        }
    }
}
