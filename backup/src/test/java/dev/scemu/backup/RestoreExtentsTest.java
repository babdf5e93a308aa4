package dev.scemu.backup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import dev.scemu.core.ForwardingBlockDevice;
import dev.scemu.core.Media;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link CheckedImage#restoreExtents}: the blocks a restore of a chain may write or trim, from the
 * extent maps alone, so that a destination can weigh the restore before its first write (a snapshot
 * volume's store). A restore touches no block outside them.
 */
class RestoreExtentsTest {

    private static final int BLOCK_SIZE = 4096;
    private static final long BLOCKS = 2048;

    @TempDir
    Path dir;

    @Test
    void aChainsRestoreTouchesOnlyTheCoveredExtentsOrWithSkipTheStoredOnes() {
        try (IncrementalBackupTest.TrackedVolume volume = new IncrementalBackupTest.TrackedVolume(
                Media.memory("vol", new BlockGeometry(BLOCK_SIZE, BLOCKS)), 51);
             BackupTarget target = BackupTarget.directory(dir)) {
            for (long lba = 0; lba < 10; lba++) {
                volume.write(lba);
                volume.write(100 + lba);
            }
            BackupEngine.backup(volume.snapshot("t0"), target, options("full"));
            for (long lba = 500; lba < 505; lba++) {
                volume.write(lba);
            }
            volume.zero(100);
            BackupEngine.backup(volume.snapshot("t1"), target, options("inc").withBase("full"));

            try (CheckedImage full = BackupEngine.checkForRestore(target, "full", null, RestoreOptions.defaults());
                 CheckedImage chain = BackupEngine.checkForRestore(target, "inc", null, RestoreOptions.defaults())) {
                assertThat(full.restoreExtents(ZeroPolicy.TRIM)).as("a full image covers the volume")
                        .containsExactly(Extent.of(0, BLOCKS));
                assertThat(full.restoreExtents(ZeroPolicy.SKIP)).containsExactly(Extent.of(0, 10), Extent.of(100, 10));
                assertThat(chain.restoreExtents(ZeroPolicy.WRITE_ZEROS)).containsExactly(Extent.of(0, BLOCKS));
                assertThat(chain.restoreExtents(ZeroPolicy.SKIP)).as("the stored extents of both images")
                        .containsExactly(Extent.of(0, 10), Extent.of(100, 10), Extent.of(500, 5));

                for (ZeroPolicy policy : ZeroPolicy.values()) {
                    try (TouchRecordingDevice destination = new TouchRecordingDevice(
                            Volumes.patterned("dst", BLOCK_SIZE, BLOCKS))) {
                        BackupEngine.restore(chain, destination, RestoreOptions.defaults().withZeroPolicy(policy));
                        List<Extent> touched = destination.touched();
                        assertThat(touched).as("%s", policy).isNotEmpty();
                        List<Extent> allowed = chain.restoreExtents(policy);
                        for (Extent t : touched) {
                            assertThat(allowed).as("%s: %s", policy, t).anyMatch(a -> a.contains(t));
                        }
                    }
                }
            }
        }
    }

    private static BackupOptions options(String imageId) {
        return BackupOptions.defaults().withChunkSizeBytes(32 * BLOCK_SIZE).withThreads(2).withImageId(imageId);
    }

    /** Forwards to a device (closed with it) and records every extent written or trimmed. */
    private static final class TouchRecordingDevice extends ForwardingBlockDevice {
        private final List<Extent> touched = new ArrayList<>();

        TouchRecordingDevice(BlockDevice inner) {
            super("recording-" + inner.name(), inner, true);
        }

        synchronized List<Extent> touched() {
            return List.copyOf(touched);
        }

        @Override
        protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
            synchronized (this) {
                touched.add(Extent.of(lba, blockCount));
            }
            super.doWrite(lba, blockCount, buffer, bufferOffset, fua);
        }

        @Override
        protected void doTrim(long lba, long blockCount) {
            synchronized (this) {
                touched.add(Extent.of(lba, blockCount));
            }
            super.doTrim(lba, blockCount);
        }
    }
}
