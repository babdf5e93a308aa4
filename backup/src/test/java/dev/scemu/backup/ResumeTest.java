package dev.scemu.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.IoCause;
import dev.scemu.core.Media;
import dev.scemu.core.PowerCutMode;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ResumeTest {

    static final char[] PASSWORD = "resume".toCharArray();
    static final long BLOCKS = 2048;

    @TempDir
    Path dir;

    private static BackupOptions options() {
        return BackupOptions.defaults().withChunkSizeBytes(64 * 1024).withThreads(2).withKdf(KdfParameters.TEST_ONLY_WEAK)
                .withPassword(PASSWORD).withCheckpointIntervalBytes(256 * 1024).withImageId("img");
    }

    @Test
    void resumesAnInterruptedBackupFromItsLastCheckpoint() {
        try (BlockDevice source = Volumes.create("src", 4096, BLOCKS, Volumes.Kind.INCOMPRESSIBLE, 31);
             BackupTarget target = BackupTarget.directory(dir)) {
            AtomicInteger released = new AtomicInteger();
            BackupSource snapshot = BackupSource.builder(source).volumeId("v").snapshotToken("snap-7")
                    .onRelease(released::incrementAndGet).build();
            BackupTarget failing = new FailingTarget(target, 5L << 20);
            assertThatThrownBy(() -> BackupEngine.backup(snapshot, failing, options()))
                    .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.TARGET_IO);
            assertThat(released).hasValue(1);
            assertThat(target.exists("img")).isFalse();
            assertThat(target.readCheckpoint("img.backup")).isPresent();

            assertThatThrownBy(() -> BackupEngine.resumeBackup(BackupSource.ofDevice(source, "v", "snap-8"), target, "img",
                    options())).extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.SOURCE_CHANGED);
            assertThatThrownBy(() -> BackupEngine.resumeBackup(snapshot, target, "img",
                    options().withPassword("bad".toCharArray())))
                    .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.WRONG_PASSWORD);

            source.meter().reset();
            BackupResult result = BackupEngine.resumeBackup(snapshot, target, "img", options());
            long reread = source.meter().snapshot().issuedRead(IoCause.HOST).bytes();
            assertThat(reread).isLessThan(BLOCKS * 4096 * 6 / 10).isGreaterThan(0);
            assertThat(result.info().storedBlockCount()).isEqualTo(BLOCKS);
            assertThat(target.readCheckpoint("img.backup")).isEmpty();

            BackupEngine.verify(target, "img", PASSWORD);
            try (BlockDevice restored = Volumes.patterned("dst", 4096, BLOCKS)) {
                BackupEngine.restore(target, "img", PASSWORD, restored, RestoreOptions.defaults());
                Volumes.assertSameBlocks(source, restored, BLOCKS);
            }
        }
    }

    /**
     * A caller that will not resume (its snapshot is gone, as in {@code scemu backup create}) drops
     * the partial image and its checkpoint; a committed image and an absent one are left alone.
     */
    @Test
    void discardPartialDropsWhatAFailedBackupLeftForAResume() throws Exception {
        try (BlockDevice source = Volumes.create("src", 4096, BLOCKS, Volumes.Kind.INCOMPRESSIBLE, 33);
             BackupTarget target = BackupTarget.directory(dir)) {
            BackupSource snapshot = BackupSource.ofDevice(source, "v", "snap-9");
            assertThatThrownBy(() -> BackupEngine.backup(snapshot, new FailingTarget(target, 5L << 20), options()))
                    .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.TARGET_IO);
            assertThat(dir.resolve("img.scb.partial")).exists();
            assertThat(target.readCheckpoint("img.backup")).isPresent();

            BackupEngine.discardPartial(target, "img");
            assertThat(dir.resolve("img.scb.partial")).doesNotExist();
            assertThat(target.readCheckpoint("img.backup")).isEmpty();
            assertThat(java.nio.file.Files.list(dir).toList()).as("nothing left on the target").isEmpty();
            BackupEngine.discardPartial(target, "img"); // nothing to drop: no error

            BackupEngine.backup(BackupSource.ofDevice(source, "v", "snap-10"), target, options());
            BackupEngine.discardPartial(target, "img");
            assertThat(target.exists("img")).as("a committed image is not a partial one").isTrue();
            BackupEngine.verify(target, "img", PASSWORD);
        }
    }

    @Test
    void failsToResumeWithoutACheckpoint() {
        try (BlockDevice source = Volumes.create("src", 4096, 16, Volumes.Kind.DENSE, 32);
             BackupTarget target = BackupTarget.directory(dir)) {
            assertThatThrownBy(() -> BackupEngine.resumeBackup(BackupSource.ofDevice(source, "v", "s"), target, "img", options()))
                    .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.NO_CHECKPOINT);
        }
    }

    @Test
    void resumesARestoreInterruptedByAPowerCutOnTheDestination() {
        try (BlockDevice source = Volumes.create("src", 4096, BLOCKS, Volumes.Kind.DENSE, 33);
             BackupTarget target = BackupTarget.directory(dir);
             FaultInjectingDevice destination = new FaultInjectingDevice(
                     Media.memory("dst", new BlockGeometry(4096, BLOCKS)), 34)) {
            BackupEngine.backup(BackupSource.ofDevice(source, "v", "s"), target, options());
            RestoreOptions restoreOptions = RestoreOptions.defaults().withCheckpointIntervalBytes(256 * 1024);
            destination.powerDomain().armCutAtWrite(20, PowerCutMode.DROP_UNFLUSHED);
            assertThatThrownBy(() -> BackupEngine.restore(target, "img", PASSWORD, destination, restoreOptions))
                    .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.DESTINATION_IO);
            destination.restorePower();
            destination.meter().reset();
            RestoreResult resumed = BackupEngine.resumeRestore(target, "img", PASSWORD, destination, restoreOptions);
            long rewritten = destination.meter().snapshot().receivedWrite().bytes();
            assertThat(rewritten).isLessThan(BLOCKS * 4096).isGreaterThan(0);
            assertThat(resumed.dataBytes()).isEqualTo(BLOCKS * 4096);
            Volumes.assertSameBlocks(source, destination, BLOCKS);
            assertThat(target.readCheckpoint("restore-img-dst")).isEmpty();
        }
    }
}
