package dev.scemu.testkit.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.backup.BackupException;
import dev.scemu.backup.ImageReader;
import dev.scemu.backup.internal.ArchiveLayout;
import dev.scemu.testkit.Fuzzer;
import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;
import net.openhft.hashing.LongHashFunction;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Decoding of a chunk's stored bytes ({@code ChunkCodec.decode}: xxHash3, SHA-256 against the
 * index, AES-GCM, zstd, plain length) with the stored bytes mutated. To get past the hashes to the
 * decompressor and the length checks, the chunk header's xxHash3 and stored length and the index
 * entry's SHA-256 are recomputed for the mutated bytes, as an attacker who rewrites an unencrypted
 * image could. Reached by reflection: every class involved is package-private.
 */
class ChunkCodecFuzzTest {

    private static final String PKG = "dev.scemu.backup.internal.";

    /** One chunk of a real image: its header record, stored bytes and decoder state. */
    private record Chunk(byte[] image, Object header, byte[] headerRecord, Object indexEntry, byte[] stored, int level,
                         Object keys, String imageId) {
    }

    private static Chunk zstd;
    private static Chunk raw;
    private static Chunk encrypted;

    @BeforeAll
    static void realChunks() throws Exception {
        zstd = firstChunk(BackupArchives.image("zstd", 3, null), 3, null);
        raw = firstChunk(BackupArchives.image("raw", 0, null), 0, null);
        encrypted = firstChunk(BackupArchives.image("sealed", 3, BackupArchives.PASSWORD), 3, BackupArchives.PASSWORD);
    }

    /** The image keys ({@code ImageKeys.open}) of an encrypted image, from its header record. */
    private static Object keysOf(byte[] image, char[] password) throws Exception {
        Object headerRead = readRecord(image, 0, ArchiveLayout.HEADER_MAGIC, 1 << 20);
        Object header = FuzzSupport.invokeStatic(PKG + "ImageHeader", "fromPayload",
                new Class<?>[] {Class.forName(PKG + "RecordHeader"), byte[].class},
                call(headerRead, "header"), call(headerRead, "payload"));
        return FuzzSupport.invokeStatic(PKG + "ImageKeys", "open",
                new Class<?>[] {char[].class, Class.forName(PKG + "ImageHeader")}, password.clone(), header);
    }

    private static Chunk firstChunk(byte[] image, int level, char[] password) throws Exception {
        ByteBuffer le = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        long trailerOffset = le.getLong(image.length - 12);
        Object trailerRead = readRecord(image, trailerOffset, ArchiveLayout.TRAILER_MAGIC, 1 << 20);
        Object trailer = FuzzSupport.invokeStatic(PKG + "Trailer", "fromPayload", new Class<?>[] {byte[].class},
                (Object) call(trailerRead, "payload"));
        Object entry = ((List<?>) call(trailer, "index")).get(0);
        long offset = (long) call(entry, "offset");
        Object chunkRead = readRecord(image, offset, ArchiveLayout.CHUNK_MAGIC, 1 << 20);
        Object header = FuzzSupport.invokeStatic(PKG + "ChunkHeader", "fromPayload",
                new Class<?>[] {Class.forName(PKG + "RecordHeader"), byte[].class, long.class},
                call(chunkRead, "header"), call(chunkRead, "payload"), offset);
        byte[] record = (byte[]) call(chunkRead, "bytes");
        int storedLength = (int) call(header, "storedLength");
        byte[] stored = Arrays.copyOfRange(image, (int) offset + record.length, (int) offset + record.length + storedLength);
        Object keys = password == null ? null : keysOf(image, password);
        String imageId = password == null ? "fuzz" : "sealed";
        Chunk chunk = new Chunk(image, header, record, entry, stored, level, keys, imageId);
        decode(chunk, stored); // the seed decodes
        return chunk;
    }

    private static Object readRecord(byte[] image, long offset, int magic, long maxPayload) throws Exception {
        return FuzzSupport.invokeStatic(PKG + "RecordIo", "read",
                new Class<?>[] {ImageReader.class, long.class, int.class, long.class, String.class},
                BackupArchives.reader(image), offset, magic, maxPayload, "seed record");
    }

    private static Object call(Object target, String method) throws Exception {
        Method m = target.getClass().getDeclaredMethod(method);
        m.setAccessible(true);
        return m.invoke(target);
    }

    private static Object construct(String simpleName, Object... args) throws Exception {
        Constructor<?> c = Class.forName(PKG + simpleName).getDeclaredConstructors()[0];
        c.setAccessible(true);
        return c.newInstance(args);
    }

    private static void set(Object target, String field, Object value) throws Exception {
        Field f = target.getClass().getDeclaredField(field);
        f.setAccessible(true);
        f.set(target, value);
    }

    /** Decodes {@code stored} as the chunk's stored bytes, with header and index re-hashed to match them. */
    private static void decode(Chunk chunk, byte[] stored) throws Exception {
        Object h = chunk.header();
        Object header = construct("ChunkHeader", call(h, "sequence"), call(h, "flags"), call(h, "plainLength"),
                stored.length, call(h, "nonce"), LongHashFunction.xx3().hashBytes(stored), call(h, "extents"));
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        sha.update(chunk.headerRecord());
        byte[] digest = sha.digest(stored);
        Object e = chunk.indexEntry();
        Object entry = construct("ChunkIndexEntry", call(e, "offset"), chunk.headerRecord().length + stored.length,
                call(e, "sequence"), call(e, "firstLba"), call(e, "endLba"), digest);
        Object slot = construct("ChunkSlot", BackupArchives.CHUNK);
        Field inputField = slot.getClass().getDeclaredField("input");
        inputField.setAccessible(true);
        java.nio.ByteBuffer input = (java.nio.ByteBuffer) inputField.get(slot);
        if (stored.length > input.capacity()) {
            throw new BackupException(dev.scemu.backup.BackupError.CORRUPT_IMAGE, "stored bytes exceed the slot"); // as readChunk
        }
        input.put(0, stored);
        set(slot, "chunkHeader", header);
        set(slot, "headerRecord", chunk.headerRecord());
        set(slot, "indexEntry", entry);
        try (AutoCloseable codec = (AutoCloseable) construct("ChunkCodec", BackupArchives.BLOCK, chunk.level(),
                chunk.keys(), chunk.imageId(), new byte[4])) {
            Method decode = codec.getClass().getDeclaredMethod("decode", slot.getClass());
            decode.setAccessible(true);
            try {
                decode.invoke(codec, slot);
            } catch (java.lang.reflect.InvocationTargetException ex) {
                if (ex.getCause() instanceof Exception cause) {
                    throw cause;
                }
                throw (Error) ex.getCause();
            }
        }
    }

    @Test
    void mutatedStoredBytesDecodeOrFailWithBackupException() {
        int n = FuzzSupport.iterations(1500);
        Fuzzer.Report zstdRun = new Fuzzer(181, n, BackupException.class).run(List.of(zstd.stored()),
                stored -> decode(zstd, stored));
        Fuzzer.Report rawRun = new Fuzzer(182, n / 3, BackupException.class).run(List.of(raw.stored()),
                stored -> decode(raw, stored));
        Fuzzer.Report report = FuzzSupport.print("backup.ChunkCodec.decode", FuzzSupport.combine(zstdRun, rawRun));
        assertThat(report.rejected()).isPositive();
        assertThat(report.decodedCleanly()).isPositive();
    }

    /** Encrypted chunks: any change to the ciphertext or tag must fail the GCM check, whatever the hashes say. */
    @Test
    void mutatedEncryptedChunksFailAuthentication() {
        int n = FuzzSupport.iterations(800);
        Fuzzer.Report report = FuzzSupport.print("backup.ChunkCodec.decode(encrypted)",
                new Fuzzer(183, n, BackupException.class).run(List.of(encrypted.stored()), stored -> {
                    decode(encrypted, stored);
                    if (!Arrays.equals(stored, encrypted.stored())) {
                        throw new AssertionError("a changed encrypted chunk decoded");
                    }
                }));
        assertThat(report.rejected()).isPositive();
    }
}
