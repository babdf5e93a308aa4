package dev.scemu.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockGeometry;
import dev.scemu.core.CrashPointExplorer;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.Media;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A power cut at every write index of the volume's long operations: a rollback, a restore (the
 * writes between {@link SnapshotVolume#markRestoreIncomplete} and
 * {@link SnapshotVolume#clearRestoreIncomplete}) and a temporary (backup) snapshot's life. The
 * world (format, data, snapshots, flushed) is built before the cuts are counted, so every point
 * falls inside the operation.
 */
class LongOperationCrashTest {

    private static final int BLOCK_SIZE = 512;
    private static final int BLOCKS = 64;

    static final class World implements AutoCloseable {
        final FaultInjectingDevice data;
        final FaultInjectingDevice store;
        SnapshotVolume volume;
        byte[] before;
        byte[] snapshotContents;
        byte[] laterContents;
        long target;
        long later;

        World(PowerDomain domain, long seed, int logBlocks) {
            data = domain.attach(Media.memory("data", new BlockGeometry(BLOCK_SIZE, BLOCKS)));
            store = domain.attach(Media.memory("store", new BlockGeometry(BLOCK_SIZE, 900)));
            Random random = new Random(seed);
            volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults().withLogBlocks(logBlocks)
                    .withCowBatchBlocks(1 + random.nextInt(4)).withMaxSnapshots(8));
            VolumeTesting.write(volume, 0, VolumeTesting.randomBytes(random, BLOCKS * BLOCK_SIZE), false);
            target = volume.createSnapshot("target").id();
            snapshotContents = VolumeTesting.read(volume, 0, BLOCKS);
            // overwrite most blocks (some with zeros, some identical), keep a later snapshot
            for (int i = 0; i < 40; i++) {
                int lba = random.nextInt(BLOCKS - 3);
                byte[] bytes = random.nextInt(5) == 0 ? new byte[2 * BLOCK_SIZE] : VolumeTesting.randomBytes(random, 2 * BLOCK_SIZE);
                VolumeTesting.write(volume, lba, bytes, false);
            }
            later = volume.createSnapshot("later").id();
            laterContents = VolumeTesting.read(volume, 0, BLOCKS);
            VolumeTesting.write(volume, 7, VolumeTesting.randomBytes(random, 9 * BLOCK_SIZE), false);
            volume.flush();
            before = VolumeTesting.read(volume, 0, BLOCKS);
        }

        SnapshotVolume reopen() {
            if (volume != null) {
                volume.close(); // the failed instance writes nothing
            }
            volume = SnapshotVolume.open(data, store);
            return volume;
        }

        void checkSnapshots() {
            assertThat(VolumeTesting.read(volume.snapshot(target), 0, BLOCKS)).isEqualTo(snapshotContents);
            assertThat(VolumeTesting.read(volume.snapshot(later), 0, BLOCKS)).isEqualTo(laterContents);
        }

        @Override
        public void close() {
            if (volume != null) {
                volume.close();
            }
            data.close();
            store.close();
        }
    }

    @ParameterizedTest(name = "log of {0} blocks")
    @ValueSource(ints = {10, 64})
    void aRollbackCutAtAnyWriteReadsAsBeforeOrAsTheSnapshotNeverAMix(int logBlocks) throws Exception {
        int[] resumed = new int[1];
        CrashPointExplorer.Report report = new CrashPointExplorer<World>(
                domain -> new World(domain, 21, logBlocks),
                w -> w.volume.rollback(w.target),
                (w, crash) -> {
                    SnapshotVolume volume = w.reopen();
                    byte[] live = VolumeTesting.read(volume, 0, BLOCKS);
                    boolean asSnapshot = Arrays.equals(live, w.snapshotContents);
                    assertThat(asSnapshot || Arrays.equals(live, w.before))
                            .as("after a cut in a rollback the volume reads as before or as the snapshot, never a mix")
                            .isTrue();
                    if (volume.recoveredAtOpen().resumedRollback().isPresent()) {
                        resumed[0]++;
                        assertThat(volume.recoveredAtOpen().resumedRollback().get().id()).isEqualTo(w.target);
                        assertThat(asSnapshot).as("a resumed rollback ends at the snapshot").isTrue();
                        assertThat(volume.recoveredAtOpen().notices()).singleElement().asString()
                                .contains("rollback to snapshot " + w.target);
                    }
                    w.checkSnapshots();
                    // the decision is durable: the next open finds nothing to resume and reads the same
                    SnapshotVolume again = w.reopen();
                    assertThat(again.recoveredAtOpen().resumedRollback()).isEmpty();
                    assertThat(VolumeTesting.read(again, 0, BLOCKS)).isEqualTo(live);
                    w.checkSnapshots();
                })
                .seed(21).modes(PowerCutMode.DROP_UNFLUSHED, PowerCutMode.KEEP_RANDOM_SUBSET).explore();
        System.out.printf("CRASH POINTS: LongOperationCrashTest[rollback, log %d] explored=%d passed=%d (%d resumed at open)%n",
                logBlocks, report.runs(), report.passed(), resumed[0]);
        assertThat(report.pointsExplored()).isGreaterThan(40);
        assertThat(resumed[0]).as("cuts after the rollback record are finished at open").isPositive();
    }

    @Test
    void aRestoreCutAtAnyWriteLeavesTheMarkUnlessEveryBlockIsRestored() throws Exception {
        byte[] restored = VolumeTesting.randomBytes(new Random(5), BLOCKS * BLOCK_SIZE);
        int[] marked = new int[1];
        CrashPointExplorer.Report report = new CrashPointExplorer<World>(
                domain -> new World(domain, 22, 64),
                w -> {
                    w.volume.markRestoreIncomplete("image img-1");
                    for (int lba = 0; lba < BLOCKS; lba += 8) {
                        VolumeTesting.write(w.volume, lba, Arrays.copyOfRange(restored, lba * BLOCK_SIZE, (lba + 8) * BLOCK_SIZE), false);
                    }
                    w.volume.clearRestoreIncomplete();
                },
                (w, crash) -> {
                    SnapshotVolume volume = w.reopen();
                    byte[] live = VolumeTesting.read(volume, 0, BLOCKS);
                    if (volume.restoreIncomplete().isPresent()) {
                        marked[0]++;
                        assertThat(volume.restoreIncomplete()).contains("image img-1");
                    } else {
                        assertThat(Arrays.equals(live, w.before) || Arrays.equals(live, restored))
                                .as("an unmarked volume is untouched or completely restored").isTrue();
                    }
                    w.checkSnapshots();
                    // clearing works and persists
                    volume.clearRestoreIncomplete();
                    assertThat(w.reopen().restoreIncomplete()).isEmpty();
                })
                .seed(22).modes(PowerCutMode.DROP_UNFLUSHED, PowerCutMode.KEEP_RANDOM_SUBSET).explore();
        System.out.printf("CRASH POINTS: LongOperationCrashTest[restore mark] explored=%d passed=%d (%d left marked)%n",
                report.runs(), report.passed(), marked[0]);
        assertThat(marked[0]).isPositive();
    }

    @Test
    void aTemporarySnapshotNeverOutlivesACut() throws Exception {
        int[] removed = new int[1];
        CrashPointExplorer.Report report = new CrashPointExplorer<World>(
                domain -> new World(domain, 23, 10),
                w -> {
                    SnapshotInfo info = w.volume.createTemporarySnapshot("backup b0");
                    // what a backup does meanwhile: read the view; the host keeps writing
                    VolumeTesting.read(w.volume.snapshot(info.id()), 0, BLOCKS);
                    VolumeTesting.write(w.volume, 2, VolumeTesting.filled(0x33, 4 * BLOCK_SIZE), true);
                    w.volume.deleteSnapshot(info.id());
                },
                (w, crash) -> {
                    SnapshotVolume volume = w.reopen();
                    assertThat(volume.listSnapshots()).extracting(SnapshotInfo::name).containsExactly("target", "later");
                    removed[0] += volume.recoveredAtOpen().removedTemporarySnapshots().size();
                    w.checkSnapshots();
                    assertThat(w.reopen().recoveredAtOpen().removedTemporarySnapshots()).isEmpty();
                    // the slots were freed: three more temporary snapshots fit
                    for (int i = 0; i < 3; i++) {
                        w.volume.createTemporarySnapshot("t" + i);
                    }
                })
                .seed(23).modes(PowerCutMode.DROP_UNFLUSHED, PowerCutMode.KEEP_RANDOM_SUBSET).explore();
        System.out.printf("CRASH POINTS: LongOperationCrashTest[temporary snapshot] explored=%d passed=%d (%d removed at open)%n",
                report.runs(), report.passed(), removed[0]);
        assertThat(removed[0]).isPositive();
    }

    @Test
    void aTemporarySnapshotIsRemovedAtOpenAndANormalDeleteForgetsIt() {
        try (World w = new World(new PowerDomain(1), 24, 64)) {
            SnapshotInfo kept = w.volume.createTemporarySnapshot("backup x");
            SnapshotInfo deleted = w.volume.createTemporarySnapshot("backup y");
            w.volume.deleteSnapshot(deleted.id());
            w.volume.close();
            w.volume = null;
            SnapshotVolume volume = w.reopen();
            assertThat(volume.recoveredAtOpen().removedTemporarySnapshots()).containsExactly(kept);
            assertThat(volume.recoveredAtOpen().notices()).singleElement().asString()
                    .contains("temporary snapshot " + kept.id() + " 'backup x'");
            assertThat(volume.listSnapshots()).extracting(SnapshotInfo::name).containsExactly("target", "later");
        }
    }
}
