package dev.scemu.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.backup.internal.DirectoryBackupTarget;
import dev.scemu.core.BlockDevice;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The two halves a caller can run beside its own start-up work: the key of a new image derived
 * before the backup ({@link BackupEngine#deriveImageKey}), and an image chain checked before the
 * destination is opened ({@link BackupEngine#checkForRestore}). Each gives what the one-call form
 * gives; a key serves one image only and must match the options; a check that fails or is
 * interrupted leaves nothing open and no destination was ever involved.
 */
class KeyAheadAndCheckedImageTest {

    static final char[] PASSWORD = "ahead of time".toCharArray();
    static final int BLOCK_SIZE = 4096;
    static final long BLOCKS = 4096; // 16 MiB, 16 windows of 1 MiB

    @TempDir
    Path dir;

    private final ExecutorService executor = Executors.newSingleThreadExecutor();

    @AfterEach
    void stop() {
        executor.shutdownNow();
    }

    private static BackupOptions options(String imageId) {
        return BackupOptions.defaults().withChunkSizeBytes(1 << 20).withThreads(2).withKdf(KdfParameters.TEST_ONLY_WEAK)
                .withImageId(imageId).withPassword(PASSWORD);
    }

    private static RestoreOptions restoreOptions() {
        return RestoreOptions.defaults().withThreads(2);
    }

    @Test
    void aKeyDerivedBeforehandMakesAnImageThatOpensWithThePassword() {
        DirectoryBackupTarget target = new DirectoryBackupTarget(dir);
        try (BlockDevice source = Volumes.create("src", BLOCK_SIZE, BLOCKS, Volumes.Kind.SPARSE, 41);
             BlockDevice restored = Volumes.patterned("dst", BLOCK_SIZE, BLOCKS)) {
            BackupOptions options = options("ahead");
            ImageInfo info;
            try (ImageKey key = BackupEngine.deriveImageKey(options)) {
                assertThat(key.kdf()).isEqualTo(KdfParameters.TEST_ONLY_WEAK);
                info = BackupEngine.backup(BackupSource.ofDevice(source, "v", "s"), target, options, key).info();
            }
            assertThat(info.encrypted()).isTrue();
            assertThat(BackupEngine.verify(target, "ahead", PASSWORD).dataBytes())
                    .isEqualTo(info.storedBlockCount() * BLOCK_SIZE);
            assertThatThrownBy(() -> BackupEngine.info(target, "ahead", "other".toCharArray()))
                    .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.code()).isEqualTo(BackupError.WRONG_PASSWORD));
            BackupEngine.restore(target, "ahead", PASSWORD, restored, restoreOptions());
            Volumes.assertSameBlocks(source, restored, BLOCKS);
        }
    }

    @Test
    void aKeyServesOneImageAndMustMatchTheOptions() {
        DirectoryBackupTarget target = new DirectoryBackupTarget(dir);
        try (BlockDevice source = Volumes.create("src", BLOCK_SIZE, BLOCKS, Volumes.Kind.SPARSE, 42)) {
            ImageKey key = BackupEngine.deriveImageKey(options("first"));
            BackupEngine.backup(BackupSource.ofDevice(source, "v", "s"), target, options("first"), key);
            assertRefused(() -> BackupEngine.backup(BackupSource.ofDevice(source, "v", "s"), target, options("second"), key),
                    "used by a backup already");

            ImageKey weak = BackupEngine.deriveImageKey(options("x"));
            assertRefused(() -> BackupEngine.backup(BackupSource.ofDevice(source, "v", "s"), target,
                    options("second").withKdf(new KdfParameters(128, 1, 1)), weak), "derived with");
            assertRefused(() -> BackupEngine.backup(BackupSource.ofDevice(source, "v", "s"), target,
                    options("second").withPassword(null), weak), "without the password");
            weak.close();
            weak.close(); // idempotent
            assertRefused(() -> BackupEngine.backup(BackupSource.ofDevice(source, "v", "s"), target, options("second"), weak),
                    "closed");
            assertRefused(() -> BackupEngine.deriveImageKey(options("y").withPassword(null)), "needs a password");
            assertThat(target.list()).as("no refused backup left an image").containsExactly("first");
            assertThat(dir.resolve("second.scb.partial")).doesNotExist();
        }
    }

    @Test
    void aCheckedImageRestoresLikeTheOneCallRestoreAndChecksOnlyOnce() {
        DirectoryBackupTarget target = new DirectoryBackupTarget(dir);
        try (BlockDevice source = Volumes.create("src", BLOCK_SIZE, BLOCKS, Volumes.Kind.SPARSE, 43);
             BlockDevice restored = Volumes.patterned("dst", BLOCK_SIZE, BLOCKS);
             BlockDevice again = Volumes.patterned("dst2", BLOCK_SIZE, BLOCKS)) {
            ImageInfo info = BackupEngine.backup(BackupSource.ofDevice(source, "v", "s"), target, options("img")).info();
            CheckedImage checked = BackupEngine.checkForRestore(target, "img", PASSWORD, restoreOptions());
            assertThat(checked.verified()).isTrue();
            assertThat(checked.chain()).containsExactly(BackupEngine.info(target, "img", PASSWORD));
            RestoreResult result = BackupEngine.restore(checked, restored, restoreOptions());
            assertThat(result.dataBytes()).isEqualTo(info.storedBlockCount() * BLOCK_SIZE);
            Volumes.assertSameBlocks(source, restored, BLOCKS);
            checked.close();
            checked.close(); // idempotent
            assertRefused(() -> BackupEngine.restore(checked, again, restoreOptions()), "is closed");

            // checked without the integrity pass: the restore runs it before its first write
            try (CheckedImage light = BackupEngine.checkForRestore(target, "img", PASSWORD,
                    restoreOptions().withVerifyFirst(false))) {
                assertThat(light.verified()).isFalse();
                BackupEngine.restore(light, again, restoreOptions());
                assertThat(light.verified()).isTrue();
            }
            Volumes.assertSameBlocks(source, again, BLOCKS);
        }
    }

    @Test
    void aCheckRefusesAWrongPasswordOrADamagedChunkBeforeAnyDestinationExists() throws Exception {
        DirectoryBackupTarget target = new DirectoryBackupTarget(dir);
        try (BlockDevice source = Volumes.create("src", BLOCK_SIZE, BLOCKS, Volumes.Kind.SPARSE, 44)) {
            BackupEngine.backup(BackupSource.ofDevice(source, "v", "s"), target, options("img"));
        }
        assertThatThrownBy(() -> BackupEngine.checkForRestore(target, "img", "wrong".toCharArray(), restoreOptions()))
                .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.code()).isEqualTo(BackupError.WRONG_PASSWORD));
        Path image = dir.resolve("img.scb");
        byte[] bytes = Files.readAllBytes(image);
        bytes[bytes.length / 2] ^= 1; // inside a chunk's stored bytes: only the integrity pass sees it
        Files.write(image, bytes);
        assertThatThrownBy(() -> BackupEngine.checkForRestore(target, "img", PASSWORD, restoreOptions()))
                .isInstanceOfSatisfying(BackupException.class, e -> assertThat(e.code()).isEqualTo(BackupError.CORRUPT_IMAGE));
    }

    @Test
    void anInterruptedCheckStopsAndClosesWhatItOpened() throws Exception {
        DirectoryBackupTarget directory = new DirectoryBackupTarget(dir);
        try (BlockDevice source = Volumes.create("src", BLOCK_SIZE, BLOCKS, Volumes.Kind.INCOMPRESSIBLE, 45)) {
            BackupEngine.backup(BackupSource.ofDevice(source, "v", "s"), directory, options("img"));
        }
        CountDownLatch reached = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        GatedTarget target = new GatedTarget(directory, reached, release);
        AtomicReference<Thread> checking = new AtomicReference<>();
        Future<CheckedImage> check = executor.submit(() -> {
            checking.set(Thread.currentThread());
            return BackupEngine.checkForRestore(target, "img", PASSWORD, restoreOptions());
        });
        assertThat(reached.await(30, TimeUnit.SECONDS)).as("the integrity pass reads a chunk").isTrue();
        checking.get().interrupt(); // the caller gives up (the CLI: the unit could not be opened)
        release.countDown();
        assertThatThrownBy(() -> check.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOfSatisfying(BackupException.class,
                        e -> assertThat(e.code()).isEqualTo(BackupError.INTERRUPTED));
        assertThat(target.opened()).isPositive();
        assertThat(target.open()).as("image readers not closed").isZero();
        // nothing stays broken: the next check of the same image passes
        try (CheckedImage again = BackupEngine.checkForRestore(directory, "img", PASSWORD, restoreOptions())) {
            assertThat(again.verified()).isTrue();
        }
    }

    private static void assertRefused(Runnable call, String message) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(BackupException.class, e -> {
            assertThat(e.code()).isEqualTo(BackupError.INVALID_ARGUMENT);
            assertThat(e.getMessage()).contains(message);
        });
    }

    /** A target whose image readers hold the first read of chunk data (over 64 KiB) until released; counts opens and closes. */
    private static final class GatedTarget extends CountingTarget {
        private final CountDownLatch reached;
        private final CountDownLatch release;

        GatedTarget(BackupTarget delegate, CountDownLatch reached, CountDownLatch release) {
            super(delegate);
            this.reached = reached;
            this.release = release;
        }

        @Override
        public String name() {
            return "gated(" + delegate.name() + ")";
        }

        @Override
        protected void beforeRead(long offset, ByteBuffer dst) {
            if (dst.remaining() > 64 << 10) {
                reached.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new BackupException(BackupError.INTERRUPTED, "test: interrupted in a read", e);
                }
            }
        }
    }
}
