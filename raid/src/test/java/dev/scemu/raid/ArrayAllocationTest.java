package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.Allocation;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.MediaKind;
import dev.scemu.core.Media;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link RaidArray#mapAllocation} over sparse member files: holes map through RAID-0 chunks,
 * RAID-1 mirrors and RAID-5 stripe rows (where parity makes a written offset data in every chunk
 * of its row), degraded RAID-5 still answers, and every block reported as reading zeros does.
 */
class ArrayAllocationTest {

    private static final int BLOCK = TestArrays.BLOCK;
    private static final int CHUNK_BLOCKS = 16;

    @TempDir
    Path dir;

    private RaidArray create(RaidLevel level, int disks) {
        return create(level, disks, level.toString());
    }

    private RaidArray create(RaidLevel level, int disks, String tag) {
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < disks; i++) {
            members.add(Media.open(MediaKind.FILE, "m" + i, dir.resolve(tag + "-" + i + ".img"),
                    BlockGeometry.ofBytes(BLOCK, 8L << 20)));
        }
        return RaidArray.create(RaidConfig.builder(level).chunkBytes(CHUNK_BLOCKS * BLOCK).assumeClean(true).build(),
                members);
    }

    /** The array blocks reported as {@code state}, after checking the map is contiguous and complete. */
    private static TreeSet<Long> blocks(BlockDevice device, Allocation state) {
        TreeSet<Long> found = new TreeSet<>();
        long[] next = {0};
        device.mapAllocation(0, device.blockCount(), (lba, count, allocation) -> {
            assertThat(lba).isEqualTo(next[0]);
            next[0] = lba + count;
            if (allocation == state) {
                for (long b = lba; b < lba + count; b++) {
                    found.add(b);
                }
            }
            return true;
        });
        assertThat(next[0]).isEqualTo(device.blockCount());
        return found;
    }

    private static ByteBuffer ones(int blocks) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(blocks * BLOCK);
        while (buffer.hasRemaining()) {
            buffer.put((byte) 0x5a);
        }
        return buffer.clear();
    }

    /**
     * A query of a few blocks asks each member for the stripe rows it covers, not for a batch of
     * 256 MiB of member data: on fragmented sparse members the member maps cost one
     * SEEK_DATA/SEEK_HOLE pair per extent, so every small query (an NBD block status of 64 KiB, a
     * restore's zero run) paid for the whole member (measured over NBD: 43 ms per 64 KiB query).
     */
    @Test
    void aSmallQueryAsksEveryMemberOnlyForTheRowsItCovers() {
        for (RaidLevel level : new RaidLevel[] {RaidLevel.RAID0, RaidLevel.RAID5}) {
            List<Long> asked = new ArrayList<>();
            List<BlockDevice> members = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                BlockDevice file = Media.open(MediaKind.FILE, "m" + i, dir.resolve("small-" + level + "-" + i + ".img"),
                        BlockGeometry.ofBytes(BLOCK, 8L << 20));
                members.add(new dev.scemu.core.ForwardingBlockDevice("m" + i, file, true) {
                    @Override
                    public void mapAllocation(long lba, long blockCount, dev.scemu.core.AllocationSink sink) {
                        synchronized (asked) {
                            asked.add(blockCount);
                        }
                        super.mapAllocation(lba, blockCount, sink);
                    }
                });
            }
            try (RaidArray array = RaidArray.create(RaidConfig.builder(level).chunkBytes(CHUNK_BLOCKS * BLOCK)
                    .assumeClean(true).bitmap(false).build(), members)) {
                asked.clear();
                long rowBlocks = 2L * CHUNK_BLOCKS;
                List<Allocation> states = new ArrayList<>();
                array.mapAllocation(7 * rowBlocks + 3, 4, (lba, count, allocation) -> states.add(allocation));
                assertThat(states).containsExactly(Allocation.HOLE);
                assertThat(asked).as("%s: member blocks asked per member", level).isNotEmpty()
                        .allSatisfy(blocks -> assertThat(blocks).isLessThanOrEqualTo(CHUNK_BLOCKS));
            }
        }
    }

    @Test
    void freshArraysAreHolesAndWritesMapThroughEachLevel() {
        for (RaidLevel level : RaidLevel.values()) {
            try (RaidArray array = create(level, level == RaidLevel.RAID1 ? 2 : 3)) {
                assertThat(blocks(array, Allocation.DATA)).as("%s fresh", level).isEmpty();
                long written = 5L * CHUNK_BLOCKS + 3; // chunk 5
                array.write(written, 1, ones(1), 0, true);
                TreeSet<Long> expected = new TreeSet<>();
                if (level == RaidLevel.RAID5) { // D = 2: chunk 5 is row 2; parity makes offset 3 data in both chunks
                    expected.add(4L * CHUNK_BLOCKS + 3);
                    expected.add(5L * CHUNK_BLOCKS + 3);
                } else {
                    expected.add(written);
                }
                assertThat(blocks(array, Allocation.DATA)).as("%s after one write", level).isEqualTo(expected);
            }
        }
    }

    @Test
    void degradedRaid5StillMapsFromTheRemainingMembers() {
        try (RaidArray array = create(RaidLevel.RAID5, 4)) {
            array.write(7L * CHUNK_BLOCKS, CHUNK_BLOCKS, ones(CHUNK_BLOCKS), 0, true); // chunk 7 = row 2 of D = 3
            TreeSet<Long> before = blocks(array, Allocation.DATA);
            assertThat(before.first()).isEqualTo(6L * CHUNK_BLOCKS);
            assertThat(before).hasSize(3 * CHUNK_BLOCKS);
            for (int role = 0; role < 4; role++) {
                try (RaidArray again = create(RaidLevel.RAID5, 4, "degraded" + role)) {
                    again.write(7L * CHUNK_BLOCKS, CHUNK_BLOCKS, ones(CHUNK_BLOCKS), 0, true);
                    again.failMember(role);
                    assertThat(blocks(again, Allocation.DATA)).as("without member %d", role).isEqualTo(before);
                }
            }
        }
    }

    @Test
    void everyBlockReportedZeroReadsZerosAfterRandomWritesAndTrims() {
        for (RaidLevel level : RaidLevel.values()) {
            Random random = new Random(1234 + level.ordinal());
            try (RaidArray array = create(level, level == RaidLevel.RAID1 ? 2 : 4)) {
                for (int i = 0; i < 40; i++) {
                    long lba = random.nextInt((int) array.blockCount() - 8);
                    int count = 1 + random.nextInt(8);
                    if (random.nextInt(4) == 0) {
                        array.trim(lba, count);
                    } else {
                        array.write(lba, count, TestArrays.randomBuffer(random, count), 0, false);
                    }
                }
                ByteBuffer block = ByteBuffer.allocateDirect(BLOCK);
                TreeSet<Long> zeros = blocks(array, Allocation.HOLE);
                zeros.addAll(blocks(array, Allocation.ZERO));
                assertThat(zeros).as("%s has holes left", level).isNotEmpty();
                for (long lba : zeros) {
                    array.read(lba, 1, block, 0);
                    for (int b = 0; b < BLOCK; b++) {
                        if (block.get(b) != 0) {
                            throw new AssertionError(level + ": block " + lba + " reported zero holds data");
                        }
                    }
                }
            }
        }
    }

    @Test
    void rangeIsCheckedAndTheSinkMayStop() {
        try (RaidArray array = create(RaidLevel.RAID0, 2)) {
            array.write(40, 1, ones(1), 0, true);
            assertThatThrownBy(() -> array.mapAllocation(array.blockCount(), 1, (a, b, c) -> true))
                    .isInstanceOfSatisfying(CoreException.class, e -> assertThat(e.code()).isEqualTo(CoreError.OUT_OF_RANGE));
            List<Allocation> seen = new ArrayList<>();
            array.mapAllocation(0, array.blockCount(), (lba, count, allocation) -> {
                seen.add(allocation);
                return false;
            });
            assertThat(seen).containsExactly(Allocation.HOLE);
        }
    }
}
