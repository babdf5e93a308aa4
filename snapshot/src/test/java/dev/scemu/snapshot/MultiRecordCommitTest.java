package dev.scemu.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockGeometry;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.Media;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A COW batch larger than one journal record holds (13 entries at 512-byte blocks) commits as
 * several records and one sync. A cut at every write of that commit leaves the snapshot exactly
 * as it was taken, and every live block either old or new (nothing was flushed yet), never a third
 * value: a lost record only loses entries whose old blocks were never overwritten.
 */
class MultiRecordCommitTest {

    private static final int BLOCK_SIZE = 512;
    private static final int BLOCKS = 96;
    private static final int BATCH = 40; // four records of at most 13 entries

    @Test
    void aBatchOfSeveralRecordsSurvivesACutAtEveryWriteOfItsCommit() {
        long commitWrites = run(-1, PowerCutMode.DROP_UNFLUSHED);
        assertThat(commitWrites).as("writes of the commit (log blocks, then 40 separate new blocks)").isGreaterThan(BATCH);
        for (long cut = 0; cut < commitWrites; cut++) {
            run(cut, PowerCutMode.DROP_UNFLUSHED);
            run(cut, PowerCutMode.KEEP_RANDOM_SUBSET);
        }
    }

    /** The scenario with a cut at write {@code cut} of the commit (-1: none); returns the commit's write count. */
    private static long run(long cut, PowerCutMode mode) {
        Random random = new Random(cut * 31 + mode.ordinal());
        PowerDomain domain = new PowerDomain(cut);
        FaultInjectingDevice data = domain.attach(Media.memory("data", new BlockGeometry(BLOCK_SIZE, BLOCKS)));
        FaultInjectingDevice store = domain.attach(Media.memory("store", new BlockGeometry(BLOCK_SIZE, 700)));
        try {
            byte[] old = VolumeTesting.randomBytes(random, BLOCKS * BLOCK_SIZE);
            byte[] fresh = VolumeTesting.randomBytes(random, BATCH * BLOCK_SIZE);
            SnapshotVolume volume = SnapshotVolume.format(data, store,
                    SnapshotConfig.defaults().withLogBlocks(32).withCowBatchBlocks(BATCH));
            VolumeTesting.write(volume, 0, old, false);
            volume.flush();
            long snapshotId = volume.createSnapshot("before").id();
            for (int i = 0; i < BATCH; i++) { // every other block, one COW each: the batch fills, nothing commits yet
                VolumeTesting.write(volume, 2L * i, Arrays.copyOfRange(fresh, i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE), false);
            }
            long start = domain.writeCount();
            if (cut < 0) {
                volume.flush();
                long writes = domain.writeCount() - start;
                assertThat(VolumeTesting.read(volume.snapshot(snapshotId), 0, BLOCKS)).isEqualTo(old);
                volume.close();
                return writes;
            }
            domain.armCutAtWrite(start + cut, mode);
            assertThatThrownBy(volume::flush).isInstanceOf(CoreException.class)
                    .satisfies(e -> assertThat(((CoreException) e).code()).isEqualTo(CoreError.POWER_LOST));
            volume.close(); // failed: writes nothing
            domain.restore();
            try (SnapshotVolume reopened = SnapshotVolume.open(data, store)) {
                assertThat(VolumeTesting.read(reopened.snapshot(snapshotId), 0, BLOCKS))
                        .as("snapshot after a cut at write %d of the commit (%s)", cut, mode).isEqualTo(old);
                byte[] live = VolumeTesting.read(reopened, 0, BLOCKS);
                for (int block = 0; block < BLOCKS; block++) {
                    byte[] got = Arrays.copyOfRange(live, block * BLOCK_SIZE, (block + 1) * BLOCK_SIZE);
                    byte[] before = Arrays.copyOfRange(old, block * BLOCK_SIZE, (block + 1) * BLOCK_SIZE);
                    boolean written = block % 2 == 0 && block / 2 < BATCH;
                    if (!written || Arrays.equals(got, before)) {
                        assertThat(got).as("block %d after a cut at write %d (%s)", block, cut, mode).isEqualTo(before);
                    } else {
                        int i = block / 2;
                        assertThat(got).as("block %d after a cut at write %d (%s)", block, cut, mode)
                                .isEqualTo(Arrays.copyOfRange(fresh, i * BLOCK_SIZE, (i + 1) * BLOCK_SIZE));
                    }
                }
            }
            return -1;
        } finally {
            data.close();
            store.close();
        }
    }
}
