package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ChecksummedRecordTest {

    private static final int MAGIC = ChecksummedRecord.magic("TEST");

    private static ByteBuffer sealedRecord(ByteBuffer buffer, int offset, int length) {
        for (int i = ChecksummedRecord.HEADER_BYTES; i < length; i++) {
            buffer.put(offset + i, (byte) (i * 13 + 5));
        }
        ChecksummedRecord.seal(buffer, offset, MAGIC, 3, 0x8001, length);
        return buffer;
    }

    @Test
    void roundTripsOnHeapAndDirectBuffersOfEitherByteOrder() {
        for (ByteBuffer buffer : new ByteBuffer[] {ByteBuffer.allocate(200), ByteBuffer.allocateDirect(200),
                ByteBuffer.allocate(200).order(ByteOrder.LITTLE_ENDIAN)}) {
            sealedRecord(buffer, 7, 100);
            ChecksummedRecord.Header header = ChecksummedRecord.verify(buffer, 7, MAGIC, 1, 3, 150, "test record");
            assertThat(header.magic()).isEqualTo(MAGIC);
            assertThat(header.version()).isEqualTo(3);
            assertThat(header.flags()).isEqualTo(0x8001);
            assertThat(header.length()).isEqualTo(100);
            assertThat(buffer.position()).isZero();
        }
    }

    @Test
    void writesTheDocumentedLittleEndianLayout() {
        ByteBuffer buffer = sealedRecord(ByteBuffer.allocate(32), 0, 32);
        assertThat(new String(new byte[] {buffer.get(0), buffer.get(1), buffer.get(2), buffer.get(3)})).isEqualTo("TEST");
        assertThat(buffer.get(4)).isEqualTo((byte) 3);
        assertThat(buffer.get(5)).isZero();
        assertThat(buffer.get(8)).isEqualTo((byte) 32);
        int crc = buffer.order(ByteOrder.LITTLE_ENDIAN).getInt(12);
        buffer.putInt(12, 0);
        java.util.zip.CRC32C expected = new java.util.zip.CRC32C();
        expected.update(buffer.array(), 0, 32);
        assertThat(crc).isEqualTo((int) expected.getValue());
    }

    @Test
    void detectsEverySingleBitFlip() {
        int length = 64;
        for (int bit = 0; bit < length * 8; bit++) {
            ByteBuffer buffer = sealedRecord(ByteBuffer.allocate(length + 8), 4, length);
            int index = 4 + bit / 8;
            buffer.put(index, (byte) (buffer.get(index) ^ (1 << (bit % 8))));
            CoreException e = catchThrowableOfType(CoreException.class,
                    () -> ChecksummedRecord.verify(buffer, 4, MAGIC, 0, 10, length + 8, "flipped"));
            assertThat(e).as("bit %d", bit).isNotNull();
            assertThat(e.code()).isEqualTo(CoreError.CORRUPT_RECORD);
        }
    }

    @Test
    void namesExpectedAndFoundValuesInMessages() {
        ByteBuffer buffer = sealedRecord(ByteBuffer.allocate(64), 0, 64);
        assertThatThrownBy(() -> ChecksummedRecord.verify(buffer, 0, ChecksummedRecord.magic("SCLH"), 1, 3, 64, "hdr 0"))
                .hasMessageContaining("hdr 0").hasMessageContaining("bad magic").hasMessageContaining("'SCLH'")
                .hasMessageContaining("'TEST'");
        assertThatThrownBy(() -> ChecksummedRecord.verify(buffer, 0, MAGIC, 4, 5, 64, "rec"))
                .hasMessageContaining("unsupported format version 3").hasMessageContaining("4..5");
        assertThatThrownBy(() -> ChecksummedRecord.verify(buffer, 0, MAGIC, 1, 3, 63, "rec"))
                .hasMessageContaining("length 64").hasMessageContaining("16..63");
        buffer.put(40, (byte) (buffer.get(40) + 1));
        assertThatThrownBy(() -> ChecksummedRecord.verify(buffer, 0, MAGIC, 1, 3, 64, "rec"))
                .hasMessageContaining("checksum mismatch").hasMessageContaining("stored crc32c 0x")
                .hasMessageContaining("computed 0x");
    }

    @Test
    void truncatedGarbageAndExtremeLengthsGiveCorruptRecordOnly() {
        Random random = new Random(7);
        long[] lengths = {0, 1, 15, 16, 17, 63, 64, 65, 4096, Integer.MAX_VALUE, 0x80000000L, 0xFFFFFFFFL};
        for (int round = 0; round < 5000; round++) {
            int capacity = random.nextInt(80);
            ByteBuffer buffer = random.nextBoolean() ? ByteBuffer.allocate(capacity) : ByteBuffer.allocateDirect(capacity);
            byte[] garbage = new byte[capacity];
            random.nextBytes(garbage);
            buffer.put(0, garbage);
            int offset = random.nextInt(capacity + 20) - 10;
            if (random.nextBoolean() && offset >= 0 && offset + 16 <= capacity) {
                buffer.order(ByteOrder.LITTLE_ENDIAN).putInt(offset, MAGIC);
                buffer.putShort(offset + 4, (short) 1);
                buffer.putInt(offset + 8, (int) lengths[random.nextInt(lengths.length)]);
            }
            int maxLength = random.nextBoolean() ? Integer.MAX_VALUE : random.nextInt(100);
            try {
                ChecksummedRecord.verify(buffer, offset, MAGIC, 0, 0xFFFF, maxLength, "garbage");
            } catch (CoreException e) {
                assertThat(e.code()).isEqualTo(CoreError.CORRUPT_RECORD);
            }
        }
    }

    @Test
    void rejectsALengthBeyondTheBufferEvenIfMaxLengthAllowsIt() {
        ByteBuffer buffer = sealedRecord(ByteBuffer.allocate(64), 0, 64);
        ByteBuffer truncated = buffer.duplicate().limit(40);
        assertThatThrownBy(() -> ChecksummedRecord.verify(truncated, 0, MAGIC, 0, 10, 1 << 20, "short"))
                .isInstanceOf(CoreException.class).hasMessageContaining("beyond the buffer limit 40");
        assertThatThrownBy(() -> ChecksummedRecord.verify(buffer, 60, MAGIC, 0, 10, 1 << 20, "edge"))
                .hasMessageContaining("beyond the buffer limit");
        assertThatThrownBy(() -> ChecksummedRecord.verify(buffer, -1, MAGIC, 0, 10, 1 << 20, "negative"))
                .isInstanceOf(CoreException.class);
    }

    @Test
    void buildsMagicFromFourAsciiCharacters() {
        assertThat(ChecksummedRecord.magic("SCLH")).isEqualTo(0x484C4353);
        assertThat(ChecksummedRecord.magicToString(ChecksummedRecord.magic("SCLB"))).contains("'SCLB'");
        for (String bad : new String[] {"ABC", "ABCDE", "AB\u00e9D"}) {
            assertThatThrownBy(() -> ChecksummedRecord.magic(bad)).isInstanceOf(CoreException.class)
                    .extracting(e -> ((CoreException) e).code()).isEqualTo(CoreError.INVALID_ARGUMENT);
        }
    }

    @Test
    void sealRejectsARecordThatDoesNotFit() {
        assertThatThrownBy(() -> ChecksummedRecord.seal(ByteBuffer.allocate(32), 20, MAGIC, 1, 0, 16))
                .extracting(e -> ((CoreException) e).code()).isEqualTo(CoreError.INVALID_ARGUMENT);
        assertThatThrownBy(() -> ChecksummedRecord.seal(ByteBuffer.allocate(32), 0, MAGIC, 1, 0, 8))
                .isInstanceOf(CoreException.class);
    }
}
