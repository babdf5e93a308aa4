package dev.scemu.backup.internal;

import dev.scemu.core.FuzzSupport;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.backup.BackupException;
import dev.scemu.core.Fuzzer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The backup archive's records, each read the way the reader does ({@link RecordIo#read}: the
 * 16-byte {@link RecordHeader}, then the payload, then the checksum) and decoded by its decoder:
 * image header, chunk header with its extents, trailer with the chunk index, extent map, locator.
 * Seeds are cut out of real images; the re-sealed runs recompute the record CRC so mutations reach
 * the payload decoders.
 */
class BackupRecordsFuzzTest {

    private static byte[] plain;
    private static byte[] encrypted;

    @BeforeAll
    static void realImages() {
        plain = BackupArchives.image("plain", 3, null);
        encrypted = BackupArchives.image("secret", 0, BackupArchives.PASSWORD);
    }

    private static int u32(byte[] image, long offset) {
        return ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).getInt((int) offset);
    }

    private static byte[] record(byte[] image, long offset) {
        return Arrays.copyOfRange(image, (int) offset, (int) offset + u32(image, offset + 8));
    }

    private static byte[] headerRecord(byte[] image) {
        return record(image, 0);
    }

    private static byte[] firstChunkRecord(byte[] image) {
        return record(image, u32(image, 8));
    }

    private static long trailerOffset(byte[] image) {
        return ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).getLong(image.length - 12);
    }

    private static byte[] trailerRecord(byte[] image) {
        return record(image, trailerOffset(image));
    }

    private static byte[] extentMapRecord(byte[] image) {
        // trailer payload: 4 × u64 counts, then u64 extentMapOffset
        return record(image, ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).getLong((int) trailerOffset(image) + 16 + 32));
    }

    private static byte[] locatorRecord(byte[] image) {
        return Arrays.copyOfRange(image, image.length - 28, image.length);
    }

    /** {@link RecordIo#read} of the record at offset 0 of {@code bytes}. */
    private static RecordIo.Read read(byte[] bytes, int magic, long maxPayload) {
        return RecordIo.read(BackupArchives.reader(bytes), 0L, magic, maxPayload, "fuzz record");
    }

    private static Fuzzer.Report fuzz(String decoder, long seed, List<byte[]> seeds, Fuzzer.Decoder decode) {
        int n = FuzzSupport.iterations(1500);
        Fuzzer.Report raw = new Fuzzer(seed, n, BackupException.class).run(seeds, decode);
        Fuzzer.Report sealed = new Fuzzer(seed + 1, n, BackupException.class)
                .run(seeds, bytes -> decode.decode(FuzzSupport.resealRecords(bytes, Integer.MAX_VALUE,
                        ArchiveLayout.HEADER_MAGIC, ArchiveLayout.CHUNK_MAGIC, ArchiveLayout.TRAILER_MAGIC,
                        ArchiveLayout.EXTENT_MAP_MAGIC, ArchiveLayout.LOCATOR_MAGIC)));
        Fuzzer.Report report = FuzzSupport.print(decoder, FuzzSupport.combine(raw, sealed));
        assertThat(report.rejected()).isPositive();
        assertThat(sealed.decodedCleanly()).as("re-sealed mutations decode sometimes").isPositive();
        return report;
    }

    @Test
    void mutatedImageHeadersDecodeOrFailWithBackupException() {
        fuzz("backup.ImageHeader", 161, List.of(headerRecord(plain), headerRecord(encrypted)), bytes -> {
            RecordIo.Read r = read(bytes, ArchiveLayout.HEADER_MAGIC, 1 << 20);
            ImageHeader.fromPayload(r.header(), r.payload());
        });
    }

    @Test
    void mutatedChunkHeadersDecodeOrFailWithBackupException() {
        fuzz("backup.ChunkHeader", 163, List.of(firstChunkRecord(plain), firstChunkRecord(encrypted)), bytes -> {
            RecordIo.Read r = read(bytes, ArchiveLayout.CHUNK_MAGIC, 28 + 12L * 16);
            ChunkHeader.fromPayload(r.header(), r.payload(), 100L);
        });
    }

    @Test
    void mutatedTrailersAndChunkIndexesDecodeOrFailWithBackupException() {
        fuzz("backup.Trailer+ChunkIndexEntry", 165, List.of(trailerRecord(plain), trailerRecord(encrypted)), bytes -> {
            Trailer.fromPayload(read(bytes, ArchiveLayout.TRAILER_MAGIC, 1 << 20).payload());
        });
    }

    @Test
    void mutatedExtentMapsDecodeOrFailWithBackupException() {
        fuzz("backup.ExtentMap", 169, List.of(extentMapRecord(plain), extentMapRecord(encrypted)), bytes -> {
            ExtentMap.fromPayload(read(bytes, ArchiveLayout.EXTENT_MAP_MAGIC, 1 << 20).payload());
        });
    }

    @Test
    void mutatedLocatorsDecodeOrFailWithBackupException() {
        fuzz("backup.Locator", 167, List.of(locatorRecord(plain)), bytes -> {
            Locator.fromPayload(read(bytes, ArchiveLayout.LOCATOR_MAGIC, 12).payload());
        });
    }
}
