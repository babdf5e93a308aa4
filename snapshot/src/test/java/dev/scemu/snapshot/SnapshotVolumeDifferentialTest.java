package dev.scemu.snapshot;

import static dev.scemu.snapshot.VolumeTesting.assertSameContents;
import static dev.scemu.snapshot.VolumeTesting.read;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import dev.scemu.core.Media;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Seeded random workloads with interleaved snapshot create/delete/rollback/restoreRange and
 * reopen, compared against full copies of the volume at each snapshot.
 */
class SnapshotVolumeDifferentialTest {

    private static final int BLOCK_SIZE = 512;
    private static final int BLOCKS = 300;

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
    void everyViewAndTheLiveVolumeMatchTheModel(long seed) {
        Random random = new Random(seed);
        BlockGeometry geometry = new BlockGeometry(BLOCK_SIZE, BLOCKS);
        try (BlockDevice data = Media.memory("data", geometry);
             BlockDevice store = Media.memory("store", new BlockGeometry(BLOCK_SIZE, 4000))) {
            SnapshotConfig config = SnapshotConfig.defaults().withLogBlocks(64).withCowBatchBlocks(1 + random.nextInt(12))
                    .withMaxSnapshots(12);
            SnapshotVolume[] holder = {SnapshotVolume.format(data, store, config)};
            VolumeModel model = new VolumeModel(BLOCK_SIZE, BLOCKS);
            List<Long> ids = new ArrayList<>();
            // some patterns repeat so diff-on-write finds identical blocks
            byte[][] patterns = new byte[4][];
            for (int i = 0; i < patterns.length; i++) {
                patterns[i] = VolumeTesting.randomBytes(random, BLOCK_SIZE);
            }
            for (int op = 0; op < 600; op++) {
                SnapshotVolume volume = holder[0];
                int kind = random.nextInt(100);
                if (kind < 55) {
                    int blocks = 1 + random.nextInt(random.nextBoolean() ? 4 : 80);
                    long lba = random.nextInt(BLOCKS - blocks + 1);
                    byte[] bytes = new byte[blocks * BLOCK_SIZE];
                    for (int b = 0; b < blocks; b++) {
                        byte[] block = random.nextInt(3) == 0 ? patterns[random.nextInt(patterns.length)]
                                : VolumeTesting.randomBytes(random, BLOCK_SIZE);
                        System.arraycopy(block, 0, bytes, b * BLOCK_SIZE, BLOCK_SIZE);
                    }
                    boolean heap = random.nextInt(4) == 0;
                    ByteBuffer buffer = heap ? ByteBuffer.wrap(bytes) : ByteBuffer.allocateDirect(bytes.length).put(0, bytes);
                    if (refusedForLackOfSpace(() -> volume.write(lba, blocks, buffer, 0, random.nextInt(10) == 0))) {
                        continue;
                    }
                    model.write(lba, bytes);
                } else if (kind < 60) {
                    int blocks = 1 + random.nextInt(20);
                    long lba = random.nextInt(BLOCKS - blocks + 1);
                    if (!refusedForLackOfSpace(() -> volume.trim(lba, blocks))) {
                        model.trim(lba, blocks);
                    }
                } else if (kind < 67) {
                    volume.flush();
                } else if (kind < 75) {
                    if (ids.size() < 12) {
                        SnapshotInfo info = volume.createSnapshot("s" + op);
                        ids.add(info.id());
                        model.snapshot(info.id());
                    }
                } else if (kind < 80) {
                    if (!ids.isEmpty()) {
                        long id = ids.remove(random.nextInt(ids.size()));
                        volume.deleteSnapshot(id);
                        model.delete(id);
                    }
                } else if (kind < 83) {
                    if (!ids.isEmpty()) {
                        long id = ids.get(random.nextInt(ids.size()));
                        if (!refusedForLackOfSpace(() -> volume.rollback(id))) {
                            model.rollback(id);
                        }
                    }
                } else if (kind < 87) {
                    if (!ids.isEmpty()) {
                        long id = ids.get(random.nextInt(ids.size()));
                        int blocks = 1 + random.nextInt(40);
                        long lba = random.nextInt(BLOCKS - blocks + 1);
                        if (!refusedForLackOfSpace(() -> volume.restoreRange(id, lba, blocks))) {
                            model.restoreRange(id, lba, blocks);
                        }
                    }
                } else if (kind < 89) {
                    volume.close();
                    holder[0] = SnapshotVolume.open(data, store);
                } else if (kind < 92 && !ids.isEmpty()) {
                    checkChangedBlocks(volume, model, ids.get(random.nextInt(ids.size())));
                } else {
                    int blocks = 1 + random.nextInt(BLOCKS);
                    long lba = random.nextInt(BLOCKS - blocks + 1);
                    long id = ids.isEmpty() ? -1 : ids.get(random.nextInt(ids.size()));
                    BlockDevice view = id < 0 ? volume : volume.snapshot(id);
                    byte[] expected = id < 0 ? model.live : model.snapshots.get(id);
                    assertSameContents(read(view, lba, blocks),
                            java.util.Arrays.copyOfRange(expected, (int) lba * BLOCK_SIZE, (int) (lba + blocks) * BLOCK_SIZE),
                            BLOCK_SIZE, "op " + op + " read of " + (id < 0 ? "live" : "snapshot " + id));
                }
            }
            checkAll(holder[0], model, "end");
            holder[0].close();
            SnapshotVolume reopened = SnapshotVolume.open(data, store);
            checkAll(reopened, model, "after reopen");
            assertThat(reopened.listSnapshots()).extracting(SnapshotInfo::id).containsExactlyElementsOf(model.snapshots.keySet());
            reopened.close();
        }
    }

    /** STORE_FULL is a legal answer (the store is small on purpose); it must change nothing. */
    private static boolean refusedForLackOfSpace(Runnable operation) {
        try {
            operation.run();
            return false;
        } catch (SnapshotException e) {
            assertThat(e.code()).isEqualTo(SnapshotError.STORE_FULL);
            return true;
        }
    }

    private static void checkAll(SnapshotVolume volume, VolumeModel model, String when) {
        assertSameContents(read(volume, 0, BLOCKS), model.live, BLOCK_SIZE, when + ": live volume");
        for (var snapshot : model.snapshots.entrySet()) {
            assertSameContents(read(volume.snapshot(snapshot.getKey()), 0, BLOCKS), snapshot.getValue(), BLOCK_SIZE,
                    when + ": snapshot " + snapshot.getKey());
        }
    }

    /** changedBlocks never misses a block that differs. */
    private static void checkChangedBlocks(SnapshotVolume volume, VolumeModel model, long fromId) {
        byte[] from = model.snapshots.get(fromId);
        for (var other : model.snapshots.entrySet()) {
            assertCovers(volume.changedBlocks(fromId, other.getKey()), from, other.getValue(), "to " + other.getKey());
        }
        assertCovers(volume.changedBlocksSince(fromId), from, model.live, "to live");
    }

    private static void assertCovers(List<Extent> changed, byte[] a, byte[] b, String what) {
        boolean[] covered = new boolean[BLOCKS];
        for (Extent extent : changed) {
            for (long l = extent.lba(); l < extent.endLba(); l++) {
                covered[(int) l] = true;
            }
        }
        for (int block = 0; block < BLOCKS; block++) {
            if (!covered[block]) {
                int at = block * BLOCK_SIZE;
                assertThat(java.util.Arrays.equals(a, at, at + BLOCK_SIZE, b, at, at + BLOCK_SIZE))
                        .as("changed blocks %s miss block %d", what, block).isTrue();
            }
        }
    }
}
