package dev.scemu.testkit.fuzz;

import dev.scemu.core.FuzzSupport;
import static dev.scemu.testkit.fuzz.RaidImages.BITMAP_START;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.Fuzzer;
import dev.scemu.raid.RaidException;
import dev.scemu.raid.internal.MdBitmapLayout;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** md's internal write-intent bitmap (header + bits): the codec alone, and a mutated bitmap at assembly. */
class MdBitmapFuzzTest {

    private static byte[][] members;
    private static byte[] bitmap;

    @BeforeAll
    static void realMembers() {
        members = RaidImages.cleanMirrorWithBitmap();
        MdBitmapLayout.Header header = MdBitmapLayout.decodeHeader(
                Arrays.copyOfRange(members[0], BITMAP_START, BITMAP_START + MdBitmapLayout.HEADER_BYTES), "seed");
        bitmap = Arrays.copyOfRange(members[0], BITMAP_START, BITMAP_START + header.sectorsReserved() * 512);
    }

    @Test
    void mutatedBitmapsDecodeOrFailWithRaidException() {
        int n = FuzzSupport.iterations(3000);
        Fuzzer.Report report = FuzzSupport.print("raid.MdBitmapLayout.decode", new Fuzzer(91, n, RaidException.class)
                .run(List.of(bitmap), bytes -> {
                    MdBitmapLayout.Header header = MdBitmapLayout.decodeHeader(bytes, "fuzz");
                    MdBitmapLayout.decodeBits(bytes, header.bitCount());
                }));
        assertThat(report.rejected()).isPositive();
        assertThat(report.decodedCleanly()).isPositive();
    }

    @Test
    void mirrorWithMutatedBitmapAssemblesOrIsRejectedWithoutAWrite() {
        int n = FuzzSupport.iterations(300);
        Fuzzer.Report report = FuzzSupport.print("raid.assemble(bitmap)", new Fuzzer(92, n, RaidException.class)
                .run(List.of(bitmap), bytes -> {
                    byte[][] images = new byte[members.length][];
                    for (int i = 0; i < images.length; i++) { // every member carries the same bitmap
                        images[i] = FuzzSupport.overlay(members[i], BITMAP_START, bitmap.length, bytes);
                    }
                    RaidImages.assembleExpectingNoWriteOnRejection(images);
                }));
        assertThat(report.rejected()).isPositive();
        assertThat(report.decodedCleanly()).isPositive();
    }
}
