package dev.scemu.flash.internal;

import dev.scemu.core.FuzzSupport;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.Fuzzer;
import dev.scemu.flash.FirmwareImage;
import dev.scemu.flash.FlashException;
import dev.scemu.flash.ImageTlv;
import dev.scemu.flash.TrustedKeys;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** MCUboot-style firmware images: header, protected and unprotected TLVs, hash and signature. */
class FirmwareImageFuzzTest {

    private static final KeyPair KEY = TrustedKeys.generateEd25519(42);
    private static final TrustedKeys TRUSTED = TrustedKeys.of(KEY.getPublic());
    private static byte[] signed;
    private static byte[] unsigned;
    /** Where the SHA256 TLV's value sits in {@link #unsigned}. */
    private static int unsignedShaOffset;

    @BeforeAll
    static void realImages() {
        signed = builder("2.1.0", 3).sign(KEY).build();
        unsigned = builder("2.2.0+7", 4).build();
        FirmwareImage.parse(signed, TRUSTED);
        ImageTlv sha = FirmwareImage.parse(unsigned).tlvs().stream()
                .filter(t -> t.type() == FirmwareImageLayout.TLV_SHA256).findFirst().orElseThrow();
        unsignedShaOffset = Arrays.equals(Arrays.copyOfRange(unsigned, sha.offset() + 4, sha.offset() + 36), sha.value())
                ? sha.offset() + 4 : sha.offset();
    }

    private static FirmwareImage.Builder builder(String version, long seed) {
        byte[] body = new byte[700];
        new Random(seed).nextBytes(body);
        return FirmwareImage.builder().version(version).loadAddress(0x1000).body(body)
                .capabilities("raid0", "raid1", "snapshots").dataFormat("mapping-table", 1)
                .dataFormat("raid-superblock", 2);
    }

    /** Recomputes the SHA256 TLV over header + body + protected TLVs as the mutated header declares them. */
    private static byte[] rehashed(byte[] image) {
        if (image.length < unsignedShaOffset + 32) {
            return image;
        }
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        long covered = (b.getShort(FirmwareImageLayout.OFFSET_HEADER_SIZE) & 0xFFFFL)
                + (b.getShort(FirmwareImageLayout.OFFSET_PROTECTED_TLV_SIZE) & 0xFFFFL)
                + Integer.toUnsignedLong(b.getInt(FirmwareImageLayout.OFFSET_IMAGE_SIZE));
        if (covered > unsignedShaOffset - 4) {
            return image;
        }
        try {
            byte[] out = image.clone();
            byte[] sha = MessageDigest.getInstance("SHA-256").digest(Arrays.copyOf(out, (int) covered));
            System.arraycopy(sha, 0, out, unsignedShaOffset, 32);
            return out;
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void mutatedImagesParseOrFailWithFlashException() {
        int n = FuzzSupport.iterations(3000);
        Fuzzer.Report signedRun = new Fuzzer(131, n, FlashException.class)
                .run(List.of(signed), image -> FirmwareImage.parse(image, TRUSTED).inspect());
        Fuzzer.Report unsignedRun = new Fuzzer(132, n, FlashException.class)
                .run(List.of(unsigned), image -> FirmwareImage.parse(image).inspect());
        Fuzzer.Report rehashedRun = new Fuzzer(133, n, FlashException.class)
                .run(List.of(unsigned), image -> FirmwareImage.parse(rehashed(image)).inspect());
        Fuzzer.Report report = FuzzSupport.print("flash.FirmwareImage.parse",
                FuzzSupport.combine(signedRun, unsignedRun, rehashedRun));
        assertThat(rehashedRun.decodedCleanly()).as("re-hashed mutations reach the TLV decoders").isPositive();
        assertThat(report.rejected()).isPositive();
    }

    @Test
    void mutatedHeadersGiveALengthOrFailWithFlashException() {
        int n = FuzzSupport.iterations(3000);
        Fuzzer.Report report = FuzzSupport.print("flash.FirmwareImage.totalLength", new Fuzzer(134, n, FlashException.class)
                .run(List.of(Arrays.copyOf(signed, FirmwareImageLayout.HEADER_BYTES + 8)), header -> {
                    long info = FirmwareImage.tlvInfoOffset(header);
                    byte[] infoBytes = info >= 0 && info + 4 <= signed.length
                            ? Arrays.copyOfRange(signed, (int) info, (int) info + 4) : new byte[4];
                    FirmwareImage.totalLength(header, infoBytes);
                }));
        assertThat(report.rejected()).isPositive();
        assertThat(report.decodedCleanly()).isPositive();
    }
}
