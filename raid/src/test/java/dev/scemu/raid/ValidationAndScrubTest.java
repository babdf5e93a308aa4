package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import dev.scemu.raid.internal.MdSuperblock;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Configuration checks, superblock codec, stripe locking under contention, scrub check and repair. */
class ValidationAndScrubTest {

    @Test
    void rejectsBadConfigurationsWithClearReasonsAndWritesNothing() {
        assertThatThrownBy(() -> RaidConfig.builder(RaidLevel.RAID5).chunkBytes(3000).build())
                .isInstanceOf(RaidException.class).hasMessageContaining("power of two")
                .satisfies(e -> assertThat(((RaidException) e).code()).isEqualTo(RaidError.INVALID_CONFIG));
        List<BlockDevice> one = TestArrays.memoryMembers("v", 1, 4L << 20);
        assertThatThrownBy(() -> RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).build(), one))
                .isInstanceOf(RaidException.class).hasMessageContaining("at least 2 members");
        List<BlockDevice> mixed = new ArrayList<>(TestArrays.memoryMembers("v", 2, 4L << 20));
        mixed.add(Media.memory("odd", BlockGeometry.ofBytes(512, 4L << 20)));
        assertThatThrownBy(() -> RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).build(), mixed))
                .isInstanceOf(RaidException.class).hasMessageContaining("block size 512")
                .satisfies(e -> assertThat(((RaidException) e).code()).isEqualTo(RaidError.MEMBER_GEOMETRY));
        ByteBuffer block = ByteBuffer.allocateDirect(4096);
        mixed.get(0).read(1, 1, block, 0);
        assertThat(block.getInt(0)).as("no superblock written by a refused create").isZero();
    }

    @Test
    void superblockRoundTripsAndACorruptedByteFailsTheChecksum() {
        MdSuperblock sb = new MdSuperblock();
        sb.setUuid = java.util.UUID.randomUUID();
        sb.deviceUuid = java.util.UUID.randomUUID();
        sb.setName = "host:data";
        sb.level = 5;
        sb.layout = 2;
        sb.raidDisks = 4;
        sb.chunkSectors = 1024;
        sb.dataOffsetSectors = 2048;
        sb.sizeSectors = 123456;
        sb.events = 42;
        sb.devRoles = new int[] {0, 1, 0xfffe, 2, 3};
        sb.devNumber = 3;
        byte[] bytes = sb.encode();
        MdSuperblock back = MdSuperblock.decode(bytes, "t");
        assertThat(back.role()).isEqualTo(2);
        assertThat(back.events).isEqualTo(42);
        assertThat(back.setName).isEqualTo("host:data");
        assertThat(back.devRoles).containsExactly(0, 1, 0xfffe, 2, 3);
        assertThat(back.isClean()).isTrue();
        bytes[100] ^= 1;
        assertThatThrownBy(() -> MdSuperblock.decode(bytes, "t"))
                .isInstanceOf(RaidException.class).hasMessageContaining("checksum")
                .satisfies(e -> assertThat(((RaidException) e).code()).isEqualTo(RaidError.NO_SUPERBLOCK));
    }

    @Test
    void concurrentWritersOfOneStripeKeepParityConsistent() throws Exception {
        List<BlockDevice> members = TestArrays.memoryMembers("l", 5, 4L << 20);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(16 * 1024)
                .assumeClean(true).build(), members);
        int rowBlocks = 16;
        int threads = 4;
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    Random random = new Random(thread);
                    ByteBuffer block = TestArrays.randomBuffer(random, 1);
                    start.await();
                    for (int i = 0; i < 2000; i++) {
                        // every thread writes its own blocks of the same three stripes
                        int row = random.nextInt(3);
                        int slot = random.nextInt(rowBlocks / threads) * threads + thread;
                        array.write((long) row * rowBlocks + slot, 1, block, 0);
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(array.scrub(false).mismatchedStripes()).isZero();
        array.close();
    }

    @Test
    void raid1ScrubCountsMismatchedRegionsAndRepairCopiesTheFirstMirror() {
        List<BlockDevice> members = TestArrays.memoryMembers("m", 2, 4L << 20);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID1).chunkBytes(64 * 1024)
                .assumeClean(true).build(), members);
        array.write(0, 400, TestArrays.randomBuffer(new Random(1), 400), 0);
        long dataOffsetBlocks = array.dataOffsetSectors() / 8;
        members.get(1).write(dataOffsetBlocks + 3, 1, TestArrays.randomBuffer(new Random(2), 1), 0);
        // RAID-1 stores no chunk size: regions are 512 KiB (128 blocks), so block 300 is in region 2
        members.get(1).write(dataOffsetBlocks + 300, 1, TestArrays.randomBuffer(new Random(3), 1), 0);
        ScrubResult check = array.scrub(false);
        assertThat(check.mismatchedStripes()).isEqualTo(2);
        assertThat(check.repairedStripes()).isZero();
        assertThat(array.scrub(true).repairedStripes()).isEqualTo(2);
        assertThat(array.scrub(false).mismatchedStripes()).isZero();
        array.close();
    }

    @Test
    void newArrayWithoutAssumeCleanResyncsInTheBackground() throws Exception {
        List<BlockDevice> members = TestArrays.memoryMembers("g", 3, 4L << 20);
        // garbage on a member before create: the initial resync must make parity consistent
        members.get(1).write(40, 8, TestArrays.randomBuffer(new Random(9), 8), 0);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(16 * 1024).build(), members);
        RebuildProgress done = array.backgroundWork().get(60, TimeUnit.SECONDS);
        assertThat(done.kind()).isEqualTo("resync");
        assertThat(array.scrub(false).mismatchedStripes()).isZero();
        array.close();
    }

    @Test
    void scrubListenerGetsEveryStripeAndTheArrayOffsetsOfMismatches() {
        // RAID-5 of 3 x 4 MiB, 16 KiB chunks: a stripe row protects 2 x 4 blocks of the array
        List<BlockDevice> members = TestArrays.memoryMembers("o", 3, 4L << 20);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(16 * 1024)
                .assumeClean(true).build(), members);
        array.write(0, 200, TestArrays.randomBuffer(new Random(4), 200), 0);
        long dataOffsetBlocks = array.dataOffsetSectors() / 8;
        members.get(0).write(dataOffsetBlocks + 4 * 10 + 1, 1, TestArrays.randomBuffer(new Random(5), 1), 0); // row 10
        List<ScrubMismatch> found = new ArrayList<>();
        long[] progress = new long[2];
        ScrubListener listener = new ScrubListener() {
            @Override
            public void onProgress(long done, long total) {
                assertThat(done).isEqualTo(progress[0] + 1);
                progress[0] = done;
                progress[1] = total;
            }

            @Override
            public void onMismatch(ScrubMismatch mismatch) {
                found.add(mismatch);
            }
        };
        ScrubResult check = array.scrub(false, listener);
        assertThat(check.mismatchedStripes()).isEqualTo(1);
        assertThat(found).containsExactly(new ScrubMismatch(10, 10 * 8 * 4096L, 8 * 4096L, false));
        assertThat(progress[0]).as("every stripe walked").isEqualTo(progress[1]).isGreaterThanOrEqualTo(check.stripesChecked());
        found.clear();
        progress[0] = 0;
        assertThat(array.scrub(true, listener).repairedStripes()).isEqualTo(1);
        assertThat(found).containsExactly(new ScrubMismatch(10, 10 * 8 * 4096L, 8 * 4096L, true));
        assertThat(array.scrub(false).mismatchedStripes()).isZero();
        array.close();
    }
}
