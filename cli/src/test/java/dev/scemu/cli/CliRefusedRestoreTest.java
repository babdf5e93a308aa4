package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static dev.scemu.cli.CliTestSupport.imageHashes;
import static dev.scemu.cli.CliTestSupport.passwordFile;
import static dev.scemu.cli.CliTestSupport.pattern;
import static dev.scemu.cli.CliTestSupport.read;
import static dev.scemu.cli.CliTestSupport.scemu;
import static dev.scemu.cli.CliTestSupport.writeVolume;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.Extent;
import dev.scemu.snapshot.SnapshotVolume;
import dev.scemu.unit.StorageControlUnit;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code scemu backup restore} of an image it refuses (wrong password, a flipped byte in a chunk,
 * a truncated image, an image that is not there) changes no byte of the unit's member images or
 * NVRAM: the unit's read-write open writes nothing until the first change (md's read-auto), and
 * the restore writes its first byte (the restore-incomplete mark, {@link RestoreDestination}) only
 * after the image passed its check.
 */
class CliRefusedRestoreTest {

    @Test
    void aRefusedImageLeavesEveryImageFileByteIdenticalAndAGoodOneStillRestores(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("unit");
        Path backups = tmp.resolve("backups");
        Path forged = tmp.resolve("forged");
        createSmallUnit(dir);
        ByteBuffer imaged = pattern(21, 256);
        writeVolume(dir, 0, imaged);
        Path password = passwordFile(tmp, "correct horse");
        Path wrong = passwordFile(tmp, "battery staple");
        scemu("backup", "create", dir, "--target", backups, "--image-id", "full", "--password-file", password).ok();
        ByteBuffer later = pattern(22, 256);
        writeVolume(dir, 0, later);
        Path image = backups.resolve("full.scb");
        assertThat(image).exists();
        byte[] bytes = Files.readAllBytes(image);
        Files.createDirectories(forged);

        Map<String, String> before = imageHashes(dir);
        assertThat(before).containsKeys("disk0.img", "nvram.img");

        scemu("backup", "restore", dir, "full", "--target", backups, "--password-file", wrong)
                .failsWithOneLine("WRONG_PASSWORD");
        assertThat(imageHashes(dir)).as("after a wrong password").isEqualTo(before);

        byte[] flipped = bytes.clone();
        flipped[bytes.length / 2] ^= 1;
        Files.write(forged.resolve("full.scb"), flipped);
        scemu("backup", "restore", dir, "full", "--target", forged, "--password-file", password)
                .failsWithOneLine("CORRUPT_IMAGE");
        assertThat(imageHashes(dir)).as("after a flipped byte in the middle of the image").isEqualTo(before);

        Files.write(forged.resolve("full.scb"), Arrays.copyOf(bytes, bytes.length - 100));
        scemu("backup", "restore", dir, "full", "--target", forged, "--password-file", password)
                .failsWithOneLine("TRUNCATED_IMAGE");
        assertThat(imageHashes(dir)).as("after a truncated image").isEqualTo(before);

        scemu("backup", "restore", dir, "missing", "--target", backups, "--password-file", password)
                .failsWithOneLine("IMAGE_NOT_FOUND");
        assertThat(imageHashes(dir)).as("after an image that is not there").isEqualTo(before);

        writeVolume(dir, 1000, pattern(23, 64)); // zero in the image: the restore must trim it back to zeros
        assertThat(scemu("backup", "restore", dir, "full", "--target", backups, "--password-file", password)
                .ok().out()).contains("restored full");
        assertThat(imageHashes(dir)).as("a restore that writes changes the files").isNotEqualTo(before);
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(read(unit.host(), 0, 256)).isEqualTo(imaged);
            assertThat(read(unit.host(), 1000, 64)).as("a zero run of the image over data").isEqualTo(read(unit.host(), 2000, 64))
                    .isEqualTo(ByteBuffer.allocateDirect(64 * 4096));
            assertThat(unit.snapshots().restoreIncomplete()).isEmpty();
        }
    }

    /**
     * A restore whose overwrites the snapshot store cannot hold while a snapshot needs the old
     * contents is refused before its first write, in its own process (status 12, NO_SPACE), with
     * the figures: the blocks it writes, those a snapshot still needs, the store blocks their copies
     * may take and the free ones. It used to be refused only when the store ran out, half-way, and
     * left the volume half restored and marked restore incomplete.
     */
    @Test
    void aRestoreTheSnapshotStoreCannotHoldIsRefusedBeforeItsFirstWrite(@TempDir Path tmp) {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir); // 12 MiB snapshot store
        writeVolume(dir, 0, pattern(41, 4096));
        Path backups = tmp.resolve("backups");
        scemu("backup", "create", dir, "--target", backups, "--image-id", "full").ok();
        writeVolume(dir, 0, pattern(42, 4096));
        scemu("snapshot", "create", dir, "keep").ok(); // every restored block needs a copy for it: 16 MiB > 12 MiB
        Map<String, String> before = imageHashes(dir);

        CliTestSupport.ProcessResult refused = CliTestSupport.scemuProcess("backup", "restore", dir, "full",
                "--target", backups);
        assertThat(refused.exitCode()).as(refused.output()).isEqualTo(ExitStatus.of(dev.scemu.core.ErrorCategory.NO_SPACE))
                .isEqualTo(12);
        assertThat(imageHashes(dir)).as("refused before the first write: no byte changed, no mark").isEqualTo(before);
        SnapshotVolume.OverwriteCost cost;
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            // a full image covers the volume: its 4096 blocks of data are written, its zero runs zeroed
            long blocks = unit.host().blockCount();
            cost = unit.snapshots().overwriteCost(List.of(Extent.of(0, 4096)), List.of(Extent.of(0, blocks)));
            assertThat(cost.blocks()).isEqualTo(blocks);
            assertThat(cost.mappingEntriesNeeded()).as("the written blocks; zeros over the zeros cost nothing")
                    .isEqualTo(4096);
            assertThat(cost.storeBlocksNeeded()).isGreaterThanOrEqualTo(4096).isGreaterThan(cost.freeStoreBlocks());
            assertThat(unit.snapshots().restoreIncomplete()).isEmpty();
        }
        assertThat(refused.output().strip().lines().reduce((first, last) -> last).orElse("")).isEqualTo("scemu: STORE_FULL:"
                + " restore of image full onto " + dir + " may overwrite " + cost.blocks() + " blocks, "
                + cost.mappingEntriesNeeded() + " of them with old contents 1 snapshot(s) still need: up to "
                + cost.storeBlocksNeeded() + " snapshot store blocks for their copies, but " + cost.freeStoreBlocks()
                + " of " + cost.storeBlocks() + " are free (policy REFUSE_WRITE); refused before the first write,"
                + " nothing was written: delete snapshots to free the store");
        assertThat(scemu("status", dir).ok().out()).doesNotContain("INCOMPLETE");

        scemu("snapshot", "delete", dir, "keep").ok();
        scemu("backup", "restore", dir, "full", "--target", backups).ok();
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(read(unit.host(), 0, 4096)).isEqualTo(pattern(41, 4096));
            assertThat(unit.snapshots().restoreIncomplete()).isEmpty();
        }
    }

    /** A restore whose copies the store holds runs with the snapshot in place, which keeps its view. */
    @Test
    void aRestoreTheSnapshotStoreCanHoldRunsAndTheSnapshotKeepsItsView(@TempDir Path tmp) {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        writeVolume(dir, 0, pattern(43, 512));
        Path backups = tmp.resolve("backups");
        scemu("backup", "create", dir, "--target", backups, "--image-id", "small").ok();
        writeVolume(dir, 0, pattern(44, 512));
        scemu("snapshot", "create", dir, "keep").ok();
        scemu("backup", "restore", dir, "small", "--target", backups).ok();
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(read(unit.host(), 0, 512)).isEqualTo(pattern(43, 512));
            long keep = unit.snapshots().listSnapshots().get(0).id();
            assertThat(read(unit.snapshots().snapshot(keep), 0, 512)).isEqualTo(pattern(44, 512));
            assertThat(unit.snapshots().storeUsage().usedStoreBlocks()).isGreaterThanOrEqualTo(512);
        }
    }
    /**
     * A mostly empty volume whose store holds fewer mapping entries than the volume has blocks: the
     * image's zero runs over its holes cost nothing (zeros over zeros), so the restore fits and runs.
     * Counted as writes, every block of the volume took an entry and the restore was refused
     * (STORE_FULL, "6272000 mapping entries, 344591 free" on a 24 GiB volume).
     */
    @Test
    void zeroRunsOverTheHolesOfASparseVolumeCostTheStoreNothing(@TempDir Path tmp) {
        Path dir = tmp.resolve("unit");
        scemu("create", dir, "--disk-size", "64M", "--snapshot-store", "2M").ok();
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            SnapshotVolume.StoreUsage usage = unit.snapshots().storeUsage();
            assertThat(usage.maxMappingEntries()).as("the test's premise").isLessThan(unit.host().blockCount());
        }
        writeVolume(dir, 0, pattern(45, 64));
        Path backups = tmp.resolve("backups");
        scemu("backup", "create", dir, "--target", backups, "--image-id", "sparse").ok();
        writeVolume(dir, 0, pattern(46, 64));
        scemu("snapshot", "create", dir, "keep").ok();
        scemu("backup", "restore", dir, "sparse", "--target", backups).ok();
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(read(unit.host(), 0, 64)).isEqualTo(pattern(45, 64));
            long keep = unit.snapshots().listSnapshots().get(0).id();
            assertThat(read(unit.snapshots().snapshot(keep), 0, 64)).isEqualTo(pattern(46, 64));
        }
    }
}
