package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.Media;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The write hole in rows a rebuild has passed but not yet checkpointed. The rebuild of member 2 is
 * held (its progress listener waits on a latch) after {@value #PAUSE_UNITS} units, before its first
 * recovery_offset checkpoint ({@code MdRaidArray.CHECKPOINT_UNITS} = 16): the new member already
 * holds those rows and reads come from it, but a restart resumes the rebuild at recovery_offset 0
 * and rebuilds them again from the other members. Host writes to those rows are then cut at every
 * write index. After the restart and the resumed rebuild every block must hold its old or its new
 * contents, and every block no write touched its old one.
 *
 * <p>Without the journal for these rows (writes there counted the new member as in sync from the
 * moment the rebuild passed them, not from its durable checkpoint, as md's recovery_offset does) a
 * write torn between data and parity made the resumed rebuild reconstruct the new member's blocks of
 * that row from stale parity: garbage in blocks the host never wrote.
 */
class RebuildCheckpointCrashTest {

    private static final int CHUNK = 8 * 1024;
    private static final int CHUNK_BLOCKS = CHUNK / TestArrays.BLOCK;
    private static final long MEMBER_BYTES = 1L << 20;
    private static final int PAUSE_UNITS = 3;

    @ParameterizedTest(name = "{0}")
    @EnumSource(PowerCutMode.class)
    void writesToRowsRebuiltButNotCheckpointedSurviveACutAtEveryWriteIndex(PowerCutMode mode) throws Exception {
        long total = -1;
        int passed = 0;
        byte[] initial = null;
        int dataBlocks = 0;
        Random random = new Random(21);
        List<long[]> writes = new ArrayList<>(); // {lba}
        List<byte[]> contents = new ArrayList<>();
        for (long k = 0; total < 0 || k <= total; k++) {
            PowerDomain domain = new PowerDomain(4000 + k);
            List<FaultInjectingDevice> members = TestArrays.domainMembers(domain, "r", 4, MEMBER_BYTES);
            RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK)
                    .bitmapChunkBytes(64 * 1024).assumeClean(true).build(), members);
            if (initial == null) {
                dataBlocks = (int) array.blockCount();
                initial = new byte[dataBlocks * TestArrays.BLOCK];
                random.nextBytes(initial);
                // one block in each data chunk of the rows the rebuild will have passed, at varying offsets
                for (int row = 0; row < PAUSE_UNITS; row++) {
                    for (int j = 0; j < 3; j++) {
                        writes.add(new long[] {(long) (row * 3 + j) * CHUNK_BLOCKS + (row + j) % CHUNK_BLOCKS});
                        byte[] data = new byte[TestArrays.BLOCK];
                        random.nextBytes(data);
                        contents.add(data);
                    }
                }
            }
            array.write(0, dataBlocks, ByteBuffer.wrap(initial), 0);
            array.flush();
            array.failMember(2);
            FaultInjectingDevice replacement = domain.attach(
                    Media.memory("new2", BlockGeometry.ofBytes(TestArrays.BLOCK, MEMBER_BYTES)));
            CompletableFuture<Void> paused = new CompletableFuture<>();
            CountDownLatch resume = new CountDownLatch(1);
            CompletableFuture<RebuildProgress> rebuild = array.replaceMember(2, replacement, new RebuildListener() {
                @Override
                public void onProgress(RebuildProgress progress) {
                    if (progress.doneBytes() == (long) PAUSE_UNITS * CHUNK) {
                        paused.complete(null);
                        try {
                            resume.await(60, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                }
            });
            paused.get(60, TimeUnit.SECONDS);
            long base = domain.writeCount();
            if (k > 0) {
                domain.armCutAtWrite(base + k - 1, mode);
            }
            int attempted = 0;
            try {
                for (int i = 0; i < writes.size(); i++) {
                    attempted = i + 1;
                    array.write(writes.get(i)[0], 1, ByteBuffer.wrap(contents.get(i)), 0);
                }
                attempted = writes.size() + 1;
            } catch (CoreException e) {
                assertThat(e.code()).isEqualTo(CoreError.POWER_LOST);
            } finally {
                resume.countDown();
            }
            rebuild.handle((p, e) -> null).get(60, TimeUnit.SECONDS);
            if (k == 0) {
                total = domain.writeCount() - base;
                // the dry run's writes, before the rebuild went on
                array.close();
                continue;
            }
            assertThat(domain.isPowered()).as("the cut armed at host write index %d of %d fired", k - 1, total).isFalse();
            domain.restore();
            List<BlockDevice> again = new ArrayList<>(members);
            again.set(2, replacement);
            RaidArray restarted = RaidArray.assemble(again);
            restarted.backgroundWork().get(60, TimeUnit.SECONDS);
            String what = mode + " cut at host write index " + (k - 1) + " of " + total + " (write " + attempted + ")";
            ByteBuffer all = ByteBuffer.allocateDirect(initial.length);
            restarted.read(0, dataBlocks, all, 0);
            byte[] actual = new byte[TestArrays.BLOCK];
            for (int lba = 0; lba < dataBlocks; lba++) {
                all.get(lba * TestArrays.BLOCK, actual);
                byte[] old = Arrays.copyOfRange(initial, lba * TestArrays.BLOCK, (lba + 1) * TestArrays.BLOCK);
                boolean legal = Arrays.equals(actual, old);
                for (int i = 0; i < writes.size() && !legal; i++) {
                    legal = writes.get(i)[0] == lba && i < attempted && Arrays.equals(actual, contents.get(i));
                }
                assertThat(legal).as("%s: block %d holds its old or a written content", what, lba).isTrue();
            }
            assertThat(restarted.isDegraded()).as(what).isFalse();
            assertThat(restarted.scrub(false).mismatchedStripes()).as(what).isZero();
            restarted.close();
            passed++;
        }
        System.out.printf("CRASH POINTS: raid RebuildCheckpointCrashTest[%s] explored=%d passed=%d%n", mode, total, passed);
        assertThat(total).isGreaterThan(writes.size());
        assertThat(passed).isEqualTo((int) total);
    }
}
