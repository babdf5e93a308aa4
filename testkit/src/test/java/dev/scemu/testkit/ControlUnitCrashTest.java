package dev.scemu.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.CrashPointExplorer;
import dev.scemu.core.PowerCutMode;
import dev.scemu.flash.FirmwareEvent;
import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.unit.StorageControlUnit;
import dev.scemu.unit.UnitConfig;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Power cut at sampled write indices of a whole-controller scenario (host writes through the
 * snapshot volume, RAID-5, GPT, firmware backup, snapshot creation), then reboot: every flushed
 * block reads back, the snapshot taken before the cut reads exactly as when it was taken, and
 * the firmware boots verified.
 */
class ControlUnitCrashTest {

    private static final int BLOCK = 4096;
    /** Write indices to explore: 40, times {@code -Dscemu.crash.scale} (100 with {@code -Psoak}). */
    private static final int POINTS = 40 * Integer.getInteger("scemu.crash.scale", 1);

    /** The unit and the model of what the host wrote. */
    private static final class World implements AutoCloseable {
        final StorageControlUnit unit;
        final Map<Long, Long> flushed = new HashMap<>();
        final Map<Long, Long> atSnapshot = new HashMap<>();
        /** Versions written since the last completed flush: after a cut a block may hold any of them. */
        final Map<Long, java.util.List<Long>> pending = new HashMap<>();
        long snapshotId = -1;

        World(dev.scemu.core.PowerDomain power) {
            unit = StorageControlUnit.create(UnitConfig.builder().disks(4, 8L << 20).chunkBytes(16 << 10)
                    .snapshotStoreBytes(6L << 20).firmwareBackupBytes(2L << 20).seed(5).build(), power);
        }

        void run() {
            Random random = new Random(11);
            ByteBuffer block = ByteBuffer.allocateDirect(BLOCK);
            long blocks = Math.min(512, unit.host().blockCount());
            for (int round = 0; round < 4; round++) {
                for (int i = 0; i < 24; i++) {
                    long lba = random.nextInt((int) blocks);
                    long content = random.nextLong();
                    fill(block, content);
                    // recorded before the write is issued: a write in flight when power fails may
                    // land (a torn cut can keep the block the interrupted write had reached)
                    pending.computeIfAbsent(lba, k -> new java.util.ArrayList<>()).add(content);
                    unit.host().write(lba, 1, block, 0);
                }
                if (round == 1) {
                    SnapshotInfo snapshot = unit.snapshots().createSnapshot("s" + round);
                    settle();
                    atSnapshot.putAll(flushed);
                    snapshotId = snapshot.id();
                } else {
                    unit.host().flush();
                    settle();
                }
            }
        }

        private void settle() {
            pending.forEach((lba, versions) -> flushed.put(lba, versions.get(versions.size() - 1)));
            pending.clear();
        }

        @Override
        public void close() {
            unit.close();
        }
    }

    private static void fill(ByteBuffer block, long content) {
        Random r = new Random(content);
        for (int i = 0; i < BLOCK; i += 8) {
            block.putLong(i, r.nextLong());
        }
    }

    private static long mismatches(dev.scemu.core.BlockDevice device, Map<Long, Long> expected) {
        ByteBuffer actual = ByteBuffer.allocateDirect(BLOCK);
        ByteBuffer wanted = ByteBuffer.allocateDirect(BLOCK);
        long bad = 0;
        for (Map.Entry<Long, Long> entry : expected.entrySet()) {
            device.read(entry.getKey(), 1, actual, 0);
            fill(wanted, entry.getValue());
            bad += actual.equals(wanted) ? 0 : 1;
        }
        return bad;
    }

    @Test
    void everyFlushedBlockAndTheSnapshotSurviveACutAtSampledWriteIndices() throws Exception {
        CrashPointExplorer.Report report = new CrashPointExplorer<>(World::new, World::run, (world, crash) -> {
            world.unit.crashAndReboot(PowerCutMode.DROP_UNFLUSHED);
            assertThat(world.unit.bootReport().has(FirmwareEvent.Type.BOOTED)).as("%s: firmware boots", crash).isTrue();
            assertThat(world.unit.firmware().running().isSignatureVerified()).isTrue();
            assertThat(violations(world)).as("%s: blocks holding neither their flushed data nor a later write", crash).isZero();
            if (world.snapshotId >= 0) {
                assertThat(world.unit.snapshots().listSnapshots()).extracting(SnapshotInfo::id).contains(world.snapshotId);
                assertThat(mismatches(world.unit.snapshots().snapshot(world.snapshotId), world.atSnapshot))
                        .as("%s: snapshot view", crash).isZero();
            }
        }).seed(3).maxPoints(POINTS).explore();
        assertThat(report.pointsExplored()).isEqualTo((int) Math.min(POINTS, report.totalWrites()));
        assertThat(report.totalWrites()).isGreaterThan(40);
        System.out.printf("control-unit crash test: %d of %d write indices explored, %d runs%n",
                report.pointsExplored(), report.totalWrites(), report.runs());
        System.out.printf("CRASH POINTS: ControlUnitCrashTest %s%n", report.counts());
        assertThat(report.cutsFired()).as("every armed cut fired").isEqualTo(report.runs());
    }

    /**
     * Blocks not rewritten since the last completed flush must hold their flushed content; a block
     * rewritten since may hold its flushed content or any version written after it.
     */
    private static long violations(World world) {
        ByteBuffer actual = ByteBuffer.allocateDirect(BLOCK);
        ByteBuffer wanted = ByteBuffer.allocateDirect(BLOCK);
        java.util.Set<Long> lbas = new java.util.HashSet<>(world.flushed.keySet());
        lbas.addAll(world.pending.keySet());
        long bad = 0;
        for (long lba : lbas) {
            world.unit.host().read(lba, 1, actual, 0);
            java.util.List<Long> allowed = new java.util.ArrayList<>(world.pending.getOrDefault(lba, java.util.List.of()));
            boolean ok = false;
            if (world.flushed.containsKey(lba)) {
                allowed.add(world.flushed.get(lba));
            } else {
                ok = isZero(actual);
            }
            for (long content : allowed) {
                fill(wanted, content);
                ok |= actual.equals(wanted);
            }
            bad += ok ? 0 : 1;
        }
        return bad;
    }

    private static boolean isZero(ByteBuffer block) {
        for (int i = 0; i < BLOCK; i += 8) {
            if (block.getLong(i) != 0) {
                return false;
            }
        }
        return true;
    }
}
