package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static dev.scemu.cli.CliTestSupport.scemu;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.unit.StorageControlUnit;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code scemu scrub}: finds injected parity and mirror mismatches with their offsets, repairs them, records the result. */
class CliScrubTest {

    private static long memberDataOffsetBytes(Path dir) {
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            return unit.array().dataOffsetSectors() * 512;
        }
    }

    private static void scribble(Path image, long offsetBytes, int length, long seed) throws Exception {
        byte[] junk = new byte[length];
        new Random(seed).nextBytes(junk);
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.seek(offsetBytes);
            file.write(junk);
        }
    }

    @Test
    void aMegabyteOfRandomBytesInOneRaid5MemberIsFoundReportedAndRepaired(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir); // RAID-5, 4 x 16 MiB, 64 KiB chunks: a stripe row protects 192 KiB of the array
        assertThat(scemu("status", dir).ok().out()).contains("optimal").contains("scrub      never");
        assertThat(scemu("scrub", dir).ok().out()).contains("0 mismatched");

        // the case: 1 MiB of random bytes in disk 1's data area, rows 128..143
        scribble(dir.resolve("disk1.img"), memberDataOffsetBytes(dir) + (8L << 20), 1 << 20, 42);
        CliTestSupport.Result check = scemu("scrub", dir);
        check.failsWithOneLine("scrub found 16 mismatched stripes and left them unrepaired");
        assertThat(check.out()).contains("mismatch   stripe 128: array bytes [" + 128L * 3 * 65536 + ", "
                + 129L * 3 * 65536 + ")").contains("mismatch   stripe 143:").doesNotContain("stripe 144")
                .contains("16 mismatched, 0 repaired");
        String status = scemu("status", dir).ok().out();
        assertThat(status).doesNotContain("optimal").contains("INCONSISTENT (16 stripes failed the last scrub")
                .containsPattern("scrub      last \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC: 16 stripes mismatched, not repaired");

        CliTestSupport.Result repair = scemu("scrub", dir, "--repair").ok();
        assertThat(repair.out()).contains("mismatch   stripe 128: array bytes [" + 128L * 3 * 65536 + ", ")
                .contains(", repaired").contains("16 mismatched, 16 repaired");
        assertThat(scemu("status", dir).ok().out()).contains("optimal").contains("16 stripes mismatched, repaired");
        assertThat(scemu("scrub", dir).ok().out()).contains("0 mismatched");
        assertThat(scemu("status", dir).ok().out()).contains("optimal").containsPattern("UTC: no mismatch in \\d+ stripes");
    }

    @Test
    void aRaid1MirrorMismatchIsFoundAtItsOffsetAndRepaired(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("unit");
        scemu("create", dir, "--level", "1", "--disks", "2", "--disk-size", "16M").ok();
        // RAID-1 regions are 512 KiB: block 3 of region 20 of the second mirror
        scribble(dir.resolve("disk1.img"), memberDataOffsetBytes(dir) + 20L * (512 << 10) + 3 * 4096, 4096, 7);
        CliTestSupport.Result check = scemu("scrub", dir);
        check.failsWithOneLine("scrub found 1 mismatched stripes");
        assertThat(check.out()).contains("mismatch   stripe 20: array bytes [" + 20L * (512 << 10) + ", "
                + 21L * (512 << 10) + ")");
        assertThat(scemu("status", dir).ok().out()).contains("INCONSISTENT");
        assertThat(scemu("scrub", dir, "--repair").ok().out()).contains("1 mismatched, 1 repaired");
        assertThat(scemu("scrub", dir).ok().out()).contains("0 mismatched");
        assertThat(scemu("status", dir).ok().out()).contains("optimal");
    }

    @Test
    void raid0HasNothingToScrub(@TempDir Path tmp) {
        Path dir = tmp.resolve("unit");
        scemu("create", dir, "--level", "0", "--disks", "2", "--disk-size", "16M").ok();
        scemu("scrub", dir).failsWithOneLine("no parity or mirrors to scrub");
    }
}
