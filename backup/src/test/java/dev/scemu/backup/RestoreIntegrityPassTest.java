package dev.scemu.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.backup.internal.DirectoryBackupTarget;
import dev.scemu.core.BlockDevice;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.function.Consumer;
import net.openhft.hashing.LongHashFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The restore's integrity pass (the default, {@link RestoreOptions#verifyFirst()}): every chunk is
 * checked against the authenticated index before the first write, and each chunk is decoded once.
 * A damaged or forged last chunk is refused with nothing written (while a restore without the
 * pass writes the chunks before it, which shows the pass is what protects the destination); a
 * forged unencrypted chunk whose every hash was recomputed is refused too; a wrong password is
 * refused before anything is read; images with the old 1 MiB chunk windows still restore.
 */
class RestoreIntegrityPassTest {

    static final char[] PASSWORD = "integrity pass".toCharArray();
    static final int BLOCK_SIZE = 4096;
    static final long BLOCKS = 2048; // 8 MiB: 8 chunks of 1 MiB

    @TempDir
    Path dir;

    private static BackupOptions options(boolean encrypted, int chunkSizeBytes) {
        BackupOptions o = BackupOptions.defaults().withChunkSizeBytes(chunkSizeBytes).withThreads(2)
                .withKdf(KdfParameters.TEST_ONLY_WEAK).withImageId("img");
        return encrypted ? o.withPassword(PASSWORD) : o;
    }

    private ImageInfo backup(DirectoryBackupTarget target, boolean encrypted, int chunkSizeBytes) {
        try (BlockDevice source = Volumes.create("src", BLOCK_SIZE, BLOCKS, Volumes.Kind.DENSE, 7)) {
            return BackupEngine.backup(BackupSource.ofDevice(source, "v", "s"), target,
                    options(encrypted, chunkSizeBytes)).info();
        }
    }

    @ParameterizedTest(name = "encrypted={0}")
    @ValueSource(booleans = {false, true})
    void damagedLastChunkIsRefusedBeforeTheFirstWrite(boolean encrypted) throws Exception {
        DirectoryBackupTarget target = new DirectoryBackupTarget(dir);
        ImageInfo info = backup(target, encrypted, 1 << 20);
        assertThat(info.chunkCount()).isEqualTo(8);
        char[] password = encrypted ? PASSWORD : null;
        Path file = target.imagePath("img");
        byte[] image = Files.readAllBytes(file);
        Chunk last = Chunk.of(image, (int) info.chunkCount() - 1);
        image[last.storedOffset() + last.storedLength() / 2] ^= 0x40;
        Files.write(file, image);
        try (BlockDevice dst = Volumes.patterned("dst", BLOCK_SIZE, BLOCKS)) {
            byte[] before = Volumes.content(dst);
            dst.meter().reset();
            assertThatThrownBy(() -> BackupEngine.restore(target, "img", password, dst, RestoreOptions.defaults()))
                    .isInstanceOf(BackupException.class)
                    .hasMessageContaining("chunk " + last.sequence())
                    .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.CORRUPT_IMAGE);
            assertThat(dst.meter().snapshot().receivedWrite().bytes()).isZero();
            assertThat(Volumes.content(dst)).isEqualTo(before);

            // without the integrity pass, the chunks before the damaged one are written first
            assertThatThrownBy(() -> BackupEngine.restore(target, "img", password, dst,
                    RestoreOptions.defaults().withVerifyFirst(false).withThreads(1)))
                    .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.CORRUPT_IMAGE);
            assertThat(dst.meter().snapshot().receivedWrite().bytes()).isPositive();
        }
    }

    /** A chunk record that fails its CRC is named with its image offset, once ("at image offset N at image offset N" before). */
    @Test
    void aDamagedChunkRecordIsNamedWithItsOffsetOnce() throws Exception {
        DirectoryBackupTarget target = new DirectoryBackupTarget(dir);
        ImageInfo info = backup(target, false, 1 << 20);
        Path file = target.imagePath("img");
        byte[] image = Files.readAllBytes(file);
        Chunk chunk = Chunk.of(image, (int) info.chunkCount() / 2);
        image[chunk.recordOffset() + chunk.recordLength() - 1] ^= 0x01; // last byte of the record payload
        Files.write(file, image);
        assertThatThrownBy(() -> BackupEngine.verify(target, "img", null))
                .isInstanceOf(BackupException.class)
                .satisfies(e -> assertThat(e.getMessage().split("at image offset", -1))
                        .as("'at image offset' once in: %s", e.getMessage()).hasSize(2))
                .hasMessageContaining("chunk " + chunk.sequence() + " at image offset " + chunk.recordOffset());
    }

    @Test
    void forgedUnencryptedChunkWithEveryHashRecomputedIsRefusedBeforeTheFirstWrite() throws Exception {
        DirectoryBackupTarget target = new DirectoryBackupTarget(dir);
        ImageInfo info = backup(target, false, 1 << 20);
        Path file = target.imagePath("img");
        byte[] image = Files.readAllBytes(file);
        int ordinal = (int) info.chunkCount() - 1;
        Chunk last = Chunk.of(image, ordinal);
        assertThat(last.flags() & 1).as("zstd-compressed").isEqualTo(1);
        // damage the zstd data, keep its frame header; then repair xxHash3, record CRC, index SHA-256,
        // whole-image hash and trailer CRC, as a forger would (there is no MAC without a password)
        byte[] forged = forgeChunk(image, ordinal, b -> {
            for (int i = last.storedOffset() + 64; i < last.storedOffset() + last.storedLength() - 16; i += 97) {
                b.put(i, (byte) (b.get(i) ^ 0x5A));
            }
        });
        Files.write(file, forged);
        try (BlockDevice dst = Volumes.patterned("dst", BLOCK_SIZE, BLOCKS)) {
            byte[] before = Volumes.content(dst);
            dst.meter().reset();
            assertThatThrownBy(() -> BackupEngine.restore(target, "img", null, dst, RestoreOptions.defaults()))
                    .isInstanceOf(BackupException.class)
                    .hasMessageContaining("chunk " + last.sequence())
                    .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.CORRUPT_IMAGE);
            assertThat(dst.meter().snapshot().receivedWrite().bytes()).isZero();
            assertThat(Volumes.content(dst)).isEqualTo(before);
        }
    }

    @Test
    void wrongPasswordIsRefusedWithNothingWritten() {
        DirectoryBackupTarget target = new DirectoryBackupTarget(dir);
        backup(target, true, 1 << 20);
        try (BlockDevice dst = Volumes.patterned("dst", BLOCK_SIZE, BLOCKS)) {
            byte[] before = Volumes.content(dst);
            dst.meter().reset();
            assertThatThrownBy(() -> BackupEngine.restore(target, "img", "wrong".toCharArray(), dst,
                    RestoreOptions.defaults()))
                    .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.WRONG_PASSWORD);
            assertThat(dst.meter().snapshot().receivedWrite().bytes()).isZero();
            assertThat(Volumes.content(dst)).isEqualTo(before);
        }
    }

    @ParameterizedTest(name = "encrypted={0}")
    @ValueSource(booleans = {false, true})
    void oldOneMibChunkImagesAndTheNewDefaultBothRestore(boolean encrypted) {
        char[] password = encrypted ? PASSWORD : null;
        try (BlockDevice source = Volumes.create("src", BLOCK_SIZE, 3000, Volumes.Kind.SPARSE, 3);
             BackupTarget target = BackupTarget.directory(dir)) {
            for (int chunkSize : new int[] {1 << 20, 8 << 20}) {
                String id = "img-" + chunkSize;
                BackupOptions o = options(encrypted, chunkSize).withImageId(id).withThreads(3);
                ImageInfo info = BackupEngine.backup(BackupSource.ofDevice(source, "v", "s"), target, o).info();
                assertThat(info.chunkSizeBytes()).isEqualTo(chunkSize);
                try (BlockDevice dst = Volumes.patterned("dst", BLOCK_SIZE, 3000)) {
                    RestoreResult result = BackupEngine.restore(target, id, password, dst,
                            RestoreOptions.defaults().withThreads(3));
                    assertThat(result.dataBytes()).isEqualTo(info.storedBlockCount() * BLOCK_SIZE);
                    Volumes.assertSameBlocks(source, dst, 3000);
                }
            }
        }
        assertThat(BackupOptions.defaults().chunkSizeBytes()).isEqualTo(8 << 20);
    }

    @Test
    void chunkBuffersAreFreedWhenTheOperationEnds() {
        java.lang.management.BufferPoolMXBean direct = java.lang.management.ManagementFactory
                .getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class).stream()
                .filter(pool -> pool.getName().equals("direct")).findFirst().orElseThrow();
        try (BlockDevice source = Volumes.create("src", BLOCK_SIZE, 6144, Volumes.Kind.DENSE, 5);
             BlockDevice dst = Volumes.patterned("dst", BLOCK_SIZE, 6144);
             BackupTarget target = BackupTarget.directory(dir)) {
            long before = direct.getMemoryUsed();
            BackupOptions o = options(true, 8 << 20).withThreads(2);
            BackupEngine.backup(BackupSource.ofDevice(source, "v", "s"), target, o);
            BackupEngine.restore(target, "img", PASSWORD, dst, RestoreOptions.defaults().withThreads(2));
            BackupEngine.verify(target, "img", PASSWORD);
            // three 8 MiB chunks: each operation allocates three slots of 3 x 8 MiB (> 70 MiB); all freed at its end
            assertThat(direct.getMemoryUsed() - before).as("direct memory still held").isLessThan(4L << 20);
            Volumes.assertSameBlocks(source, dst, 6144);
        }
    }

    /** A chunk of an image, located through the trailer's index. */
    record Chunk(int recordOffset, int recordLength, int storedOffset, int storedLength, int flags, long sequence,
                 int indexEntryOffset) {

        static Chunk of(byte[] image, int ordinal) {
            ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
            int trailerPayload = (int) b.getLong(image.length - 28 + 16) + 16;
            int entry = trailerPayload + 108 + ordinal * 68;
            int offset = (int) b.getLong(entry);
            int length = b.getInt(entry + 8);
            int recordLength = b.getInt(offset + 8);
            return new Chunk(offset, recordLength, offset + recordLength, length - recordLength,
                    b.getShort(offset + 6), b.getLong(offset + 16), entry);
        }
    }

    /** A copy of {@code image} with {@code edit} applied to chunk {@code ordinal} and every unkeyed check repaired. */
    static byte[] forgeChunk(byte[] image, int ordinal, Consumer<ByteBuffer> edit) throws Exception {
        byte[] copy = image.clone();
        ByteBuffer b = ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN);
        Chunk c = Chunk.of(copy, ordinal);
        edit.accept(b);
        b.putLong(c.recordOffset() + 16 + 28, LongHashFunction.xx3().hashBytes(copy, c.storedOffset(), c.storedLength()));
        ImageForgery.reseal(b, c.recordOffset(), c.recordLength());
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        sha.update(copy, c.recordOffset(), c.recordLength() + c.storedLength());
        b.put(c.indexEntryOffset() + 36, sha.digest());
        return ImageForgery.forge(copy, x -> { });
    }
}
