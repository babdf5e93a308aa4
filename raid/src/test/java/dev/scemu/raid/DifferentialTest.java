package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Seeded random workloads (mixed sizes, unaligned to stripes, then four threads sharing stripes)
 * against an in-memory reference device, for every level, and for RAID-1/5 with a member failed
 * before, during or after the workload; afterwards the member is replaced and rebuilt, the array
 * is compared again, scrubbed, and read once more with another member failed.
 */
class DifferentialTest {

    enum Failure { NONE, BEFORE, DURING, AFTER }

    private static final int CHUNK = 16 * 1024;
    private static final int CHUNK_BLOCKS = CHUNK / TestArrays.BLOCK;

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        cases.add(Arguments.of(RaidLevel.RAID0, 3, Failure.NONE, 11L));
        for (Failure failure : Failure.values()) {
            cases.add(Arguments.of(RaidLevel.RAID1, 3, failure, 100L + failure.ordinal()));
            // 5 members: single-chunk writes use read-modify-write; 4 members: reconstruct-write (md's rule)
            cases.add(Arguments.of(RaidLevel.RAID5, 5, failure, 200L + failure.ordinal()));
        }
        cases.add(Arguments.of(RaidLevel.RAID5, 4, Failure.NONE, 300L));
        cases.add(Arguments.of(RaidLevel.RAID5, 4, Failure.DURING, 777L));
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} of {1} members, failure {2}, seed {3}")
    @MethodSource("cases")
    void randomWorkloadReadsLikeTheReference(RaidLevel level, int n, Failure failure, long seed) throws Exception {
        List<BlockDevice> members = TestArrays.memoryMembers(level + "-d", n, 4L << 20);
        RaidArray array = RaidArray.create(RaidConfig.builder(level).chunkBytes(CHUNK).build(), members);
        BlockDevice reference = Media.memory("reference", array.geometry());
        Random random = new Random(seed);
        int failed = 1 + random.nextInt(n - 1);
        try {
            if (failure == Failure.BEFORE) {
                array.failMember(failed);
            }
            singleThreaded(array, reference, random, 150);
            concurrent(array, reference, seed, failure == Failure.DURING ? failed : -1);
            if (failure == Failure.AFTER) {
                array.failMember(failed);
            }
            TestArrays.assertSameContents(array, reference, level + " after workload, failure " + failure);
            array.flush();
            array.backgroundWork().handle((r, e) -> null).get(60, TimeUnit.SECONDS);
            if (failure != Failure.NONE) {
                assertThat(array.memberState(failed)).isEqualTo(MemberState.FAILED);
                BlockDevice replacement = Media.memory("new" + failed, members.get(failed).geometry());
                RebuildProgress done = array.replaceMember(failed, replacement, null).get(60, TimeUnit.SECONDS);
                assertThat(done.fraction()).isEqualTo(1.0);
                assertThat(array.memberState(failed)).isEqualTo(MemberState.ACTIVE);
                TestArrays.assertSameContents(array, reference, level + " after rebuild");
            }
            if (level != RaidLevel.RAID0) {
                assertThat(array.scrub(false).mismatchedStripes()).as("mismatched stripes").isZero();
                int other = failed == 1 ? 2 : 1;
                array.failMember(other == failed ? 0 : other);
                TestArrays.assertSameContents(array, reference, level + " with another member failed");
            }
        } finally {
            array.close();
            reference.close();
        }
    }

    private static void singleThreaded(BlockDevice array, BlockDevice reference, Random random, int ops) {
        int maxBlocks = 3 * CHUNK_BLOCKS * 4;
        ByteBuffer buffer = ByteBuffer.allocateDirect(maxBlocks * TestArrays.BLOCK);
        ByteBuffer expected = ByteBuffer.allocateDirect(maxBlocks * TestArrays.BLOCK);
        for (int op = 0; op < ops; op++) {
            int blocks = random.nextInt(4) == 0 ? 1 + random.nextInt(maxBlocks) : 1 + random.nextInt(5);
            long lba = (long) (random.nextDouble() * (array.blockCount() - blocks + 1));
            switch (random.nextInt(8)) {
                case 0 -> {
                    array.trim(lba, blocks);
                    reference.trim(lba, blocks);
                }
                case 1 -> array.flush();
                case 2, 3 -> {
                    array.read(lba, blocks, buffer, 0);
                    reference.read(lba, blocks, expected, 0);
                    int length = blocks * TestArrays.BLOCK;
                    assertThat(buffer.slice(0, length).mismatch(expected.slice(0, length)))
                            .as("op %d read [%d,+%d)", op, lba, blocks).isEqualTo(-1);
                }
                default -> {
                    byte[] data = new byte[blocks * TestArrays.BLOCK];
                    random.nextBytes(data);
                    ByteBuffer src = random.nextBoolean() ? ByteBuffer.wrap(data) : buffer.put(0, data);
                    array.write(lba, blocks, src, 0, random.nextInt(10) == 0);
                    reference.write(lba, blocks, ByteBuffer.wrap(data), 0);
                }
            }
        }
    }

    /** Four threads; thread t owns the 7-block regions r with r % 4 == t, so writers share stripes. */
    private static void concurrent(RaidArray array, BlockDevice reference, long seed, int failDuring)
            throws Exception {
        int threads = 4;
        int region = 7;
        long regions = array.blockCount() / region;
        CountDownLatch halfway = new CountDownLatch(threads);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    Random random = new Random(seed * 31 + thread);
                    ByteBuffer buffer = ByteBuffer.allocateDirect(region * TestArrays.BLOCK);
                    ByteBuffer expected = ByteBuffer.allocateDirect(region * TestArrays.BLOCK);
                    for (int op = 0; op < 300; op++) {
                        if (op == 150) {
                            halfway.countDown();
                            if (thread == 0 && failDuring >= 0) {
                                halfway.await();
                                array.failMember(failDuring);
                            }
                        }
                        long r = (random.nextLong(regions / threads)) * threads + thread;
                        int start = random.nextInt(region);
                        int blocks = 1 + random.nextInt(region - start);
                        long lba = r * region + start;
                        if (random.nextInt(3) == 0) {
                            array.read(lba, blocks, buffer, 0);
                            reference.read(lba, blocks, expected, 0);
                            int length = blocks * TestArrays.BLOCK;
                            assertThat(buffer.slice(0, length).mismatch(expected.slice(0, length)))
                                    .as("thread %d op %d read [%d,+%d)", thread, op, lba, blocks).isEqualTo(-1);
                        } else {
                            byte[] data = new byte[blocks * TestArrays.BLOCK];
                            random.nextBytes(data);
                            buffer.put(0, data);
                            array.write(lba, blocks, buffer, 0);
                            reference.write(lba, blocks, ByteBuffer.wrap(data), 0);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    static BlockGeometry geometry(long blocks) {
        return new BlockGeometry(TestArrays.BLOCK, blocks);
    }
}
