package dev.scemu.backup;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * What an attacker without the password can do to an image: edit header bytes in place, then
 * repair everything that is not keyed (the header's CRC-32C, the whole-image SHA-256 in the
 * trailer and the trailer's CRC-32C), so that only the keyed checks (key check, header MAC,
 * image MAC, GCM tags) can notice. Offsets follow docs/backup-format.md.
 */
final class ImageForgery {

    /** One header field: image offset and length in bytes. */
    record Field(int offset, int length) {
    }

    private ImageForgery() {
    }

    /** The fields of the header record of {@code image} (version 2 layout), by name, in order. */
    static Map<String, Field> headerFields(byte[] image) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        Map<String, Field> fields = new LinkedHashMap<>();
        fields.put("recordVersion", new Field(4, 2));
        fields.put("recordFlags", new Field(6, 2));
        int[] at = {16};
        Consumer<String> string = name -> {
            int length = b.getShort(at[0]) & 0xFFFF;
            fields.put(name, new Field(at[0] + 2, length));
            at[0] += 2 + length;
        };
        java.util.function.BiConsumer<String, Integer> fixed = (name, length) -> {
            fields.put(name, new Field(at[0], length));
            at[0] += length;
        };
        string.accept("imageId");
        fixed.accept("createdEpochMillis", 8);
        string.accept("scemuVersion");
        string.accept("sourceVolumeId");
        string.accept("snapshotToken");
        fixed.accept("blockSize", 4);
        fixed.accept("blockCount", 8);
        fixed.accept("chunkSizeBytes", 4);
        string.accept("userLabel");
        string.accept("baseImageId");
        string.accept("baseSnapshotToken");
        fixed.accept("compression", 1);
        fixed.accept("compressionLevel", 1);
        fixed.accept("kdf", 1);
        fixed.accept("kdfMemoryKiB", 4);
        fixed.accept("kdfIterations", 4);
        fixed.accept("kdfParallelism", 4);
        fixed.accept("salt", 16);
        fixed.accept("keyCheck", 32);
        fixed.accept("baseImageSha256", 32);
        fixed.accept("headerMac", 32);
        if (at[0] != headerLength(image)) {
            throw new AssertionError("header fields end at " + at[0] + ", the record is " + headerLength(image) + " bytes");
        }
        return fields;
    }

    static int headerLength(byte[] image) {
        return ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).getInt(8);
    }

    /** A copy of {@code image} with {@code edit} applied and every unkeyed check repaired. */
    static byte[] forge(byte[] image, Consumer<ByteBuffer> edit) {
        byte[] forged = image.clone();
        ByteBuffer b = ByteBuffer.wrap(forged).order(ByteOrder.LITTLE_ENDIAN);
        edit.accept(b);
        int headerLength = headerLength(forged);
        reseal(b, 0, headerLength);
        int size = forged.length;
        long trailerOffset = b.getLong(size - 28 + 16);
        int trailerLength = b.getInt(size - 28 + 24);
        int t = (int) trailerOffset + 16;
        long chunkCount = b.getLong(t);
        long mapOffset = b.getLong(t + 32);
        int mapLength = b.getInt(t + 40);
        MessageDigest whole = sha256();
        whole.update(sha256().digest(java.util.Arrays.copyOfRange(forged, 0, headerLength)));
        for (int i = 0; i < chunkCount; i++) {
            whole.update(forged, t + 108 + i * 68 + 36, 32);
        }
        whole.update(sha256().digest(java.util.Arrays.copyOfRange(forged, (int) mapOffset, (int) mapOffset + mapLength)));
        b.put(t + 44, whole.digest());
        reseal(b, (int) trailerOffset, trailerLength);
        return forged;
    }

    /** Sets the crc32c of the record at {@code offset} (crc field taken as zero). */
    static void reseal(ByteBuffer b, int offset, int length) {
        b.putInt(offset + 12, 0);
        CRC32C crc = new CRC32C();
        crc.update(b.array(), offset, length);
        b.putInt(offset + 12, (int) crc.getValue());
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
