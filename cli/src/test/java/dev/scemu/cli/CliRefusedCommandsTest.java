package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static dev.scemu.cli.CliTestSupport.imageHashes;
import static dev.scemu.cli.CliTestSupport.pattern;
import static dev.scemu.cli.CliTestSupport.read;
import static dev.scemu.cli.CliTestSupport.scemu;
import static dev.scemu.cli.CliTestSupport.writeVolume;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.unit.StorageControlUnit;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Commands that open a unit read-write and then refuse their arguments exit non-zero with one
 * clear line and leave every member image and the NVRAM byte-identical: the unit's read-write open
 * writes nothing until the first change (md's read-auto, docs/control.md). So do commands that
 * open it read-write and only look (inspect, export a key, list keys, scrub without repair).
 */
class CliRefusedCommandsTest {

    @Test
    void everyRefusedCommandLeavesEveryImageFileByteIdentical(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        ByteBuffer data = pattern(31, 64);
        writeVolume(dir, 0, data);
        scemu("snapshot", "create", dir, "kept").ok();
        writeVolume(dir, 8, pattern(32, 8)); // copied on write: the snapshot store holds entries
        scemu("backup", "create", dir, "--target", tmp.resolve("backups"), "--image-id", "b1").ok();
        Path garbage = tmp.resolve("garbage.img");
        Files.write(garbage, new byte[4096]);
        Path key = tmp.resolve("other-key");
        scemu("firmware", "keygen", "-o", key).ok();
        Path foreign = tmp.resolve("foreign.img");
        Path body = tmp.resolve("body");
        Files.write(body, new byte[8192]);
        scemu("firmware", "build", "--body", body, "--image-version", "9.0.0", "--key", key, "-o", foreign).ok();
        Path unitKey = tmp.resolve("unit-key.pem");
        scemu("firmware", "export-key", dir, "-o", unitKey).ok();
        Path older = tmp.resolve("older.img");
        scemu("firmware", "build", "--body", body, "--image-version", "0.9.0", "--key", unitKey, "-o", older).ok();
        Path lacking = tmp.resolve("lacking.img");
        scemu("firmware", "build", "--body", body, "--image-version", "2.0.0", "--key", unitKey, "--capability", "raid5",
                "-o", lacking).ok();

        Map<String, String> before = imageHashes(dir);
        assertThat(before).containsKeys("disk0.img", "disk1.img", "disk2.img", "disk3.img", "nvram.img");

        assertThat(refused(dir, before, "scemu: UNKNOWN_SNAPSHOT: no snapshot named 'no-such-name'", "snapshot", "delete",
                dir, "no-such-name").status()).as("as the snapshot layer's UNKNOWN_SNAPSHOT")
                .isEqualTo(ExitStatus.of(dev.scemu.core.ErrorCategory.NOT_FOUND));
        refused(dir, before, "scemu: UNKNOWN_SNAPSHOT: no snapshot named 'no-such-name'", "snapshot", "rollback", dir,
                "no-such-name");
        refused(dir, before, "scemu: UNKNOWN_SNAPSHOT: no snapshot with id 7", "snapshot", "rollback", dir, "--id", "7");
        refused(dir, before, "DUPLICATE_NAME", "snapshot", "create", dir, "kept");
        assertThat(scemu("snapshot", "rollback", dir, "").failsWithOneLine("no snapshot named ''").errorLines())
                .as("an empty name is no id").doesNotContain("--id");
        assertThat(scemu("snapshot", "rollback", dir, "7").failsWithOneLine("no snapshot named '7'").errorLines())
                .contains("use --id 7");
        refused(dir, before, "outside 0..3", "disk", "replace", dir, 9);
        refused(dir, before, "only a failed disk can be replaced", "disk", "replace", dir, 0);
        refused(dir, before, "outside 0..3", "disk", "fail", dir, 9);
        refused(dir, before, "BAD_MAGIC", "firmware", "update", dir, garbage);
        assertThat(refused(dir, before, "UNKNOWN_KEY", "firmware", "update", dir, foreign).status())
                .as("an image of an untrusted key exits with UNTRUSTED's status, as a bad signature does")
                .isEqualTo(ExitStatus.of(dev.scemu.core.ErrorCategory.UNTRUSTED));
        refused(dir, before, "refused, nothing staged: downgrade", "firmware", "update", dir, older);
        refused(dir, before, "lacks capabilities", "firmware", "update", dir, lacking);
        refused(dir, before, "outside the flash image", "firmware", "corrupt", dir, "--offset", "1G");
        assertThat(refused(dir, before, "scemu: IMAGE_EXISTS: an image b1 already exists", "backup", "create", dir,
                "--target", tmp.resolve("backups"), "--image-id", "b1").status()).as("the library's IMAGE_EXISTS status")
                .isEqualTo(ExitStatus.of(dev.scemu.core.ErrorCategory.INVALID_ARGUMENT));
        refused(dir, before, "IMAGE_NOT_FOUND", "backup", "create", dir, "--target", tmp.resolve("backups"),
                "--base", "no-such-image");
        refused(dir, before, "IMAGE_NOT_FOUND", "backup", "create", dir, "--target", tmp.resolve("no-backups-yet"),
                "--base", "b1"); // the base is checked beside the unit open, on a target of its own
        assertThat(refused(dir, before, "BASE_MISMATCH: base image b1", "backup", "create", dir, "--target",
                tmp.resolve("backups"), "--base", "b1").status()) // b1's snapshot was deleted after it (no --keep-snapshot)
                .as("the library's BASE_MISMATCH status").isEqualTo(ExitStatus.of(dev.scemu.core.ErrorCategory.INVALID_ARGUMENT));
        refused(dir, before, "not marked restore incomplete", "backup", "clear-incomplete", dir);
        refused(dir, before, "no trusted key has fingerprint", "firmware", "trust", "remove", dir, "0123456789abcdef");

        scemu("firmware", "inspect", dir).ok();
        scemu("firmware", "trust", "list", dir).ok();
        scemu("firmware", "export-key", dir, "-o", tmp.resolve("exported")).ok();
        scemu("scrub", dir).ok();
        assertThat(imageHashes(dir)).as("after commands that only look").isEqualTo(before);

        scemu("snapshot", "delete", dir, "kept").ok();
        assertThat(imageHashes(dir)).as("a command that changes something writes").isNotEqualTo(before);
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(read(unit.host(), 0, 8)).isEqualTo(data.clear().limit(8 * 4096));
            assertThat(unit.snapshots().listSnapshots()).isEmpty();
        }
    }

    /** A backup of a half-restored volume would lose the mark: its restore would leave a volume that looks whole. */
    @Test
    void aBackupOfAVolumeMarkedRestoreIncompleteIsRefused(@TempDir Path tmp) {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        writeVolume(dir, 0, pattern(33, 16));
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            unit.snapshots().markRestoreIncomplete("image b0"); // what a restore killed after its first write leaves
        }
        Map<String, String> before = imageHashes(dir);
        Path backups = tmp.resolve("backups");
        assertThat(refused(dir, before, "is marked restore incomplete (image b0)", "backup", "create", dir,
                "--target", backups, "--image-id", "half").status())
                .isEqualTo(ExitStatus.of(dev.scemu.core.ErrorCategory.INVALID_STATE));
        assertThat(backups.resolve("half.scb")).doesNotExist();
        assertThat(scemu("snapshot", "list", dir).ok().out()).doesNotContain("backup half");

        scemu("backup", "clear-incomplete", dir).ok();
        scemu("backup", "create", dir, "--target", backups, "--image-id", "whole").ok();
    }

    /**
     * A backup names its snapshot 'backup <image id>'; when an earlier backup under that id kept its
     * snapshot (into another backup directory), the new one is refused before its snapshot is taken,
     * with a line that names the image id, the snapshot in the way and both ways out, not only "a
     * snapshot named 'backup k1' already exists".
     */
    @Test
    void anImageIdWhoseSnapshotNameIsTakenIsRefusedNamingTheConflict(@TempDir Path tmp) {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        writeVolume(dir, 0, pattern(35, 16));
        assertThat(scemu("backup", "create", dir, "--target", tmp.resolve("first"), "--image-id", "k1", "--keep-snapshot")
                .ok().out()).contains("snapshot 1 kept");
        Map<String, String> before = imageHashes(dir);
        Path second = tmp.resolve("second");
        CliTestSupport.Result conflict = refused(dir, before, "scemu: DUPLICATE_NAME: image id k1 conflicts with snapshot 1"
                + " 'backup k1'", "backup", "create", dir, "--target", second, "--image-id", "k1");
        assertThat(conflict.errorLines()).contains("an earlier backup k1 kept its snapshot with --keep-snapshot")
                .contains("choose another --image-id").contains("'scemu snapshot delete " + dir + " --id 1'");
        assertThat(conflict.status()).as("DUPLICATE_NAME's category, as an image id that exists")
                .isEqualTo(ExitStatus.of(dev.scemu.core.ErrorCategory.INVALID_ARGUMENT));
        assertThat(second.resolve("k1.scb")).doesNotExist();
        assertThat(scemu("snapshot", "list", dir).ok().out()).containsOnlyOnce("backup k1");

        scemu("backup", "create", dir, "--target", second, "--image-id", "k2").ok();
    }

    /**
     * A second 'disk fail' on a degraded RAID-5 (or the last in-sync mirror) is refused as mdadm
     * refuses it: it said "array degraded", failed every read and write, and the unit no longer
     * assembled (NOT_ENOUGH_MEMBERS), though no byte of the data was lost.
     */
    @Test
    void failingADiskTheArrayCannotRunWithoutIsRefused(@TempDir Path tmp) {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        ByteBuffer data = pattern(34, 64);
        writeVolume(dir, 0, data);
        assertThat(scemu("disk", "fail", dir, 0).ok().out()).contains("disk 0 failed; array degraded");
        Map<String, String> before = imageHashes(dir);
        assertThat(refused(dir, before, "failing disk 1 would fail the array", "disk", "fail", dir, 1).errorLines())
                .contains("RAID5 of 4 disks needs 3 in sync and disk 0 FAILED")
                .contains("'scemu disk replace " + dir + " N'");
        assertThat(scemu("disk", "fail", dir, 3).status()).isEqualTo(ExitStatus.of(dev.scemu.core.ErrorCategory.INVALID_STATE));
        assertThat(scemu("status", dir).ok().out()).contains("DEGRADED").contains("disk 1   ACTIVE");
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(read(unit.host(), 0, 64)).isEqualTo(data.clear());
        }

        Path mirror = tmp.resolve("mirror");
        scemu("create", mirror, "--level", "1", "--disks", "2", "--disk-size", "16M").ok();
        scemu("disk", "fail", mirror, 1).ok();
        refused(mirror, imageHashes(mirror), "RAID1 of 2 disks needs 1 in sync and disk 1 FAILED", "disk", "fail",
                mirror, 0);
    }

    private static CliTestSupport.Result refused(Path dir, Map<String, String> before, String expected, Object... args) {
        CliTestSupport.Result result = scemu(args).failsWithOneLine(expected);
        assertThat(imageHashes(dir)).as("after %s", java.util.Arrays.toString(args)).isEqualTo(before);
        return result;
    }
}
