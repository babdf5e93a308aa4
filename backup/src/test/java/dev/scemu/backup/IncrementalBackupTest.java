package dev.scemu.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import dev.scemu.core.IoCause;
import dev.scemu.core.Media;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IncrementalBackupTest {

    static final char[] PASSWORD = "inc".toCharArray();

    @TempDir
    Path dir;

    /** A volume that remembers which blocks changed since each snapshot token (as the snapshot layer does). */
    static final class TrackedVolume implements AutoCloseable {
        final BlockDevice device;
        final Map<String, TreeSet<Long>> changedSince = new HashMap<>();
        final Random random;
        final String volumeId;

        TrackedVolume(BlockDevice device, long seed) {
            this(device, seed, "tracked");
        }

        TrackedVolume(BlockDevice device, long seed, String volumeId) {
            this.device = device;
            this.random = new Random(seed);
            this.volumeId = volumeId;
        }

        void write(long lba) {
            Volumes.writeBlock(device, lba, random);
            changedSince.values().forEach(s -> s.add(lba));
        }

        void zero(long lba) {
            Volumes.zeroBlock(device, lba);
            changedSince.values().forEach(s -> s.add(lba));
        }

        void trim(long lba, long count) {
            device.trim(lba, count);
            for (long b = lba; b < lba + count; b++) {
                long block = b;
                changedSince.values().forEach(s -> s.add(block));
            }
        }

        BackupSource snapshot(String token) {
            changedSince.put(token, new TreeSet<>());
            return BackupSource.builder(device).volumeId(volumeId).snapshotToken(token)
                    .changedExtents(base -> {
                        TreeSet<Long> changed = changedSince.get(base);
                        if (changed == null) {
                            return null;
                        }
                        List<Extent> extents = new ArrayList<>();
                        for (long lba : changed) {
                            extents.add(new Extent(lba, 1));
                        }
                        return extents;
                    }).build();
        }

        @Override
        public void close() {
            device.close();
        }
    }

    private static BackupOptions options() {
        return BackupOptions.defaults().withChunkSizeBytes(32 * 4096).withThreads(2).withKdf(KdfParameters.TEST_ONLY_WEAK)
                .withPassword(PASSWORD);
    }

    @Test
    void restoresEveryPointOfAFullPlusIncrementalChain() {
        long blocks = 1500;
        try (TrackedVolume volume = new TrackedVolume(Media.memory("vol", new BlockGeometry(4096, blocks)), 21);
             BackupTarget target = BackupTarget.directory(dir)) {
            for (long lba = 0; lba < blocks; lba += 3) {
                volume.write(lba);
            }
            BackupResult full = BackupEngine.backup(volume.snapshot("t0"), target, options().withImageId("full"));
            byte[] state0 = Volumes.content(volume.device);

            for (int i = 0; i < 60; i++) {
                volume.write(volume.random.nextInt((int) blocks));
            }
            volume.zero(0);
            volume.zero(3);
            volume.trim(300, 40);
            volume.device.meter().reset();
            BackupResult inc1 = BackupEngine.backup(volume.snapshot("t1"), target, options().withImageId("inc1").withBase("full"));
            long changed1 = volume.changedSince.get("t0").size();
            // only the changed blocks were read: the snapshot layer's knowledge, not a full scan
            assertThat(volume.device.meter().snapshot().issuedRead(IoCause.HOST).bytes()).isEqualTo(changed1 * 4096);
            assertThat(inc1.info().baseImageId()).isEqualTo("full");
            assertThat(inc1.info().storedBlockCount() + inc1.info().zeroBlockCount()).isEqualTo(changed1);
            byte[] state1 = Volumes.content(volume.device);

            for (int i = 0; i < 30; i++) {
                volume.write(1000 + volume.random.nextInt(500));
            }
            volume.zero(1);
            BackupResult inc2 = BackupEngine.backup(volume.snapshot("t2"), target, options().withImageId("inc2").withBase("inc1"));
            byte[] state2 = Volumes.content(volume.device);

            RestoreResult r2 = restoreFresh(target, "inc2", blocks, state2);
            assertThat(r2.chain()).extracting(ImageInfo::imageId).containsExactly("full", "inc1", "inc2");
            restoreFresh(target, "inc1", blocks, state1);
            restoreFresh(target, "full", blocks, state0);
            assertThat(BackupEngine.verify(target, "inc2", PASSWORD).chain()).hasSize(3);
            assertThat(inc2.info().imageBytes()).isLessThan(full.info().imageBytes());
        }
    }

    private static RestoreResult restoreFresh(BackupTarget target, String id, long blocks, byte[] expected) {
        try (BlockDevice dst = Volumes.patterned("dst-" + id, 4096, blocks)) {
            RestoreResult result = BackupEngine.restore(target, id, PASSWORD, dst, RestoreOptions.defaults());
            assertThat(java.util.Arrays.mismatch(Volumes.content(dst), expected)).as("restore of %s", id).isEqualTo(-1);
            return result;
        }
    }

    @Test
    void refusesAnIncrementalWithoutChangeKnowledgeOrOnAnotherVolume() {
        try (TrackedVolume volume = new TrackedVolume(Media.memory("vol", new BlockGeometry(4096, 100)), 22);
             BlockDevice other = Media.memory("other", new BlockGeometry(4096, 100));
             BackupTarget target = BackupTarget.directory(dir)) {
            volume.write(5);
            BackupEngine.backup(volume.snapshot("t0"), target, options().withImageId("full"));
            assertThatThrownBy(() -> BackupEngine.backup(BackupSource.ofDevice(volume.device, "tracked", "t1"), target,
                    options().withImageId("inc").withBase("full")))
                    .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.CHANGED_BLOCKS_UNKNOWN);
            assertThatThrownBy(() -> BackupEngine.backup(BackupSource.ofDevice(other, "other", "t1"), target,
                    options().withImageId("inc").withBase("full")))
                    .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.BASE_MISMATCH);
            assertThatThrownBy(() -> BackupEngine.backup(volume.snapshot("t1"), target,
                    options().withImageId("inc").withBase("missing")))
                    .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.IMAGE_NOT_FOUND);
            assertThat(target.list()).containsExactly("full");
        }
    }
}
