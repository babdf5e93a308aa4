package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The parity journal under concurrent degraded writers (its group commit and COMMITs that follow
 * a later flush, {@code ParityJournal} Ordering): four threads write, FUA-write and flush blocks of
 * a degraded RAID-5 (member 1 failed, or member 0 in every other round: the journal's home member,
 * the lowest ACTIVE role, is then member 1, not the first slot) while a power cut lands at a seeded
 * member write. The blocks
 * are interleaved so that every row, and every column of a row, is written by several threads on
 * different members: the case where a replayed partial parity depends on another writer's data.
 * The journal ring is small (128 KiB members' tail: 30 blocks), so writers also wait for ring space.
 *
 * <p>After the cut and a new assembly every block, those of the failed member included (they exist
 * only as parity), holds its content before the run or a content written to it, and a block whose
 * write was acknowledged with FUA or before its writer's acknowledged flush holds that content or a
 * later one. Thread interleaving is not seeded: a failing seed prints its replay command, which
 * replays the cut point, not the exact interleaving. Mutations it fails (each checked): COMMITs
 * after a flush of the log region only (until the eleventh session every log sync flushed the
 * members whole; now a separate whole-member flush precedes COMMITs); data written before the log sync; COMMIT appended as soon as
 * the writes return; no wait for the row's earlier writes before a BEGIN (Ordering 3: failed in 5
 * of 8 runs of 40 rounds, passed 8 runs of 60 with it). More rounds: {@code -Psoak} (4,000 per
 * mode) or {@code -Dscemu.test.degradedConcurrentRounds=N}.
 */
class DegradedConcurrentCrashTest {

    private static final int CHUNK = 8 * 1024;
    private static final long MEMBER_BYTES = 2L << 20;
    private static final int BLOCK = TestArrays.BLOCK;
    private static final int THREADS = 4;
    /** Blocks the writers share: 10 rows of 3 data chunks of 2 blocks. */
    private static final int HOT_BLOCKS = 60;
    private static final int OPS_PER_THREAD = 250;
    /** Rounds per cut mode: 40 times {@code -Dscemu.crash.scale} (100 with {@code -Psoak}), or {@code -Dscemu.test.degradedConcurrentRounds}. */
    private static final int ROUNDS = Integer.getInteger("scemu.test.degradedConcurrentRounds",
            40 * Integer.getInteger("scemu.crash.scale", 1));

    @ParameterizedTest(name = "{0}")
    @EnumSource(PowerCutMode.class)
    void concurrentDegradedWritesLeaveEveryBlockOldOrWrittenAfterACut(PowerCutMode mode) throws Exception {
        int cuts = 0;
        for (int round = 0; round < ROUNDS; round++) {
            long seed = 4200 + round * 7919L + mode.ordinal();
            if (runRound(seed, mode)) {
                cuts++;
            }
        }
        assertThat(cuts).as("rounds whose cut landed while writers ran").isGreaterThan(ROUNDS / 2);
    }

    /** One round; true when the cut landed while the writers ran. */
    private static boolean runRound(long seed, PowerCutMode mode) throws Exception {
        String replay = "seed " + seed + " mode " + mode + " (replay: this test with -Dtest=DegradedConcurrentCrashTest,"
                + " the cut point is seeded, the interleaving is not)";
        PowerDomain domain = new PowerDomain(seed);
        List<FaultInjectingDevice> members = TestArrays.domainMembers(domain, "dc", 4, MEMBER_BYTES);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK)
                .bitmapChunkBytes(64 * 1024).assumeClean(true).build(), members);
        Random random = new Random(seed);
        byte[] initial = new byte[HOT_BLOCKS * BLOCK];
        random.nextBytes(initial);
        array.write(0, HOT_BLOCKS, ByteBuffer.wrap(initial), 0);
        array.flush();
        int failed = round(seed) % 2 == 0 ? 1 : 0;
        array.failMember(failed);

        // each block's legal contents, kept by the one thread that writes it (block % THREADS)
        List<Map<Integer, List<byte[]>>> legal = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            Map<Integer, List<byte[]>> own = new HashMap<>();
            for (int b = t; b < HOT_BLOCKS; b += THREADS) {
                own.put(b, new ArrayList<>(List.of(Arrays.copyOfRange(initial, b * BLOCK, (b + 1) * BLOCK))));
            }
            legal.add(own);
        }
        long base = domain.writeCount();
        // about 4 member writes per journaled 4 KiB write (data, parity, two log blocks on the home member)
        domain.armCutAtWrite(base + 1 + random.nextInt(THREADS * OPS_PER_THREAD * 3), mode);
        CyclicBarrier start = new CyclicBarrier(THREADS);
        List<CompletableFuture<Boolean>> writers = new ArrayList<>();
        // own threads: the common pool may have fewer workers than THREADS (one on 2 CPUs)
        ExecutorService threads = Executors.newFixedThreadPool(THREADS);
        boolean cutWhileRunning = false;
        try {
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                long threadSeed = random.nextLong();
                writers.add(CompletableFuture.supplyAsync(() -> write(array, legal.get(thread), threadSeed, start),
                        threads));
            }
            for (CompletableFuture<Boolean> writer : writers) {
                cutWhileRunning |= writer.get(120, TimeUnit.SECONDS);
            }
        } finally {
            threads.shutdownNow();
        }
        if (!cutWhileRunning) {
            domain.cut(mode);
        }
        domain.restore();
        RaidArray again = RaidArray.assemble(new ArrayList<BlockDevice>(members));
        try {
            assertThat(again.memberState(failed)).as(replay).isEqualTo(MemberState.FAILED);
            ByteBuffer block = ByteBuffer.allocateDirect(BLOCK);
            byte[] actual = new byte[BLOCK];
            for (Map<Integer, List<byte[]>> own : legal) {
                for (Map.Entry<Integer, List<byte[]>> entry : own.entrySet()) {
                    again.read(entry.getKey(), 1, block, 0);
                    block.get(0, actual);
                    boolean ok = entry.getValue().stream().anyMatch(c -> Arrays.equals(c, actual));
                    assertThat(ok).as("%s: block %d (member %d) holds one of its %d legal contents", replay,
                            entry.getKey(), memberOf(entry.getKey()), entry.getValue().size()).isTrue();
                }
            }
        } finally {
            again.close();
        }
        return cutWhileRunning;
    }

    /** The round a seed of {@link #concurrentDegradedWritesLeaveEveryBlockOldOrWrittenAfterACut} belongs to. */
    private static int round(long seed) {
        return (int) ((seed - 4200) / 7919);
    }

    /** A writer's loop; true when the power cut stopped it. */
    private static boolean write(RaidArray array, Map<Integer, List<byte[]>> own, long seed, CyclicBarrier start) {
        Random random = new Random(seed);
        Integer[] blocks = own.keySet().toArray(new Integer[0]);
        Arrays.sort(blocks);
        ByteBuffer buffer = ByteBuffer.allocateDirect(BLOCK);
        try {
            start.await(60, TimeUnit.SECONDS);
            for (int op = 0; op < OPS_PER_THREAD; op++) {
                int kind = random.nextInt(10);
                if (kind == 0) {
                    array.flush();
                    for (List<byte[]> contents : own.values()) {
                        keepLast(contents);
                    }
                    continue;
                }
                int lba = blocks[random.nextInt(blocks.length)];
                byte[] data = new byte[BLOCK];
                random.nextBytes(data);
                List<byte[]> contents = own.get(lba);
                contents.add(data); // legal from the moment the write starts
                buffer.clear();
                buffer.put(0, data);
                boolean fua = kind == 1;
                array.write(lba, 1, buffer, 0, fua);
                if (fua) {
                    keepLast(contents);
                }
            }
            return false;
        } catch (CoreException e) {
            if (e.code() != CoreError.POWER_LOST) {
                throw e;
            }
            return true;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void keepLast(List<byte[]> contents) {
        byte[] last = contents.get(contents.size() - 1);
        contents.clear();
        contents.add(last);
    }

    /** The member holding array block {@code lba} (left-symmetric, 4 members, 2-block chunks), for messages. */
    private static int memberOf(int lba) {
        int chunkBlocks = CHUNK / BLOCK;
        int row = lba / (chunkBlocks * 3);
        int dataIndex = (lba / chunkBlocks) % 3;
        int parity = 3 - row % 4;
        return (parity + 1 + dataIndex) % 4;
    }
}
