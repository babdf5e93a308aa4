package dev.scemu.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockGeometry;
import dev.scemu.core.CrashPointExplorer;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.Media;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A power cut at every write index of commits whose copies are written by the committer (#20):
 * per commit, the copies of the batch as large writes (consecutive pool blocks in one write;
 * around zero-block entries gathered), then the journal records, the sync, then the new blocks.
 * The world (format, data with some all-zero blocks, a flushed snapshot) is built before the cuts
 * are counted. After each cut and reopen: every snapshot whose creation returned reads exactly
 * the volume at its creation (one whose creation was cut reads so too, if it exists); every live
 * block holds its value at the last completed flush (or FUA write of that block) or a write issued
 * after it; and the volume keeps working (a write, a flush, another reopen).
 */
class CowCommitCrashTest {

    private static final int BLOCK_SIZE = 512;
    private static final int BLOCKS = 256;
    private static final int BATCH = 32; // 3 records of at most 13 entries at 512-byte blocks

    static final class World implements AutoCloseable {
        final FaultInjectingDevice data;
        final FaultInjectingDevice store;
        SnapshotVolume volume;
        final byte[] atFirstSnapshot;
        final long firstSnapshot;
        byte[] atSecondSnapshot;
        boolean secondCreated;
        /** Per block: the value that must survive, and the values written since (any may survive). */
        final byte[][] durable = new byte[BLOCKS][];
        final List<List<byte[]>> since = new ArrayList<>();

        World(PowerDomain domain) {
            data = domain.attach(Media.memory("data", new BlockGeometry(BLOCK_SIZE, BLOCKS)));
            store = domain.attach(Media.memory("store", new BlockGeometry(BLOCK_SIZE, 1200)));
            volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults().withLogBlocks(32).withCowBatchBlocks(BATCH));
            byte[] contents = VolumeTesting.randomBytes(new Random(20), BLOCKS * BLOCK_SIZE);
            for (int lba = 128; lba < BLOCKS; lba += 4) { // old blocks of all zeros: zero-block entries, no copy
                Arrays.fill(contents, (lba + 3) * BLOCK_SIZE, (lba + 4) * BLOCK_SIZE, (byte) 0);
            }
            VolumeTesting.write(volume, 0, contents, false);
            volume.flush();
            firstSnapshot = volume.createSnapshot("first").id();
            atFirstSnapshot = contents;
            for (int lba = 0; lba < BLOCKS; lba++) {
                durable[lba] = Arrays.copyOfRange(contents, lba * BLOCK_SIZE, (lba + 1) * BLOCK_SIZE);
                since.add(new ArrayList<>());
            }
        }

        void write(long lba, int value, boolean fua) {
            byte[] block = VolumeTesting.randomBytes(new Random(value), BLOCK_SIZE);
            since.get((int) lba).add(block);
            VolumeTesting.write(volume, lba, block, fua);
            if (fua) {
                durable[(int) lba] = block;
                since.get((int) lba).clear();
            }
        }

        void flush() {
            volume.flush();
            for (int lba = 0; lba < BLOCKS; lba++) {
                List<byte[]> written = since.get(lba);
                if (!written.isEmpty()) {
                    durable[lba] = written.get(written.size() - 1);
                    written.clear();
                }
            }
        }

        /** What the live volume reads now, if every write issued so far landed. */
        byte[] latest() {
            byte[] bytes = new byte[BLOCKS * BLOCK_SIZE];
            for (int lba = 0; lba < BLOCKS; lba++) {
                List<byte[]> written = since.get(lba);
                byte[] block = written.isEmpty() ? durable[lba] : written.get(written.size() - 1);
                System.arraycopy(block, 0, bytes, lba * BLOCK_SIZE, BLOCK_SIZE);
            }
            return bytes;
        }

        SnapshotVolume reopen() {
            if (volume != null) {
                volume.close();
            }
            volume = SnapshotVolume.open(data, store);
            return volume;
        }

        void check(SnapshotVolume v, Object crash) {
            List<SnapshotInfo> snapshots = v.listSnapshots();
            assertThat(snapshots).extracting(SnapshotInfo::id).contains(firstSnapshot);
            assertThat(VolumeTesting.read(v.snapshot(firstSnapshot), 0, BLOCKS))
                    .as("the first snapshot after %s", crash).isEqualTo(atFirstSnapshot);
            SnapshotInfo second = snapshots.stream().filter(s -> s.name().equals("second")).findFirst().orElse(null);
            if (secondCreated) {
                assertThat(second).as("a snapshot whose creation returned, after %s", crash).isNotNull();
            }
            if (second != null) {
                assertThat(VolumeTesting.read(v.snapshot(second.id()), 0, BLOCKS))
                        .as("the second snapshot after %s", crash).isEqualTo(atSecondSnapshot);
            }
            byte[] live = VolumeTesting.read(v, 0, BLOCKS);
            for (int lba = 0; lba < BLOCKS; lba++) {
                byte[] got = Arrays.copyOfRange(live, lba * BLOCK_SIZE, (lba + 1) * BLOCK_SIZE);
                boolean allowed = Arrays.equals(got, durable[lba]) || since.get(lba).stream().anyMatch(b -> Arrays.equals(b, got));
                assertThat(allowed).as("block %d after %s holds its flushed value or a later write", lba, crash).isTrue();
            }
        }

        @Override
        public void close() {
            try {
                if (volume != null) {
                    volume.close();
                }
            } finally {
                data.close();
                store.close();
            }
        }
    }

    private static void workload(World w) {
        for (int i = 0; i < BATCH + 8; i++) { // a full batch commits inside the 33rd write: one 32-block copy write
            w.write(3L * i, i, false);
        }
        w.flush(); // the other 8
        w.atSecondSnapshot = w.latest();
        w.volume.createSnapshot("second");
        w.secondCreated = true;
        for (int i = 0; i < 30; i++) { // blocks 128.. with zero-block entries between the copies: gathered writes
            w.write(128 + 2L * i + 1, 100 + i, i == 15);
        }
        w.flush();
    }

    @Test
    void everyWriteIndexOfCommitsWithLargeCopyWrites() throws Exception {
        CrashPointExplorer.Report report = new CrashPointExplorer<World>(
                World::new,
                CowCommitCrashTest::workload,
                (w, crash) -> {
                    w.volume.close(); // failed: writes nothing
                    w.volume = null;
                    SnapshotVolume v = w.reopen();
                    w.check(v, crash);
                    // the recovered volume works on and keeps its promises across another reopen
                    v.write(0, 1, java.nio.ByteBuffer.allocateDirect(BLOCK_SIZE), 0, false);
                    v.flush();
                    w.durable[0] = new byte[BLOCK_SIZE];
                    w.since.get(0).clear();
                    w.check(w.reopen(), crash + " and another reopen");
                })
                .seed(20).modes(PowerCutMode.DROP_UNFLUSHED, PowerCutMode.KEEP_RANDOM_SUBSET).explore();
        System.out.printf("CRASH POINTS: CowCommitCrashTest explored=%d passed=%d (%d writes)%n",
                report.runs(), report.passed(), report.totalWrites());
        assertThat(report.totalWrites()).as("copy writes, records, syncs and new blocks of three commits").isGreaterThan(60);
        assertThat(report.passed()).isEqualTo(report.runs());
    }
}
