package dev.scemu.flash;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.scemu.flash.internal.FirmwareImageLayout;
import dev.scemu.flash.internal.ImageWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FirmwareImageTest {

    private static FlashError codeOf(Runnable action) {
        Throwable thrown = catchThrowable(action::run);
        assertThat(thrown).as("expected a FlashException").isInstanceOf(FlashException.class);
        return ((FlashException) thrown).code();
    }

    private static void assertRejected(byte[] image, FlashError expected) {
        assertThat(codeOf(() -> FirmwareImage.parse(image, TestImages.TRUSTED))).isEqualTo(expected);
    }

    @Test
    void roundTripsEveryField() {
        byte[] bytes = FirmwareImage.builder().version("2.7.513+99").loadAddress(0x8000_0000).headerSize(64)
                .flags(FirmwareImage.FLAG_RAM_LOAD).body(TestImages.body(300, 1))
                .capabilities("raid5", "nbd").dataFormat("mapping-table", 2).sign(TestImages.KEY).build();
        FirmwareImage image = FirmwareImage.parse(bytes, TestImages.TRUSTED);
        assertThat(image.version()).isEqualTo(ImageVersion.of(2, 7, 513, 99));
        assertThat(image.loadAddress()).isEqualTo(0x8000_0000);
        assertThat(image.headerSize()).isEqualTo(64);
        assertThat(image.imageSize()).isEqualTo(300);
        assertThat(image.flags()).isEqualTo(FirmwareImage.FLAG_RAM_LOAD);
        assertThat(image.body()).containsExactly(TestImages.body(300, 1));
        assertThat(image.capabilities()).containsExactly("nbd", "raid5");
        assertThat(image.dataFormats()).containsExactlyEntriesOf(Map.of("mapping-table", 2));
        assertThat(image.isSignatureVerified()).isTrue();
        assertThat(image.keyHash()).containsExactly(TrustedKeys.keyHash(TestImages.KEY.getPublic()));
        assertThat(image.bytes()).containsExactly(bytes);
        assertThat(image.inspect()).contains("2.7.513+99", "CAPABILITIES", "DATA_FORMATS", "ED25519", "verified",
                "mapping-table=2");
    }

    @Test
    void headerFollowsMcubootByteLayout() {
        byte[] bytes = TestImages.signed("1.2.3+4", 100);
        ByteBuffer header = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(header.getInt(0)).isEqualTo(0x96f3b83d);
        assertThat(bytes[0]).isEqualTo((byte) 0x3d);
        assertThat(header.getShort(8)).isEqualTo((short) 32);
        assertThat(header.getInt(12)).isEqualTo(100);
        assertThat(bytes[20]).isEqualTo((byte) 1);
        assertThat(bytes[21]).isEqualTo((byte) 2);
        assertThat(header.getShort(22)).isEqualTo((short) 3);
        assertThat(header.getInt(24)).isEqualTo(4);
        int protectedSize = header.getShort(10);
        assertThat(header.getShort(32 + 100)).isEqualTo((short) 0x6908);
        assertThat(header.getShort(32 + 100 + 2)).isEqualTo((short) protectedSize);
        assertThat(header.getShort(32 + 100 + protectedSize)).isEqualTo((short) 0x6907);
        assertThat(header.getShort(32 + 100 + protectedSize + 2)).isEqualTo((short) (bytes.length - 132 - protectedSize));
    }

    @Test
    void derivesThePublicKeyOfAPrivateKeyForKeyHash() {
        byte[] viaPrivate = TestImages.base("1.0.0", 10).sign(TestImages.KEY.getPrivate()).build();
        assertThat(FirmwareImage.parse(viaPrivate, TestImages.TRUSTED).isSignatureVerified()).isTrue();
    }

    @Test
    void everySingleBitFlipOfASignedImageIsRejected() {
        byte[] image = FirmwareImage.builder().version("1.0.0+1").body(TestImages.body(40, 9))
                .capability("raid1").dataFormat("mapping-table", 1).sign(TestImages.KEY).build();
        FirmwareImage.parse(image, TestImages.TRUSTED);
        EnumSet<FlashError> seen = EnumSet.noneOf(FlashError.class);
        for (int bit = 0; bit < image.length * 8; bit++) {
            byte[] flipped = image.clone();
            flipped[bit >>> 3] ^= (byte) (1 << (bit & 7));
            int at = bit;
            Throwable thrown = catchThrowable(() -> FirmwareImage.parse(flipped, TestImages.TRUSTED));
            assertThat(thrown).as("flip of bit %d (byte %d)", at, at >>> 3).isInstanceOf(FlashException.class);
            seen.add(((FlashException) thrown).code());
        }
        assertThat(seen).contains(FlashError.BAD_MAGIC, FlashError.HASH_MISMATCH, FlashError.BAD_SIGNATURE,
                FlashError.UNKNOWN_KEY, FlashError.BAD_TLV_INFO);
    }

    @Test
    void everyTruncationIsRejectedWithoutIndexErrors() {
        byte[] image = TestImages.signed("1.0.0", 64);
        for (int length = 0; length < image.length; length++) {
            byte[] truncated = Arrays.copyOf(image, length);
            Throwable thrown = catchThrowable(() -> FirmwareImage.parse(truncated, TestImages.TRUSTED));
            assertThat(thrown).as("length %d", length).isInstanceOf(FlashException.class);
        }
        byte[] longer = Arrays.copyOf(image, image.length + 1);
        assertRejected(longer, FlashError.TRAILING_BYTES);
        assertRejected(null, FlashError.TRUNCATED);
    }

    @Test
    void rejectsSizesBeyondTheBuffer() {
        byte[] image = TestImages.signed("1.0.0", 64);
        ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).putInt(12, -1); // img_size 0xFFFFFFFF
        assertRejected(image, FlashError.SIZE_BEYOND_BUFFER);
        byte[] header = TestImages.signed("1.0.0", 64);
        ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).putShort(8, (short) 0xFFFF);
        assertRejected(header, FlashError.BAD_HEADER_SIZE);
        ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).putShort(8, (short) 31);
        assertRejected(header, FlashError.BAD_HEADER_SIZE);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 3, 31, 33, 0x7FFF, 0xFFFF})
    void rejectsTlvLengthExtremes(int length) {
        byte[] image = FirmwareImage.builder().version("1.0.0").body(new byte[8]).build();
        int tlvStart = 32 + 8 + 4; // unprotected info, then SHA256 TLV
        ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).putShort(tlvStart + 2, (short) length);
        FlashError code = codeOf(() -> FirmwareImage.parse(image));
        assertThat(code).isIn(FlashError.TLV_OVERRUN, FlashError.BAD_TLV_VALUE);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2, 3, 4, 5, 0xFFFF})
    void rejectsTlvAreaTotalExtremes(int total) {
        byte[] image = FirmwareImage.builder().version("1.0.0").body(new byte[8]).build();
        ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).putShort(32 + 8 + 2, (short) total);
        assertThat(codeOf(() -> FirmwareImage.parse(image))).isIn(FlashError.BAD_TLV_INFO, FlashError.TLV_OVERRUN,
                FlashError.TRAILING_BYTES, FlashError.MISSING_HASH);
    }

    @Test
    void rejectsImagesSignedByAnUnknownKey() {
        byte[] image = TestImages.base("1.0.0", 10).sign(TestImages.OTHER_KEY).build();
        assertRejected(image, FlashError.UNKNOWN_KEY);
        assertThat(FirmwareImage.parse(image).isSignatureVerified()).isFalse();
    }

    @Test
    void rejectsUnsignedImagesWhenKeysRequireASignature() {
        byte[] image = TestImages.base("1.0.0", 10).build();
        assertRejected(image, FlashError.MISSING_SIGNATURE);
        assertThat(FirmwareImage.parse(image).keyHash()).isNull();
    }

    @Test
    void rejectsASignatureOverOtherContent() {
        byte[] good = TestImages.signed("1.0.0", 10);
        byte[] other = TestImages.signed("1.0.1", 10);
        byte[] spliced = good.clone();
        System.arraycopy(other, other.length - 64, spliced, spliced.length - 64, 64);
        assertRejected(spliced, FlashError.BAD_SIGNATURE);
    }

    @Test
    void rejectsVendorTlvsOutsideTheProtectedArea() {
        byte[] unsigned = FirmwareImage.builder().version("1.0.0").body(new byte[4]).build();
        // append a capabilities TLV to the unprotected area
        byte[] tlv = ImageWriter.tlv(FirmwareImageLayout.TLV_SCEMU_CAPABILITIES, ImageWriter.encodeCapabilities(Set.of("x")));
        byte[] image = Arrays.copyOf(unsigned, unsigned.length + tlv.length);
        System.arraycopy(tlv, 0, image, unsigned.length, tlv.length);
        ByteBuffer buffer = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        int infoAt = 32 + 4;
        buffer.putShort(infoAt + 2, (short) (buffer.getShort(infoAt + 2) + tlv.length));
        assertThat(codeOf(() -> FirmwareImage.parse(image))).isEqualTo(FlashError.UNPROTECTED_TLV);
    }

    @Test
    void rejectsMalformedVendorValues() {
        byte[] countTooHigh = FirmwareImage.builder().version("1.0.0").protectedTlv(FirmwareImageLayout.TLV_SCEMU_CAPABILITIES,
                new byte[] {5, 0, 1, 'a'}).build();
        assertThat(codeOf(() -> FirmwareImage.parse(countTooHigh))).isEqualTo(FlashError.BAD_TLV_VALUE);
        byte[] badName = FirmwareImage.builder().version("1.0.0").protectedTlv(FirmwareImageLayout.TLV_SCEMU_DATA_FORMATS,
                new byte[] {1, 0, 1, 'A', 1, 0}).build();
        assertThat(codeOf(() -> FirmwareImage.parse(badName))).isEqualTo(FlashError.BAD_TLV_VALUE);
        byte[] trailing = FirmwareImage.builder().version("1.0.0").protectedTlv(FirmwareImageLayout.TLV_SCEMU_CAPABILITIES,
                new byte[] {0, 0, 9}).build();
        assertThat(codeOf(() -> FirmwareImage.parse(trailing))).isEqualTo(FlashError.BAD_TLV_VALUE);
    }

    @Test
    void rejectsUnsupportedFlagsAndNonZeroReservedFields() {
        byte[] image = TestImages.signed("1.0.0", 8);
        byte[] encrypted = image.clone();
        encrypted[FirmwareImageLayout.OFFSET_FLAGS] = 0x04;
        assertRejected(encrypted, FlashError.BAD_HEADER);
        byte[] pad = image.clone();
        pad[FirmwareImageLayout.OFFSET_PAD + 3] = 1;
        assertRejected(pad, FlashError.BAD_HEADER);
    }

    @Test
    void totalLengthComesFromHeaderAndTlvInfo() {
        byte[] image = TestImages.signed("1.0.0", 77);
        long infoAt = FirmwareImage.tlvInfoOffset(Arrays.copyOf(image, 32));
        long total = FirmwareImage.totalLength(Arrays.copyOf(image, 32),
                Arrays.copyOfRange(image, (int) infoAt, (int) infoAt + 4));
        assertThat(total).isEqualTo(image.length);
    }

    @Test
    void versionsOrderFieldByField() {
        assertThat(ImageVersion.parse("1.2.3+4")).isEqualTo(ImageVersion.of(1, 2, 3, 4));
        assertThat(ImageVersion.parse("1.2.3").isOlderThan(ImageVersion.parse("1.2.3+1"))).isTrue();
        assertThat(ImageVersion.parse("1.10.0").compareTo(ImageVersion.parse("1.9.9"))).isPositive();
        assertThatThrownBy(() -> ImageVersion.parse("1.x")).isInstanceOf(FlashException.class);
        assertThatThrownBy(() -> ImageVersion.of(256, 0, 0, 0)).isInstanceOf(FlashException.class);
    }
}
