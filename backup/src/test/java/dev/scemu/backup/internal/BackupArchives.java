package dev.scemu.backup.internal;

import dev.scemu.backup.BackupEngine;
import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.backup.BackupOptions;
import dev.scemu.backup.BackupSource;
import dev.scemu.backup.BackupTarget;
import dev.scemu.backup.ImageReader;
import dev.scemu.backup.ImageWriter;
import dev.scemu.backup.KdfParameters;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Random;

/** Real backup archives made with the backup module's own engine, and a read-only in-memory target serving any bytes. */
final class BackupArchives {

    static final int BLOCK = 4096;
    static final int BLOCKS = 48;
    static final int CHUNK = 16 * BLOCK;
    static final char[] PASSWORD = "correct horse".toCharArray();

    private BackupArchives() {
    }

    /** The bytes of a committed image of a small volume (data, zero runs), compressed or not, encrypted or not. */
    static byte[] image(String imageId, int compressionLevel, char[] password) {
        Path directory;
        try {
            directory = Files.createTempDirectory("scemu-fuzz-backup");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try (BlockDevice volume = Media.memory("vol", new BlockGeometry(BLOCK, BLOCKS));
             BackupTarget target = BackupTarget.directory(directory)) {
            Random random = new Random(imageId.hashCode());
            byte[] data = new byte[BLOCKS * BLOCK];
            for (int block = 0; block < BLOCKS; block++) {
                if (block % 5 != 2 && block < 40) { // some zero blocks and a zero tail: unused regions are not stored
                    byte[] one = new byte[BLOCK];
                    random.nextBytes(one);
                    if (block % 3 == 0) {
                        java.util.Arrays.fill(one, 0, BLOCK / 2, (byte) 'a'); // compressible
                    }
                    System.arraycopy(one, 0, data, block * BLOCK, BLOCK);
                }
            }
            volume.write(0, BLOCKS, ByteBuffer.allocateDirect(data.length).put(data).flip(), 0);
            BackupOptions options = BackupOptions.defaults().withImageId(imageId).withCompressionLevel(compressionLevel)
                    .withChunkSizeBytes(CHUNK).withThreads(1).withKdf(KdfParameters.TEST_ONLY_WEAK);
            if (password != null) {
                options = options.withPassword(password.clone());
            }
            BackupEngine.backup(BackupSource.ofDevice(volume, "vol", "snap-1"), target, options);
            byte[] bytes = Files.readAllBytes(directory.resolve(imageId + ".scb"));
            BackupEngine.verify(inMemory(imageId, bytes), imageId, password);
            return bytes;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            deleteTree(directory);
        }
    }

    private static void deleteTree(Path directory) {
        try (var paths = Files.walk(directory)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp directory left behind is harmless
        }
    }

    /** An image reader over {@code bytes}. */
    static ImageReader reader(byte[] bytes) {
        return new ImageReader() {
            @Override
            public long size() {
                return bytes.length;
            }

            @Override
            public void read(long offset, ByteBuffer dst) {
                if (offset < 0 || offset > bytes.length - dst.remaining()) {
                    throw new BackupException(BackupError.TRUNCATED_IMAGE, "read of " + dst.remaining() + " bytes at "
                            + offset + " beyond the image of " + bytes.length + " bytes");
                }
                dst.put(bytes, (int) offset, dst.remaining());
            }

            @Override
            public void close() {
            }
        };
    }

    /** A target holding exactly one committed image, {@code bytes} under {@code imageId}; it cannot be written. */
    static BackupTarget inMemory(String imageId, byte[] bytes) {
        return new BackupTarget() {
            @Override
            public String name() {
                return "memory:" + imageId;
            }

            @Override
            public ImageWriter createImage(String id) {
                throw new AssertionError("verify/restore created image " + id);
            }

            @Override
            public ImageWriter resumeImage(String id, long durableLength, String resumeState) {
                throw new AssertionError("verify/restore resumed image " + id);
            }

            @Override
            public ImageReader openImage(String id) {
                if (!id.equals(imageId)) {
                    throw new BackupException(BackupError.IMAGE_NOT_FOUND, "no image " + id);
                }
                return reader(bytes);
            }

            @Override
            public boolean exists(String id) {
                return id.equals(imageId);
            }

            @Override
            public List<String> list() {
                return List.of(imageId);
            }

            @Override
            public void delete(String id) {
                throw new AssertionError("verify/restore deleted image " + id);
            }

            @Override
            public void writeCheckpoint(String name, byte[] checkpoint) {
                throw new AssertionError("verify wrote checkpoint " + name);
            }

            @Override
            public Optional<byte[]> readCheckpoint(String name) {
                return Optional.empty();
            }

            @Override
            public void deleteCheckpoint(String name) {
            }

            @Override
            public void close() {
            }
        };
    }
}
