package dev.scemu.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.CrashPointExplorer;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.Media;
import dev.scemu.core.PowerDomain;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Power cut at every write index (both cut modes) of seeded snapshot workloads; after each cut the
 * volume reopens and every snapshot reads exactly what it read before, and every block reads a
 * content it may legally have: its content at the last completed flush or a later write.
 */
class SnapshotVolumeCrashTest {

    private static final int BLOCK_SIZE = 512;
    private static final int BLOCKS = 48;

    /** Devices, the volume and what the workload had acknowledged when power failed. */
    static final class World implements AutoCloseable {
        final FaultInjectingDevice data;
        final FaultInjectingDevice store;
        SnapshotVolume volume;
        boolean formatted;
        byte[] live = new byte[BLOCKS * BLOCK_SIZE];
        /** Per block: contents it may hold after a cut (last flushed + every later write). */
        final List<Set<Integer>> allowed = new ArrayList<>();
        final Map<Long, byte[]> snapshots = new LinkedHashMap<>();
        long creating = -1;
        byte[] creatingContents;
        long deleting = -1;

        /** INVALIDATE_OLDEST on a store small enough to fill, else REFUSE_WRITE on one that never fills. */
        final boolean invalidating;
        /** The operation in progress may invalidate snapshots. */
        boolean mayInvalidate;
        /** Snapshots invalidated by the store-full policy so far. */
        int invalidated;

        World(PowerDomain domain, boolean invalidating) {
            this.invalidating = invalidating;
            data = domain.attach(Media.memory("data", new BlockGeometry(BLOCK_SIZE, BLOCKS)));
            store = domain.attach(Media.memory("store", new BlockGeometry(BLOCK_SIZE, invalidating ? 90 : 700)));
            for (int i = 0; i < BLOCKS; i++) {
                Set<Integer> set = new HashSet<>();
                set.add(hash(live, i));
                allowed.add(set);
            }
        }

        void flushed() {
            for (int i = 0; i < BLOCKS; i++) {
                allowed.get(i).clear();
                allowed.get(i).add(hash(live, i));
            }
        }

        /** Applies {@code change} to the model, recording each block's new content as possible. */
        void changing(Consumer<byte[]> change) {
            change.accept(live);
            for (int i = 0; i < BLOCKS; i++) {
                allowed.get(i).add(hash(live, i));
            }
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

    static int hash(byte[] bytes, int block) {
        return java.util.Arrays.hashCode(java.util.Arrays.copyOfRange(bytes, block * BLOCK_SIZE, (block + 1) * BLOCK_SIZE));
    }

    private static void workload(World w, long seed, int ops) {
        Random random = new Random(seed);
        int smallBatch = 1 + random.nextInt(4);
        // every third seed: batches above the 13 entries one 512-byte record holds, so a commit writes several records
        int batch = Math.floorMod(seed, 3) == 1 ? 14 + new Random(~seed).nextInt(20) : smallBatch;
        SnapshotConfig config = SnapshotConfig.defaults().withLogBlocks(10).withCowBatchBlocks(batch)
                .withMaxSnapshots(8)
                .withStoreFullPolicy(w.invalidating ? StoreFullPolicy.INVALIDATE_OLDEST : StoreFullPolicy.REFUSE_WRITE);
        w.volume = SnapshotVolume.format(w.data, w.store, config);
        w.formatted = true;
        byte[] pattern = VolumeTesting.randomBytes(random, BLOCK_SIZE);
        List<Long> ids = new ArrayList<>();
        for (int op = 0; op < ops; op++) {
            forgetInvalidated(w, ids);
            w.mayInvalidate = w.invalidating;
            int kind = random.nextInt(100);
            if (kind < 50) {
                int blocks = 1 + random.nextInt(6);
                int lba = random.nextInt(BLOCKS - blocks + 1);
                byte[] bytes = new byte[blocks * BLOCK_SIZE];
                for (int b = 0; b < blocks; b++) {
                    byte[] block = random.nextInt(4) == 0 ? pattern : VolumeTesting.randomBytes(random, BLOCK_SIZE);
                    System.arraycopy(block, 0, bytes, b * BLOCK_SIZE, BLOCK_SIZE);
                }
                boolean fua = random.nextInt(6) == 0;
                w.changing(live -> System.arraycopy(bytes, 0, live, lba * BLOCK_SIZE, bytes.length));
                VolumeTesting.write(w.volume, lba, bytes, fua);
                if (fua) {
                    // FUA makes this write durable (not necessarily earlier unflushed ones)
                    for (int b = 0; b < blocks; b++) {
                        w.allowed.get(lba + b).clear();
                        w.allowed.get(lba + b).add(hash(w.live, lba + b));
                    }
                }
            } else if (kind < 62) {
                w.volume.flush();
                w.flushed();
            } else if (kind < 75) {
                if (ids.size() < 6) {
                    w.creating = -2;
                    w.creatingContents = w.live.clone();
                    SnapshotInfo info = w.volume.createSnapshot("s" + op);
                    w.snapshots.put(info.id(), w.live.clone());
                    w.creating = -1;
                    w.flushed();
                    ids.add(info.id());
                }
            } else if (kind < 82) {
                if (!ids.isEmpty()) {
                    long id = ids.remove(random.nextInt(ids.size()));
                    w.deleting = id;
                    w.volume.deleteSnapshot(id);
                    w.snapshots.remove(id);
                    w.deleting = -1;
                }
            } else if (kind < 88) {
                if (!ids.isEmpty()) {
                    long id = ids.get(random.nextInt(ids.size()));
                    byte[] target = w.snapshots.get(id);
                    w.changing(live -> System.arraycopy(target, 0, live, 0, live.length));
                    w.volume.rollback(id);
                    w.flushed();
                }
            } else if (kind < 94) {
                if (!ids.isEmpty()) {
                    long id = ids.get(random.nextInt(ids.size()));
                    int blocks = 1 + random.nextInt(10);
                    int lba = random.nextInt(BLOCKS - blocks + 1);
                    byte[] target = w.snapshots.get(id);
                    w.changing(live -> System.arraycopy(target, lba * BLOCK_SIZE, live, lba * BLOCK_SIZE, blocks * BLOCK_SIZE));
                    w.volume.restoreRange(id, lba, blocks);
                    w.flushed();
                }
            } else {
                if (random.nextBoolean()) {
                    w.volume.flush();
                    w.flushed();
                }
                w.volume.close(); // not a flush by the BlockDevice contract (it may fail quietly)
                w.volume = SnapshotVolume.open(w.data, w.store);
            }
        }
        forgetInvalidated(w, ids);
        w.mayInvalidate = false;
    }

    /** Snapshots the store-full policy deleted during the last (completed) operation. */
    private static void forgetInvalidated(World w, List<Long> ids) {
        Set<Long> present = new HashSet<>();
        for (SnapshotInfo info : w.volume.listSnapshots()) {
            present.add(info.id());
        }
        int before = w.snapshots.size();
        w.snapshots.keySet().removeIf(id -> !present.contains(id));
        w.invalidated += before - w.snapshots.size();
        ids.removeIf(id -> !present.contains(id));
    }

    private static void recoverAndCheck(World w, CrashPointExplorer.CrashPoint crash) {
        if (w.volume != null) {
            w.volume.close(); // the failed instance: releases memory, writes nothing
            w.volume = null;
        }
        if (!w.formatted) {
            return; // nothing was acknowledged
        }
        SnapshotVolume volume = SnapshotVolume.open(w.data, w.store);
        w.volume = volume;
        Set<Long> present = new HashSet<>();
        for (SnapshotInfo info : volume.listSnapshots()) {
            present.add(info.id());
        }
        for (Map.Entry<Long, byte[]> expected : w.snapshots.entrySet()) {
            if ((expected.getKey() == w.deleting || w.mayInvalidate) && !present.contains(expected.getKey())) {
                continue;
            }
            assertThat(present).as("snapshots after recovery").contains(expected.getKey());
            VolumeTesting.assertSameContents(VolumeTesting.read(volume.snapshot(expected.getKey()), 0, BLOCKS),
                    expected.getValue(), BLOCK_SIZE, "snapshot " + expected.getKey());
        }
        for (long id : present) {
            if (!w.snapshots.containsKey(id)) {
                assertThat(w.creating).as("unexpected snapshot %d after recovery", id).isEqualTo(-2);
                VolumeTesting.assertSameContents(VolumeTesting.read(volume.snapshot(id), 0, BLOCKS),
                        w.creatingContents, BLOCK_SIZE, "snapshot " + id + " whose creation was cut");
            }
        }
        byte[] live = VolumeTesting.read(volume, 0, BLOCKS);
        for (int block = 0; block < BLOCKS; block++) {
            assertThat(w.allowed.get(block)).as("live block %d holds a content it never had since the last flush", block)
                    .contains(hash(live, block));
        }
        // the recovered volume keeps working: write, snapshot, reopen, read back
        byte[] fresh = VolumeTesting.filled(0x5A, 2 * BLOCK_SIZE);
        VolumeTesting.write(volume, 3, fresh, false);
        SnapshotInfo after = volume.createSnapshot("after-crash");
        volume.close();
        w.volume = SnapshotVolume.open(w.data, w.store);
        assertThat(VolumeTesting.read(w.volume.snapshot(after.id()), 3, 2)).isEqualTo(fresh);
        System.arraycopy(fresh, 0, live, 3 * BLOCK_SIZE, fresh.length);
        VolumeTesting.assertSameContents(VolumeTesting.read(w.volume, 0, BLOCKS), live, BLOCK_SIZE, "live after reopen");
    }

    @org.junit.jupiter.api.Test
    void theSmallStoreScenarioReallyInvalidatesSnapshots() {
        for (long seed = 12; seed <= 14; seed += 2) {
            try (World w = new World(new PowerDomain(seed), true)) {
                workload(w, seed, 80);
                assertThat(w.invalidated).as("seed %d", seed).isPositive();
            }
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {11, 12, 13, 14, 15, 16})
    void everySnapshotAndEveryFlushedWriteSurvivesACutAtEveryWrite(long seed) throws Exception {
        CrashPointExplorer.Report report = new CrashPointExplorer<World>(
                domain -> new World(domain, seed % 2 == 0), w -> workload(w, seed, 80), SnapshotVolumeCrashTest::recoverAndCheck)
                .seed(seed).maxPoints(400).explore();
        System.out.printf("crash test seed %d (%s): %d writes, %d crash points, %d runs%n", seed,
                seed % 2 == 0 ? "INVALIDATE_OLDEST, small store" : "REFUSE_WRITE", report.totalWrites(),
                report.pointsExplored(), report.runs());
        System.out.printf("CRASH POINTS: SnapshotVolumeCrashTest[seed %d] %s%n", seed, report.counts());
        assertThat(report.cutsFired()).as("every armed cut fired").isEqualTo(report.runs());
        assertThat(report.pointsExplored()).isGreaterThan(50);
    }

}
