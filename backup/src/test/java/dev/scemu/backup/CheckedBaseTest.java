package dev.scemu.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.scemu.backup.IncrementalBackupTest.TrackedVolume;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An incremental's base checked before the source exists ({@link BackupEngine#checkBase(BackupTarget, BackupOptions)}):
 * the backup takes it instead of opening the base (and running its Argon2id) again, and makes the same
 * image it makes without it; a checked base that does not fit the backup (another image, another
 * password, another volume, no base in the options, a foreign implementation) is refused before
 * anything is written.
 */
class CheckedBaseTest {

    static final char[] PASSWORD = "checked base".toCharArray();
    static final int BLOCK_SIZE = 4096;
    static final long BLOCKS = 256;

    @TempDir
    Path dir;

    private static BackupOptions options(String imageId) {
        return BackupOptions.defaults().withChunkSizeBytes(16 * BLOCK_SIZE).withThreads(2)
                .withKdf(KdfParameters.TEST_ONLY_WEAK).withPassword(PASSWORD).withImageId(imageId);
    }

    private static TrackedVolume volume(String name, long seed) {
        TrackedVolume volume = new TrackedVolume(Media.memory(name, new BlockGeometry(BLOCK_SIZE, BLOCKS)), seed,
                UUID.randomUUID().toString());
        for (long lba = 0; lba < BLOCKS; lba += 3) {
            volume.write(lba);
        }
        return volume;
    }

    @Test
    void theBackupTakesTheCheckedBaseWithoutOpeningTheBaseAgainAndTheChainRestores() {
        try (TrackedVolume a = volume("a", 1); CountingTarget target = new CountingTarget(BackupTarget.directory(dir));
             BlockDevice restored = Media.memory("restored", new BlockGeometry(BLOCK_SIZE, BLOCKS))) {
            BackupEngine.backup(a.snapshot("s1"), target, options("full"));
            for (int i = 0; i < 30; i++) {
                a.write(a.random.nextInt((int) BLOCKS));
            }
            BackupOptions incremental = options("inc").withBase("full");
            CheckedBase base = BackupEngine.checkBase(target, incremental);
            assertThat(base.info().imageId()).isEqualTo("full");
            assertThat(base.info().snapshotToken()).isEqualTo("s1");
            base.checkVolume(a.volumeId, a.device.geometry());
            assertThat(target.opens("full")).isEqualTo(1);

            BackupResult result;
            try (ImageKey key = BackupEngine.deriveImageKey(incremental)) {
                result = BackupEngine.backup(a.snapshot("s2"), target, incremental, key, base);
            }
            assertThat(target.opens("full")).as("the base is not opened again").isEqualTo(1);
            assertThat(result.info().baseImageId()).isEqualTo("full");

            byte[] expected = Volumes.content(a.device);
            RestoreResult restore = BackupEngine.restore(target, "inc", PASSWORD.clone(), restored, RestoreOptions.defaults());
            assertThat(restore.chain()).extracting(ImageInfo::imageId).containsExactly("full", "inc");
            assertThat(Volumes.content(restored)).isEqualTo(expected);
        }
    }

    @Test
    void anUnencryptedChainTakesACheckedBaseWithoutAKey() {
        try (TrackedVolume a = volume("a", 2); CountingTarget target = new CountingTarget(BackupTarget.directory(dir))) {
            BackupEngine.backup(a.snapshot("s1"), target, options("full").withPassword(null));
            a.write(7);
            BackupOptions incremental = options("inc").withPassword(null).withBase("full");
            CheckedBase base = BackupEngine.checkBase(target, incremental);
            BackupResult result = BackupEngine.backup(a.snapshot("s2"), target, incremental, null, base);
            assertThat(result.info().encrypted()).isFalse();
            assertThat(result.info().storedBlockCount()).isEqualTo(1);
            assertThat(target.opens("full")).isEqualTo(1);
            assertThat(BackupEngine.verify(target, "inc", null).chain()).extracting(ImageInfo::imageId)
                    .containsExactly("full", "inc");
        }
    }

    @Test
    void aCheckedBaseThatDoesNotFitTheBackupIsRefusedBeforeAnythingIsWritten() {
        try (TrackedVolume a = volume("a", 3); TrackedVolume b = volume("b", 4);
             BackupTarget target = BackupTarget.directory(dir)) {
            BackupEngine.backup(a.snapshot("s1"), target, options("full"));
            BackupEngine.backup(a.snapshot("s2"), target, options("other"));
            a.write(1);
            CheckedBase full = BackupEngine.checkBase(target, options("x").withBase("full"));

            // another image than the options name
            assertRefused(BackupError.INVALID_ARGUMENT, "options name base other",
                    () -> BackupEngine.backup(a.snapshot("s3"), target, options("inc1").withBase("other"), null, full));
            // checked with another password: a chain is restored with one password
            BackupOptions otherPassword = options("inc2").withBase("full").withPassword("another".toCharArray());
            assertRefused(BackupError.INVALID_ARGUMENT, "another password",
                    () -> BackupEngine.backup(a.snapshot("s4"), target, otherPassword, null, full));
            // no base in the options
            assertRefused(BackupError.INVALID_ARGUMENT, "name no base image",
                    () -> BackupEngine.backup(a.snapshot("s5"), target, options("inc3"), null, full));
            // not made by checkBase
            CheckedBase forged = new CheckedBase() {
                @Override
                public ImageInfo info() {
                    return full.info();
                }

                @Override
                public void checkVolume(String volumeId, BlockGeometry geometry) {
                }
            };
            assertRefused(BackupError.INVALID_ARGUMENT, "not made by BackupEngine.checkBase",
                    () -> BackupEngine.backup(a.snapshot("s6"), target, options("inc4").withBase("full"), null, forged));
            // another volume: by the check itself and by the backup
            assertThat(catchThrowableOfType(BackupException.class, () -> full.checkVolume(b.volumeId, b.device.geometry()))
                    .code()).isEqualTo(BackupError.BASE_MISMATCH);
            assertThat(catchThrowableOfType(BackupException.class, () -> full.checkVolume(a.volumeId,
                    new BlockGeometry(BLOCK_SIZE, BLOCKS + 1))).code()).isEqualTo(BackupError.BASE_MISMATCH);
            assertRefused(BackupError.BASE_MISMATCH, b.volumeId,
                    () -> BackupEngine.backup(b.snapshot("s7"), target, options("inc5").withBase("full"), null, full));

            assertThat(target.list()).containsExactlyInAnyOrder("full", "other");
        }
    }

    @Test
    void checkBaseRefusesWhatTheBackupWouldRefuse() {
        try (TrackedVolume a = volume("a", 5); BackupTarget target = BackupTarget.directory(dir)) {
            BackupEngine.backup(a.snapshot("s1"), target, options("full"));
            assertRefused(BackupError.INVALID_ARGUMENT, "name no base",
                    () -> BackupEngine.checkBase(target, options("x")));
            assertRefused(BackupError.IMAGE_NOT_FOUND, "missing",
                    () -> BackupEngine.checkBase(target, options("x").withBase("missing")));
            assertRefused(BackupError.WRONG_PASSWORD, "full",
                    () -> BackupEngine.checkBase(target, options("x").withBase("full").withPassword("wrong".toCharArray())));
            assertRefused(BackupError.PASSWORD_REQUIRED, "full",
                    () -> BackupEngine.checkBase(target, options("x").withBase("full").withPassword(null)));
        }
    }

    private static void assertRefused(BackupError code, String message, Runnable call) {
        BackupException e = catchThrowableOfType(BackupException.class, call::run);
        assertThat(e).as("refused with " + code).isNotNull();
        assertThat(e.code()).isEqualTo(code);
        assertThat(e.getMessage()).contains(message);
    }
}
