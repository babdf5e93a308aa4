package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static dev.scemu.cli.CliTestSupport.pattern;
import static dev.scemu.cli.CliTestSupport.read;
import static dev.scemu.cli.CliTestSupport.scemu;
import static dev.scemu.cli.CliTestSupport.writeVolume;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.unit.StorageControlUnit;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A unit whose member image is damaged or gone starts degraded (md's {@code --run}): {@code status}
 * names the member and why, {@code disk replace} rebuilds it; RAID-0, which has no redundancy,
 * refuses {@code disk fail} and does not start without a member, saying so.
 */
class CliDegradedStartTest {

    /** The md superblock sits at byte 4096 of every member image; byte 100 is inside it (raid_disks, ...). */
    private static final long SUPERBLOCK_BYTE = 4096 + 100;

    @TempDir
    Path tmp;

    private static void flipSuperblockByte(Path image) throws IOException {
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.seek(SUPERBLOCK_BYTE);
            int b = file.read();
            file.seek(SUPERBLOCK_BYTE);
            file.write(b ^ 0x10);
        }
    }

    @Test
    void aMemberWithADamagedSuperblockIsNamedByStatusAndRebuiltByReplace() throws IOException {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        ByteBuffer data = pattern(21, 64);
        writeVolume(dir, 0, data);
        flipSuperblockByte(dir.resolve("disk2.img"));

        String status = scemu("status", dir).ok().out();
        assertThat(status).contains("DEGRADED").containsPattern("disk 2 +FAILED: md superblock checksum mismatch");
        assertThat(status).containsPattern("disk 1 +ACTIVE\\R");
        // every open starts the same way until the disk is replaced
        assertThat(scemu("status", dir).ok().out()).containsPattern("disk 2 +FAILED: md superblock checksum");

        assertThat(scemu("disk", "replace", dir, 2).ok().out()).contains("disk 2 replaced and rebuilt");
        assertThat(scemu("status", dir).ok().out()).contains("optimal").doesNotContain("FAILED");

        // a member image that is gone: named as missing, and replace writes a new image file
        Files.delete(dir.resolve("disk1.img"));
        assertThat(scemu("status", dir).ok().out())
                .containsPattern("disk 1 +FAILED: missing \\(image file disk1.img not found\\)");
        scemu("disk", "replace", dir, 1).ok();
        assertThat(dir.resolve("disk1.img")).exists();
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(unit.status().degraded()).isFalse();
            unit.disk(0).failDevice(); // the rebuilt disks 1 and 2 now carry the data
            assertThat(read(unit.host(), 0, 64)).isEqualTo(data);
        }
    }

    @Test
    void serveOnADegradedArraySaysWhichDiskFailedAndHowToReplaceIt() throws IOException {
        Path dir = tmp.resolve("served");
        createSmallUnit(dir);
        flipSuperblockByte(dir.resolve("disk3.img"));
        ServeCommand.testHook = server -> { };
        try {
            String out = scemu("serve", dir, "--port", "0").ok().out();
            assertThat(out).containsPattern("array DEGRADED: disk 3 failed \\(md superblock checksum mismatch.*\\): 'scemu disk"
                    + " replace .* 3' rebuilds it").doesNotContain("disk 2 failed");
        } finally {
            ServeCommand.testHook = null;
        }
        scemu("disk", "replace", dir, 3).ok();
        ServeCommand.testHook = server -> { };
        try {
            assertThat(scemu("serve", dir, "--port", "0").ok().out()).doesNotContain("DEGRADED");
        } finally {
            ServeCommand.testHook = null;
        }
    }

    /**
     * A member image that cannot be opened (cut short, or a directory in its place) is named with
     * why by {@code serve} as by {@code status}, not as the failed stand-in the array holds in its
     * place ("device disk1 (image unreadable) has failed" said nothing of the cause).
     */
    @Test
    void serveNamesWhyAMemberImageCouldNotBeOpened() throws IOException {
        Path dir = tmp.resolve("cut");
        createSmallUnit(dir);
        try (RandomAccessFile file = new RandomAccessFile(dir.resolve("disk1.img").toFile(), "rw")) {
            file.setLength(6000);
        }
        assertThat(scemu("status", dir).ok().out())
                .containsPattern("disk 1 +FAILED: unreadable \\(image file disk1.img\\): .*6000 bytes");
        ServeCommand.testHook = server -> { };
        try {
            String out = scemu("serve", dir, "--port", "0").ok().out();
            assertThat(out).containsPattern("array DEGRADED: disk 1 failed \\(unreadable \\(image file disk1.img\\): .*6000")
                    .doesNotContain("image unreadable");
        } finally {
            ServeCommand.testHook = null;
        }

        Path other = tmp.resolve("directory");
        createSmallUnit(other);
        Files.delete(other.resolve("disk2.img"));
        Files.createDirectory(other.resolve("disk2.img"));
        assertThat(scemu("status", other).ok().out())
                .containsPattern("disk 2 +FAILED: unreadable \\(image file disk2.img\\): .*disk2.img is not a regular file");
    }

    @Test
    void raid0RefusesDiskFailAndDoesNotStartWithoutAMemberSayingItHasNoRedundancy() throws IOException {
        Path dir = tmp.resolve("striped");
        scemu("create", dir, "--level", "0", "--disks", "3", "--disk-size", "16M", "--chunk", "64K").ok();
        scemu("disk", "fail", dir, 1).failsWithOneLine("RAID-0 has no redundancy");
        assertThat(scemu("status", dir).ok().out()).contains("optimal").doesNotContain("FAILED");

        flipSuperblockByte(dir.resolve("disk1.img"));
        scemu("status", dir).failsWithOneLine("RAID-0 has no redundancy")
                .failsWithOneLine("member 1: md superblock checksum mismatch");
    }
}
