package dev.scemu.backup.internal;

import dev.scemu.core.FuzzSupport;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.core.Fuzzer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;
import net.openhft.hashing.LongHashFunction;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Decoding of a chunk's stored bytes ({@link ChunkCodec#decode}: xxHash3, SHA-256 against the
 * index, AES-GCM, zstd, plain length) with the stored bytes mutated. To get past the hashes to the
 * decompressor and the length checks, the chunk header's xxHash3 and stored length and the index
 * entry's SHA-256 are recomputed for the mutated bytes, as an attacker who rewrites an unencrypted
 * image could.
 */
class ChunkCodecFuzzTest {

    /** One chunk of a real image: its header record, stored bytes and decoder state. */
    private record Chunk(byte[] image, ChunkHeader header, byte[] headerRecord, ChunkIndexEntry indexEntry, byte[] stored,
                         int level, ImageKeys keys, String imageId) {
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

    /** The image keys ({@link ImageKeys#open}) of an encrypted image, from its header record. */
    private static ImageKeys keysOf(byte[] image, char[] password) {
        RecordIo.Read headerRead = readRecord(image, 0, ArchiveLayout.HEADER_MAGIC, 1 << 20);
        ImageHeader header = ImageHeader.fromPayload(headerRead.header(), headerRead.payload());
        return ImageKeys.open(password.clone(), header);
    }

    private static Chunk firstChunk(byte[] image, int level, char[] password) throws Exception {
        ByteBuffer le = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        long trailerOffset = le.getLong(image.length - 12);
        RecordIo.Read trailerRead = readRecord(image, trailerOffset, ArchiveLayout.TRAILER_MAGIC, 1 << 20);
        Trailer trailer = Trailer.fromPayload(trailerRead.payload());
        ChunkIndexEntry entry = trailer.index().get(0);
        long offset = entry.offset();
        RecordIo.Read chunkRead = readRecord(image, offset, ArchiveLayout.CHUNK_MAGIC, 1 << 20);
        ChunkHeader header = ChunkHeader.fromPayload(chunkRead.header(), chunkRead.payload(), offset);
        byte[] record = chunkRead.bytes();
        int storedLength = header.storedLength();
        byte[] stored = Arrays.copyOfRange(image, (int) offset + record.length, (int) offset + record.length + storedLength);
        ImageKeys keys = password == null ? null : keysOf(image, password);
        String imageId = password == null ? "fuzz" : "sealed";
        Chunk chunk = new Chunk(image, header, record, entry, stored, level, keys, imageId);
        decode(chunk, stored); // the seed decodes
        return chunk;
    }

    private static RecordIo.Read readRecord(byte[] image, long offset, int magic, long maxPayload) {
        return RecordIo.read(BackupArchives.reader(image), offset, magic, maxPayload, "seed record");
    }

    /** Decodes {@code stored} as the chunk's stored bytes, with header and index re-hashed to match them. */
    private static void decode(Chunk chunk, byte[] stored) throws Exception {
        ChunkHeader h = chunk.header();
        ChunkHeader header = new ChunkHeader(h.sequence(), h.flags(), h.plainLength(), stored.length, h.nonce(),
                LongHashFunction.xx3().hashBytes(stored), h.extents());
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        sha.update(chunk.headerRecord());
        byte[] digest = sha.digest(stored);
        ChunkIndexEntry e = chunk.indexEntry();
        ChunkIndexEntry entry = new ChunkIndexEntry(e.offset(), chunk.headerRecord().length + stored.length,
                e.sequence(), e.firstLba(), e.endLba(), digest);
        ChunkSlot slot = new ChunkSlot(BackupArchives.CHUNK);
        if (stored.length > slot.input.capacity()) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, "stored bytes exceed the slot"); // as readChunk
        }
        slot.input.put(0, stored);
        slot.chunkHeader = header;
        slot.headerRecord = chunk.headerRecord();
        slot.indexEntry = entry;
        try (ChunkCodec codec = new ChunkCodec(BackupArchives.BLOCK, chunk.level(), chunk.keys(), chunk.imageId(),
                new byte[4])) {
            codec.decode(slot, false); // not authenticated by an integrity pass: every check runs
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

    /** The record's xxHash3: of the stored bytes where it is the only check (unencrypted), 0 where it never is (encrypted). */
    @Test
    void recordsCarryTheXxHash3OnlyOfUnencryptedChunks() {
        assertThat(zstd.header().storedXxh3()).isEqualTo(LongHashFunction.xx3().hashBytes(zstd.stored()));
        assertThat(raw.header().storedXxh3()).isEqualTo(LongHashFunction.xx3().hashBytes(raw.stored()));
        assertThat(encrypted.header().storedXxh3()).isZero();
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
