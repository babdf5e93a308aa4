package dev.scemu.backup.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.scemu.backup.BackupEngine;
import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.backup.BackupOptions;
import dev.scemu.backup.BackupSource;
import dev.scemu.backup.BackupTarget;
import dev.scemu.backup.KdfParameters;
import dev.scemu.backup.RestoreOptions;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Version 1 images (written before the header MAC existed) are still read, and reading them is
 * safe (docs/backup-format.md, "Versions"): with a password an unencrypted one is
 * {@code NOT_ENCRYPTED}, and a header field changed in an encrypted one fails the image MAC.
 * The version 1 image is made from a version 2 one the way the previous build laid it out.
 */
class VersionOneImageTest {

    static final char[] PASSWORD = "old".toCharArray();
    static final int BLOCK_SIZE = 512;
    static final int BLOCKS = 64;

    @TempDir
    Path dir;

    private static BlockDevice volume() {
        BlockDevice device = Media.memory("src", new BlockGeometry(BLOCK_SIZE, BLOCKS));
        Random random = new Random(3);
        byte[] bytes = new byte[BLOCK_SIZE];
        for (long lba = 0; lba < BLOCKS; lba += 2) {
            random.nextBytes(bytes);
            device.write(lba, 1, ByteBuffer.wrap(bytes), 0);
        }
        return device;
    }

    private String backup(Path target, String id, char[] password) {
        BackupOptions options = BackupOptions.defaults().withChunkSizeBytes(8 * BLOCK_SIZE).withThreads(1)
                .withKdf(KdfParameters.TEST_ONLY_WEAK).withImageId(id).withUserLabel("old label");
        if (password != null) {
            options = options.withPassword(password);
        }
        try (BlockDevice source = volume()) {
            return BackupEngine.backup(BackupSource.ofDevice(source, "vol", "snap"), BackupTarget.directory(target), options)
                    .imageId();
        }
    }

    private static void reseal(ByteBuffer b, int offset, int length) {
        b.putInt(offset + 12, 0);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), offset, length);
        b.putInt(offset + 12, (int) crc.getValue());
    }

    private static byte[] sha(byte[] bytes, int offset, int length) {
        MessageDigest sha = ChunkCodec.newSha256();
        sha.update(bytes, offset, length);
        return sha.digest();
    }

    /**
     * The version 1 form of a version 2 image: every record version 1, the header without the
     * base image hash and the header MAC (so every later offset 64 bytes lower), chunk digests,
     * whole-image hash and (if encrypted) image MAC recomputed, every CRC resealed.
     * {@code headerEdit} (may be null) changes the version 1 header before anything is recomputed
     * except the image MAC, which is computed over the unedited header (an attacker has no key).
     */
    static byte[] toVersionOne(byte[] v2, char[] password, java.util.function.Consumer<ByteBuffer> headerEdit) {
        ByteBuffer in = ByteBuffer.wrap(v2).order(ByteOrder.LITTLE_ENDIAN);
        int shift = ArchiveLayout.SHA256_BYTES + ArchiveLayout.HEADER_MAC_BYTES;
        int headerLength = in.getInt(8);
        byte[] out = new byte[v2.length - shift];
        System.arraycopy(v2, 0, out, 0, headerLength - shift);
        System.arraycopy(v2, headerLength, out, headerLength - shift, v2.length - headerLength);
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        int h = headerLength - shift;
        b.putShort(4, (short) 1);
        b.putInt(8, h);
        reseal(b, 0, h);
        byte[] honestHeaderSha = sha(out, 0, h);
        int size = out.length;
        int locator = size - Locator.RECORD_BYTES;
        int trailer = (int) b.getLong(locator + 16) - shift;
        int trailerLength = b.getInt(locator + 24);
        int t = trailer + 16;
        long chunks = b.getLong(t);
        java.io.ByteArrayOutputStream chunkShas = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < chunks; i++) {
            int entry = t + 108 + i * Trailer.ENTRY_BYTES;
            int chunk = (int) b.getLong(entry) - shift;
            int chunkLength = b.getInt(entry + 8);
            b.putLong(entry, chunk);
            b.putShort(chunk + 4, (short) 1);
            reseal(b, chunk, b.getInt(chunk + 8));
            b.put(entry + 36, sha(out, chunk, chunkLength));
            chunkShas.write(out, entry + 36, 32);
        }
        int map = (int) b.getLong(t + 32) - shift;
        b.putLong(t + 32, map);
        b.putShort(map + 4, (short) 1);
        reseal(b, map, b.getInt(t + 40));
        byte[] mapSha = sha(out, map, b.getInt(t + 40));
        if (headerEdit != null) {
            headerEdit.accept(b);
            reseal(b, 0, h);
        }
        byte[] wholeSha = ChunkCodec.newSha256().digest(concat(sha(out, 0, h), chunkShas.toByteArray(), mapSha));
        byte[] honestSha = ChunkCodec.newSha256().digest(concat(honestHeaderSha, chunkShas.toByteArray(), mapSha));
        b.put(t + 44, wholeSha);
        if (password != null) {
            ImageHeader header = ImageHeader.fromPayload(RecordHeader.parse(Arrays.copyOf(v2, 16),
                    ArchiveLayout.HEADER_MAGIC, 2, headerLength, "v2 header"), Arrays.copyOfRange(v2, 16, headerLength));
            ImageKeys keys = ImageKeys.open(password, header);
            b.put(t + 76, keys.imageMac(honestSha, chunks));
        }
        b.putShort(trailer + 4, (short) 1);
        reseal(b, trailer, trailerLength);
        b.putLong(locator + 16, trailer);
        b.putShort(locator + 4, (short) 1);
        reseal(b, locator, Locator.RECORD_BYTES);
        return out;
    }

    private static byte[] concat(byte[]... parts) {
        ByteBuffer all = ByteBuffer.allocate(Arrays.stream(parts).mapToInt(p -> p.length).sum());
        for (byte[] p : parts) {
            all.put(p);
        }
        return all.array();
    }

    @Test
    void aVersionOneImageStillVerifiesAndRestores() throws IOException {
        for (char[] password : new char[][] {null, PASSWORD}) {
            Path target = dir.resolve(password == null ? "plain" : "secret");
            backup(target, "old", password);
            DirectoryBackupTarget t = new DirectoryBackupTarget(target);
            Path file = t.imagePath("old");
            Files.write(file, toVersionOne(Files.readAllBytes(file), password, null));
            assertThat(BackupEngine.info(t, "old", password == null ? null : password.clone()).formatVersion()).isEqualTo(1);
            BackupEngine.verify(t, "old", password == null ? null : password.clone());
            try (BlockDevice dst = Media.memory("dst", new BlockGeometry(BLOCK_SIZE, BLOCKS)); BlockDevice src = volume()) {
                BackupEngine.restore(t, "old", password == null ? null : password.clone(), dst, RestoreOptions.defaults());
                byte[] expected = new byte[BLOCKS * BLOCK_SIZE];
                byte[] actual = new byte[BLOCKS * BLOCK_SIZE];
                src.read(0, BLOCKS, ByteBuffer.wrap(expected), 0);
                dst.read(0, BLOCKS, ByteBuffer.wrap(actual), 0);
                assertThat(actual).isEqualTo(expected);
            }
        }
    }

    @Test
    void anUnencryptedVersionOneImageIsRefusedWithAPassword() throws IOException {
        backup(dir, "old", null);
        DirectoryBackupTarget t = new DirectoryBackupTarget(dir);
        Path file = t.imagePath("old");
        Files.write(file, toVersionOne(Files.readAllBytes(file), null, null));
        BackupException e = catchThrowableOfType(BackupException.class, () -> BackupEngine.verify(t, "old", PASSWORD.clone()));
        assertThat(e.code()).isEqualTo(BackupError.NOT_ENCRYPTED);
    }

    @Test
    void aChangedHeaderFieldOfAnEncryptedVersionOneImageFailsTheImageMac() throws IOException {
        backup(dir, "old", PASSWORD);
        DirectoryBackupTarget t = new DirectoryBackupTarget(dir);
        Path file = t.imagePath("old");
        byte[] v2 = Files.readAllBytes(file);
        // the label's last character: "old label" -> "old labem"
        int label = indexOf(v2, "old label".getBytes(java.nio.charset.StandardCharsets.UTF_8)) + 8;
        Files.write(file, toVersionOne(v2, PASSWORD, b -> b.put(label, (byte) 'm')));
        BackupException e = catchThrowableOfType(BackupException.class, () -> BackupEngine.verify(t, "old", PASSWORD.clone()));
        assertThat(e.code()).isEqualTo(BackupError.AUTHENTICATION_FAILED);
        assertThat(e.getMessage()).contains("image MAC");
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        throw new AssertionError("not found");
    }
}
