package dev.scemu.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.scemu.backup.IncrementalBackupTest.TrackedVolume;
import dev.scemu.backup.internal.DirectoryBackupTarget;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An incremental belongs to one volume and one snapshot lineage: its base must be of the same
 * volume (the id the engine is given: random per unit) and be the very image it was made on
 * (whole-image hash); a full restore goes anywhere. Image ids are random unless seeded.
 */
class BaseLineageTest {

    static final char[] PASSWORD = "lineage".toCharArray();
    static final int BLOCK_SIZE = 4096;
    static final long BLOCKS = 200;

    @TempDir
    Path dir;

    private static BackupOptions options() {
        return BackupOptions.defaults().withChunkSizeBytes(16 * BLOCK_SIZE).withThreads(2)
                .withKdf(KdfParameters.TEST_ONLY_WEAK).withPassword(PASSWORD);
    }

    /** A unit's volume: random id (as every unit now has), some data. */
    private static TrackedVolume unit(String name, long seed) {
        TrackedVolume volume = new TrackedVolume(Media.memory(name, new BlockGeometry(BLOCK_SIZE, BLOCKS)), seed,
                UUID.randomUUID().toString());
        for (long lba = 0; lba < BLOCKS; lba += 4) {
            volume.write(lba);
        }
        return volume;
    }

    private static Map<String, byte[]> files(Path root) {
        Map<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.filter(Files::isRegularFile).toList()) {
                files.put(root.relativize(p).toString(), Files.readAllBytes(p));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return files;
    }

    @Test
    void anIncrementalOfOneUnitOnTheBaseOfAnotherIsRefusedEvenWhenTheSnapshotTokensCollide() {
        try (TrackedVolume a = unit("unit-a", 1); TrackedVolume b = unit("unit-b", 2);
             BackupTarget target = BackupTarget.directory(dir)) {
            // both units number their snapshots the same way: unit B can answer "changed since
            // snapshot-1@1" about its own snapshot of that name, which is what went wrong before
            BackupEngine.backup(a.snapshot("snapshot-1@1"), target, options().withImageId("a-full"));
            b.snapshot("snapshot-1@1");
            b.write(7);
            Map<String, byte[]> before = files(dir);
            BackupException e = catchThrowableOfType(BackupException.class, () -> BackupEngine.backup(
                    b.snapshot("snapshot-2@2"), target, options().withImageId("b-inc").withBase("a-full")));
            assertThat(e.code()).isEqualTo(BackupError.BASE_MISMATCH);
            assertThat(e.getMessage()).contains("a-full").contains(a.volumeId).contains(b.volumeId);
            assertThat(files(dir)).as("nothing written to the target").containsExactlyEntriesOf(before);
            assertThat(target.list()).containsExactly("a-full");
        }
    }

    @Test
    void anIncrementalOnTheSameVolumeIsAcceptedAndItsChainRestoresOntoAnotherUnit() {
        try (TrackedVolume a = unit("unit-a", 3); TrackedVolume b = unit("unit-b", 4);
             BackupTarget target = BackupTarget.directory(dir)) {
            BackupEngine.backup(a.snapshot("s1"), target, options().withImageId("full"));
            for (int i = 0; i < 20; i++) {
                a.write(a.random.nextInt((int) BLOCKS));
            }
            BackupResult inc = BackupEngine.backup(a.snapshot("s2"), target, options().withImageId("inc").withBase("full"));
            assertThat(inc.info().baseImageId()).isEqualTo("full");
            assertThat(inc.info().sourceVolumeId()).isEqualTo(a.volumeId);
            byte[] expected = Volumes.content(a.device);
            // a full restore has no base check: unit B (another volume id) receives unit A's data
            RestoreResult restored = BackupEngine.restore(target, "inc", PASSWORD.clone(), b.device, RestoreOptions.defaults());
            assertThat(restored.chain()).extracting(ImageInfo::imageId).containsExactly("full", "inc");
            assertThat(Volumes.content(b.device)).isEqualTo(expected);
        }
    }

    /**
     * {@link BackupEngine#checkBase} makes backup's base checks without a source, so a caller can
     * refuse a base before it takes its snapshot: the base's info for the right volume, and the
     * errors backup would throw otherwise (no such image, another volume, a wrong password).
     */
    @Test
    void checkBaseAnswersBeforeASnapshotExistsWhatBackupWouldSayOfTheBase() {
        try (TrackedVolume a = unit("unit-a", 12); BackupTarget target = BackupTarget.directory(dir)) {
            BackupEngine.backup(a.snapshot("snapshot-1@1"), target, options().withImageId("full"));
            BlockGeometry geometry = a.device.geometry();
            ImageInfo base = BackupEngine.checkBase(target, options().withBase("full"), a.volumeId, geometry);
            assertThat(base.imageId()).isEqualTo("full");
            assertThat(base.snapshotToken()).isEqualTo("snapshot-1@1");
            assertThat(catchThrowableOfType(BackupException.class, () -> BackupEngine.checkBase(target,
                    options().withBase("missing"), a.volumeId, geometry)).code()).isEqualTo(BackupError.IMAGE_NOT_FOUND);
            assertThat(catchThrowableOfType(BackupException.class, () -> BackupEngine.checkBase(target,
                    options().withBase("full"), UUID.randomUUID().toString(), geometry)).code())
                    .isEqualTo(BackupError.BASE_MISMATCH);
            assertThat(catchThrowableOfType(BackupException.class, () -> BackupEngine.checkBase(target,
                    options().withBase("full"), a.volumeId, new BlockGeometry(BLOCK_SIZE, BLOCKS + 1))).code())
                    .isEqualTo(BackupError.BASE_MISMATCH);
            assertThat(catchThrowableOfType(BackupException.class, () -> BackupEngine.checkBase(target,
                    options().withBase("full").withPassword("wrong".toCharArray()), a.volumeId, geometry)).code())
                    .isEqualTo(BackupError.WRONG_PASSWORD);
        }
    }

    @Test
    void aBaseReplacedByAnImageWithTheSameVolumeAndTokenIsCaughtByTheRecordedHash() throws IOException {
        Path first = dir.resolve("first");
        Path second = dir.resolve("second");
        try (TrackedVolume a = unit("unit-a", 6)) {
            BackupEngine.backup(a.snapshot("s1"), BackupTarget.directory(first), options().withImageId("full"));
            a.write(9);
            BackupEngine.backup(a.snapshot("s2"), BackupTarget.directory(first), options().withImageId("inc").withBase("full"));
            a.write(11);
            // same id, same volume, same snapshot token "s1" (a token a unit reused), other contents
            BackupEngine.backup(a.snapshot("s1"), BackupTarget.directory(second), options().withImageId("full"));
        }
        DirectoryBackupTarget target = new DirectoryBackupTarget(first);
        Files.copy(new DirectoryBackupTarget(second).imagePath("full"), target.imagePath("full"),
                StandardCopyOption.REPLACE_EXISTING);
        BackupException e = catchThrowableOfType(BackupException.class,
                () -> BackupEngine.verify(target, "inc", PASSWORD.clone()));
        assertThat(e.code()).isEqualTo(BackupError.BASE_MISMATCH);
        assertThat(e.getMessage()).contains("whole-image hash").contains("replaced base");
    }

    @Test
    void imageIdsAreRandomUnlessASimulationSeedIsGiven() {
        try (TrackedVolume a = unit("unit-a", 7); BackupTarget one = BackupTarget.directory(dir.resolve("one"));
             BackupTarget two = BackupTarget.directory(dir.resolve("two"))) {
            String first = BackupEngine.backup(a.snapshot("x"), one, options()).imageId();
            String second = BackupEngine.backup(a.snapshot("y"), one, options()).imageId();
            assertThat(first).isNotEqualTo(second);
            assertThat(UUID.fromString(first).version()).isEqualTo(4);
            String seeded = BackupEngine.backup(a.snapshot("z"), one, options().withSimulationSeed(42L)).imageId();
            String again = BackupEngine.backup(a.snapshot("w"), two, options().withSimulationSeed(42L)).imageId();
            assertThat(seeded).isEqualTo(again).isNotIn(first, second);
            assertThat(UUID.fromString(seeded).version()).isEqualTo(4);
        }
    }
}
