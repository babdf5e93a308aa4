package dev.scemu.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.scemu.backup.internal.DirectoryBackupTarget;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import dev.scemu.core.Media;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No downgrade of a backup's protection (docs/backup-format.md, "Header MAC" and "Versions"):
 * with a password an unencrypted image is refused ({@code NOT_ENCRYPTED}), and an attacker who
 * edits any header field of an encrypted image and repairs every unkeyed check (CRCs, whole-image
 * hash) still makes verify fail with a clear error. No refusal writes to the destination or the
 * backup target.
 */
class ProtectionDowngradeTest {

    static final char[] PASSWORD = "downgrade".toCharArray();
    static final int BLOCK_SIZE = 512;
    static final int BLOCKS = 40;

    @TempDir
    Path dir;

    private static BlockDevice volume(long seed) {
        BlockDevice device = Media.memory("src", new BlockGeometry(BLOCK_SIZE, BLOCKS));
        Random random = new Random(seed);
        ByteBuffer block = ByteBuffer.allocateDirect(BLOCK_SIZE);
        for (long lba = 0; lba < 32; lba++) {
            Volumes.fill(block, random, true);
            device.write(lba, 1, block, 0);
        }
        return device;
    }

    private static BackupOptions options(char[] password) {
        BackupOptions options = BackupOptions.defaults().withChunkSizeBytes(8 * BLOCK_SIZE).withThreads(1)
                .withKdf(KdfParameters.TEST_ONLY_WEAK).withUserLabel("weekly");
        return password == null ? options : options.withPassword(password);
    }

    private static BackupSource source(BlockDevice device, String volumeId, String token) {
        return BackupSource.builder(device).volumeId(volumeId).snapshotToken(token)
                .changedExtents(base -> List.of(new Extent(2, 5), new Extent(20, 3))).build();
    }

    private static String backup(Path target, long seed, String id, String base, char[] password) {
        try (BlockDevice device = volume(seed)) {
            BackupOptions options = options(password).withImageId(id);
            return BackupEngine.backup(source(device, "vol-a", "t-" + id), BackupTarget.directory(target),
                    base == null ? options : options.withBase(base)).imageId();
        }
    }

    /** Every file under {@code root} with its bytes (the whole state of a directory target). */
    private static Map<String, byte[]> files(Path root) {
        Map<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                files.put(root.relativize(p).toString(), Files.readAllBytes(p));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return files;
    }

    private static BackupError code(Runnable action) {
        BackupException e = catchThrowableOfType(BackupException.class, action::run);
        assertThat(e).as("a BackupException").isNotNull();
        return e.code();
    }

    /** Restore must fail with {@code expected} (if not null) and write nothing to the destination. */
    private static void assertRestoreRefused(BackupTarget target, String id, char[] password, BackupError expected) {
        try (BlockDevice dst = Volumes.patterned("dst", BLOCK_SIZE, BLOCKS)) {
            byte[] before = Volumes.content(dst);
            dst.meter().reset();
            BackupError code = code(() -> BackupEngine.restore(target, id, password, dst, RestoreOptions.defaults()));
            if (expected != null) {
                assertThat(code).as("restore of %s", id).isEqualTo(expected);
            }
            assertThat(dst.meter().snapshot().receivedWrite().bytes()).as("bytes restored").isZero();
            assertThat(Volumes.content(dst)).isEqualTo(before);
        }
    }

    @Test
    void aForgedUnencryptedImageWithTheSameIdIsRefusedWhenAPasswordIsGiven() throws IOException {
        Path real = dir.resolve("real");
        Path forgery = dir.resolve("forgery");
        backup(real, 1, "img", null, PASSWORD);
        backup(forgery, 2, "img", null, null); // other data, same id, no encryption
        DirectoryBackupTarget target = new DirectoryBackupTarget(real);
        Files.copy(new DirectoryBackupTarget(forgery).imagePath("img"), target.imagePath("img"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Map<String, byte[]> before = files(real);

        BackupException verify = catchThrowableOfType(BackupException.class,
                () -> BackupEngine.verify(target, "img", PASSWORD.clone()));
        assertThat(verify.code()).isEqualTo(BackupError.NOT_ENCRYPTED);
        assertThat(verify.getMessage()).contains("img").contains("not encrypted").contains("password");
        assertThat(code(() -> BackupEngine.info(target, "img", PASSWORD.clone()))).isEqualTo(BackupError.NOT_ENCRYPTED);
        assertRestoreRefused(target, "img", PASSWORD.clone(), BackupError.NOT_ENCRYPTED);
        assertThat(files(real)).as("the target is unchanged").containsExactlyEntriesOf(before);
        // without a password an unencrypted image is only checksummed: it verifies (nothing to downgrade)
        assertThat(BackupEngine.verify(target, "img", null).chain()).hasSize(1);
    }

    @Test
    void anUnencryptedBaseIsRefusedWithAPasswordWhenBackingUpAndWhenRestoring() throws IOException {
        Path plain = dir.resolve("plain");
        backup(plain, 3, "full", null, null);
        Map<String, byte[]> before = files(plain);
        BackupException e = catchThrowableOfType(BackupException.class, () -> backup(plain, 4, "inc", "full", PASSWORD));
        assertThat(e.code()).isEqualTo(BackupError.NOT_ENCRYPTED);
        assertThat(e.getMessage()).contains("full");
        assertThat(files(plain)).as("nothing written to the target").containsExactlyEntriesOf(before);

        // an encrypted chain whose base is swapped for an unencrypted image with the same id
        Path chain = dir.resolve("chain");
        backup(chain, 3, "full", null, PASSWORD);
        backup(chain, 4, "inc", "full", PASSWORD);
        DirectoryBackupTarget target = new DirectoryBackupTarget(chain);
        BackupEngine.verify(target, "inc", PASSWORD.clone());
        Files.copy(new DirectoryBackupTarget(plain).imagePath("full"), target.imagePath("full"),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertThat(code(() -> BackupEngine.verify(target, "inc", PASSWORD.clone()))).isEqualTo(BackupError.NOT_ENCRYPTED);
        assertRestoreRefused(target, "inc", PASSWORD.clone(), BackupError.NOT_ENCRYPTED);
    }

    @Test
    void aWrongOrMissingPasswordIsStillAClearError() {
        Path real = dir.resolve("real");
        backup(real, 5, "img", null, PASSWORD);
        BackupTarget target = BackupTarget.directory(real);
        BackupException wrong = catchThrowableOfType(BackupException.class,
                () -> BackupEngine.verify(target, "img", "not it".toCharArray()));
        assertThat(wrong.code()).isEqualTo(BackupError.WRONG_PASSWORD);
        assertThat(wrong.getMessage()).contains("password does not match image img");
        assertThat(code(() -> BackupEngine.verify(target, "img", null))).isEqualTo(BackupError.PASSWORD_REQUIRED);
        assertRestoreRefused(target, "img", "not it".toCharArray(), BackupError.WRONG_PASSWORD);
        assertThat(BackupEngine.verify(target, "img", PASSWORD.clone()).chain()).hasSize(1);
    }

    /** A header edit an attacker could make, and the error verify must give. */
    private record Edit(String field, Consumer<ByteBuffer> change, BackupError expected) {
    }

    private static Consumer<ByteBuffer> addToU32(ImageForgery.Field f, int delta) {
        return b -> b.putInt(f.offset(), b.getInt(f.offset()) + delta);
    }

    private static Consumer<ByteBuffer> flipLastByte(ImageForgery.Field f) {
        return b -> b.put(f.offset() + f.length() - 1, (byte) (b.get(f.offset() + f.length() - 1) ^ 0x01));
    }

    @Test
    void everyHeaderFieldChangedWithTheChecksumsRepairedFailsVerifyWithAClearError() throws IOException {
        Path chain = dir.resolve("chain");
        backup(chain, 6, "full", null, PASSWORD);
        backup(chain, 7, "inc", "full", PASSWORD); // an incremental: every base field is set
        DirectoryBackupTarget target = new DirectoryBackupTarget(chain);
        Path file = target.imagePath("inc");
        byte[] original = Files.readAllBytes(file);
        Map<String, ImageForgery.Field> f = ImageForgery.headerFields(original);
        List<Edit> edits = new ArrayList<>();
        BackupError auth = BackupError.AUTHENTICATION_FAILED;
        BackupError key = BackupError.WRONG_PASSWORD; // fields the key derivation reads: the key changes
        for (String name : List.of("scemuVersion", "sourceVolumeId", "snapshotToken", "userLabel", "baseImageId",
                "baseSnapshotToken", "baseImageSha256", "headerMac")) {
            edits.add(new Edit(name, flipLastByte(f.get(name)), auth));
        }
        edits.add(new Edit("createdEpochMillis", b -> b.putLong(f.get("createdEpochMillis").offset(),
                b.getLong(f.get("createdEpochMillis").offset()) - 86_400_000L), auth));
        edits.add(new Edit("blockCount", b -> b.putLong(f.get("blockCount").offset(), BLOCKS + 8), auth));
        edits.add(new Edit("chunkSizeBytes", addToU32(f.get("chunkSizeBytes"), 8 * BLOCK_SIZE), auth));
        edits.add(new Edit("compressionLevel", b -> b.put(f.get("compressionLevel").offset(), (byte) 9), auth));
        edits.add(new Edit("kdfMemoryKiB", addToU32(f.get("kdfMemoryKiB"), 8), key));
        edits.add(new Edit("kdfIterations", addToU32(f.get("kdfIterations"), 1), key));
        edits.add(new Edit("kdfParallelism", addToU32(f.get("kdfParallelism"), 1), key));
        edits.add(new Edit("salt", flipLastByte(f.get("salt")), key));
        edits.add(new Edit("keyCheck", flipLastByte(f.get("keyCheck")), key));
        // the downgrade: clear the encrypted flag and the kdf byte together
        edits.add(new Edit("recordFlags+kdf", b -> {
            b.putShort(f.get("recordFlags").offset(), (short) (b.getShort(f.get("recordFlags").offset()) & ~1));
            b.put(f.get("kdf").offset(), (byte) 0);
        }, BackupError.NOT_ENCRYPTED));
        edits.add(new Edit("recordVersion", b -> b.putShort(f.get("recordVersion").offset(), (short) 1),
                BackupError.CORRUPT_IMAGE)); // a version 1 header has no room for the MAC: it does not parse
        Map<String, byte[]> before = files(chain);
        for (Edit edit : edits) {
            byte[] forged = ImageForgery.forge(original, edit.change());
            assertThat(forged).as(edit.field()).isNotEqualTo(original);
            Files.write(file, forged);
            BackupException e = catchThrowableOfType(BackupException.class,
                    () -> BackupEngine.verify(target, "inc", PASSWORD.clone()));
            assertThat(e).as("verify with %s changed", edit.field()).isNotNull();
            assertThat(e.code()).as("verify with %s changed: %s", edit.field(), e.getMessage()).isEqualTo(edit.expected());
            if (edit.expected() == auth) {
                assertThat(e.getMessage()).as(edit.field()).contains("header MAC does not verify");
            }
            assertRestoreRefused(target, "inc", PASSWORD.clone(), edit.expected());
        }
        Files.write(file, original);
        assertThat(files(chain)).containsExactlyEntriesOf(before);
        assertThat(BackupEngine.verify(target, "inc", PASSWORD.clone()).chain()).hasSize(2);
    }

    @Test
    void everyHeaderByteChangedWithTheChecksumsRepairedFailsVerifyAndRestoreWritesNothing() throws IOException {
        Path real = dir.resolve("real");
        backup(real, 8, "img", null, PASSWORD);
        DirectoryBackupTarget target = new DirectoryBackupTarget(real);
        Path file = target.imagePath("img");
        byte[] original = Files.readAllBytes(file);
        int headerLength = ImageForgery.headerLength(original);
        int tried = 0;
        for (int offset = 0; offset < headerLength; offset++) {
            if (offset >= 8 && offset < 16) {
                continue; // record length (would move every record) and the CRC (repaired anyway)
            }
            int at = offset;
            byte[] forged = ImageForgery.forge(original, b -> b.put(at, (byte) (b.get(at) ^ 0xFF)));
            Files.write(file, forged);
            BackupException e = catchThrowableOfType(BackupException.class,
                    () -> BackupEngine.verify(target, "img", PASSWORD.clone()));
            assertThat(e).as("verify with header byte %d of %d changed", offset, headerLength).isNotNull();
            assertRestoreRefused(target, "img", PASSWORD.clone(), null);
            tried++;
        }
        Files.write(file, original);
        assertThat(tried).isGreaterThan(150);
        assertThat(BackupEngine.verify(target, "img", PASSWORD.clone()).chain()).hasSize(1);
    }
}
