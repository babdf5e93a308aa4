package dev.scemu.testkit.fuzz;

import dev.scemu.core.FuzzSupport;
import static dev.scemu.testkit.fuzz.RaidImages.SUPER_BYTES;
import static dev.scemu.testkit.fuzz.RaidImages.SUPER_OFFSET;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.Fuzzer;
import dev.scemu.raid.RaidException;
import dev.scemu.raid.internal.MdSuperblock;
import dev.scemu.raid.internal.MdSuperblockLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** md v1.2 superblocks: the codec alone, and a member carrying a mutated superblock at assembly. */
class MdSuperblockFuzzTest {

    private static byte[][] members;
    private static List<byte[]> superblocks;
    /** The checksummed part of the 4 KiB (header and dev_roles) and a little beyond: where mutations matter. */
    private static final int DECODE_SEED_BYTES = 512;

    @BeforeAll
    static void realMembers() {
        members = RaidImages.cleanMirrorWithBitmap();
        superblocks = Arrays.stream(members).map(m -> Arrays.copyOfRange(m, SUPER_OFFSET, SUPER_OFFSET + SUPER_BYTES))
                .toList();
        for (byte[] sb : superblocks) {
            MdSuperblock.decode(sb, "seed"); // the seeds are valid
        }
    }

    /** Recomputes md's sb_csum when max_dev leaves the checksummed range inside the buffer. */
    static byte[] resealed(byte[] sb) {
        if (sb.length < MdSuperblockLayout.OFF_DEV_ROLES) {
            return sb;
        }
        byte[] out = sb.clone();
        ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        int maxDev = b.getInt(MdSuperblockLayout.OFF_MAX_DEV);
        if (maxDev >= 0 && maxDev <= (out.length - MdSuperblockLayout.OFF_DEV_ROLES) / 2) {
            b.putInt(MdSuperblockLayout.OFF_SB_CSUM, MdSuperblock.checksum(b));
        }
        return out;
    }

    @Test
    void mutatedSuperblocksDecodeOrFailWithRaidException() {
        int n = FuzzSupport.iterations(3000);
        List<byte[]> seeds = superblocks.stream().map(sb -> Arrays.copyOf(sb, DECODE_SEED_BYTES)).toList();
        Fuzzer.Report raw = new Fuzzer(81, n, RaidException.class).run(seeds, sb -> MdSuperblock.decode(sb, "fuzz"));
        Fuzzer.Report sealed = new Fuzzer(82, n, RaidException.class)
                .run(seeds, sb -> MdSuperblock.decode(resealed(sb), "fuzz"));
        Fuzzer.Report report = FuzzSupport.print("raid.MdSuperblock.decode", FuzzSupport.combine(raw, sealed));
        assertThat(raw.rejected()).isPositive();
        assertThat(sealed.decodedCleanly()).as("re-sealed mutations reach the fields").isPositive();
        assertThat(report.decodedCleanly() + report.rejected()).isEqualTo(2 * n);
    }

    @Test
    void memberWithMutatedSuperblockAssemblesOrIsRejectedWithoutAWrite() {
        int n = FuzzSupport.iterations(300);
        Fuzzer.Report report = FuzzSupport.print("raid.assemble(superblock)", new Fuzzer(83, n, RaidException.class)
                .run(superblocks.subList(0, 1), sb -> {
                    byte[][] images = {FuzzSupport.overlay(members[0], SUPER_OFFSET, SUPER_BYTES, resealed(sb)),
                            members[1].clone()};
                    RaidImages.assembleExpectingNoWriteOnRejection(images);
                }));
        assertThat(report.rejected()).isPositive();
        assertThat(report.decodedCleanly()).isPositive();
    }
}
