package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.Allocation;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.IoCause;
import dev.scemu.core.Media;
import dev.scemu.core.MediaKind;
import dev.scemu.core.internal.DirectFileBlockDevice;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Trims pass down to the members where redundancy allows: whole RAID-5 stripe rows are trimmed on
 * every member (data chunks and parity: holes everywhere, scrub finds parity consistent), partial
 * rows are written zeros (data, reading zeros), RAID-1 trims both mirrors and RAID-0 every chunk
 * piece; a degraded RAID-5 row is written zeros instead. Everything outside the trimmed range keeps
 * its data. Members are sparse files whose trims punch holes ({@link DirectFileBlockDevice}).
 */
class TrimPassDownTest {

    private static final int BLOCK = TestArrays.BLOCK;
    private static final int CHUNK_BLOCKS = 16;

    @TempDir
    Path dir;

    private List<BlockDevice> members;

    private RaidArray create(RaidLevel level, int disks) {
        members = new ArrayList<>();
        for (int i = 0; i < disks; i++) {
            members.add(Media.open(MediaKind.FILE, "m" + i, dir.resolve(level + "-" + i + ".img"),
                    BlockGeometry.ofBytes(BLOCK, 4L << 20)));
        }
        return RaidArray.create(RaidConfig.builder(level).chunkBytes(CHUNK_BLOCKS * BLOCK)
                .bitmapChunkBytes(64 * 1024).assumeClean(true).build(), members);
    }

    private static boolean punches(BlockDevice member) {
        return member instanceof DirectFileBlockDevice d && d.punchesHoles();
    }

    /** The states of array (or member) blocks {@code [lba, lba + count)}, one per block. */
    private static Allocation[] states(BlockDevice device, long lba, long count) {
        Allocation[] out = new Allocation[(int) count];
        device.mapAllocation(lba, count, (at, n, allocation) -> {
            for (long b = at; b < at + n; b++) {
                out[(int) (b - lba)] = allocation;
            }
            return true;
        });
        return out;
    }

    private static void assertAll(Allocation[] states, Allocation expected, String what) {
        for (int i = 0; i < states.length; i++) {
            if (states[i] != expected) {
                assertThat(states[i]).as("%s: block %d", what, i).isEqualTo(expected);
            }
        }
    }

    /** Fills the array with random data, flushed; returns the data. */
    private static byte[] fill(RaidArray array, long seed) {
        byte[] data = new byte[(int) (array.blockCount() * BLOCK)];
        new Random(seed).nextBytes(data);
        array.write(0, (int) array.blockCount(), ByteBuffer.wrap(data), 0);
        array.flush();
        return data;
    }

    /** Reads the whole array: the trimmed range reads zeros, the rest what {@code data} holds. */
    private static void assertContents(RaidArray array, byte[] data, long trimLba, long trimBlocks, String what) {
        ByteBuffer back = ByteBuffer.allocateDirect((int) (array.blockCount() * BLOCK));
        array.read(0, (int) array.blockCount(), back, 0);
        for (long b = 0; b < array.blockCount(); b++) {
            boolean trimmed = b >= trimLba && b < trimLba + trimBlocks;
            int at = (int) (b * BLOCK);
            ByteBuffer actual = back.slice(at, BLOCK);
            ByteBuffer expected = trimmed ? ByteBuffer.allocate(BLOCK) : ByteBuffer.wrap(data, at, BLOCK).slice();
            if (actual.mismatch(expected) >= 0) {
                throw new AssertionError(what + ": block " + b + (trimmed ? " (trimmed) is not zero" : " lost its data"));
            }
        }
    }

    @Test
    void raid5WholeRowsBecomeHolesOnEveryMemberAndPartialRowsStayDataReadingZeros() {
        try (RaidArray array = create(RaidLevel.RAID5, 4)) {
            long rowBlocks = 3L * CHUNK_BLOCKS;
            byte[] data = fill(array, 1);
            long trimLba = 2 * rowBlocks + 5; // partial row 2, whole rows 3..6, partial row 7
            long trimBlocks = 5 * rowBlocks - 5 + 7;
            long metaWrites = array.meter().snapshot().issuedWrite(IoCause.HOST).bytes();
            array.trim(trimLba, trimBlocks);
            array.flush();
            long hostWrittenBytes = array.meter().snapshot().issuedWrite(IoCause.HOST).bytes() - metaWrites;
            assertThat(hostWrittenBytes).as("only the partial rows are written (zeros)")
                    .isEqualTo((rowBlocks - 5 + 7) * BLOCK);
            assertContents(array, data, trimLba, trimBlocks, "after trim");
            if (punches(members.get(0))) {
                assertAll(states(array, 3 * rowBlocks, 4 * rowBlocks), Allocation.HOLE, "array rows 3..6");
                long memberBase = array.dataOffsetSectors() / (BLOCK / 512);
                for (int m = 0; m < 4; m++) {
                    assertAll(states(members.get(m), memberBase + 3L * CHUNK_BLOCKS, 4L * CHUNK_BLOCKS),
                            Allocation.HOLE, "member " + m + " (data and parity) rows 3..6");
                }
            }
            assertAll(states(array, 2 * rowBlocks + 5, rowBlocks - 5), Allocation.DATA, "partial row 2");
            assertAll(states(array, 7 * rowBlocks, 7), Allocation.DATA, "partial row 7");
            ScrubResult scrub = array.scrub(false);
            assertThat(scrub.stripesChecked()).isPositive();
            assertThat(scrub.mismatchedStripes()).as("parity consistent after the trims").isZero();
            // a member lost now reconstructs the trimmed rows as zeros and the rest as its data
            array.failMember(2);
            assertContents(array, data, trimLba, trimBlocks, "degraded after trim");
        }
    }

    @Test
    void raid5DegradedRowsAreWrittenZerosAndReadZeros() {
        try (RaidArray array = create(RaidLevel.RAID5, 3)) {
            long rowBlocks = 2L * CHUNK_BLOCKS;
            byte[] data = fill(array, 2);
            array.failMember(1);
            long before = array.meter().snapshot().issuedWrite(IoCause.HOST).bytes();
            array.trim(4 * rowBlocks, 2 * rowBlocks);
            array.flush();
            assertThat(array.meter().snapshot().issuedWrite(IoCause.HOST).bytes() - before)
                    .as("degraded: the rows' present data chunks are written zeros").isPositive();
            assertContents(array, data, 4 * rowBlocks, 2 * rowBlocks, "degraded trim");
        }
    }

    @Test
    void raid1TrimsBothMirrorsAndRaid0EveryChunkPiece() {
        for (RaidLevel level : List.of(RaidLevel.RAID1, RaidLevel.RAID0)) {
            try (RaidArray array = create(level, 2)) {
                byte[] data = fill(array, 3);
                long trimLba = 3 * CHUNK_BLOCKS + 4;
                long trimBlocks = 4L * CHUNK_BLOCKS + 3;
                array.trim(trimLba, trimBlocks);
                array.flush();
                assertContents(array, data, trimLba, trimBlocks, level + " after trim");
                if (punches(members.get(0))) {
                    assertAll(states(array, trimLba, trimBlocks), Allocation.HOLE, level + " trimmed range");
                    if (level == RaidLevel.RAID1) {
                        long memberBase = array.dataOffsetSectors() / (BLOCK / 512);
                        for (int m = 0; m < 2; m++) {
                            assertAll(states(members.get(m), memberBase + trimLba, trimBlocks), Allocation.HOLE,
                                    "mirror " + m);
                        }
                        assertThat(array.scrub(false).mismatchedStripes()).isZero();
                    }
                }
                assertAll(states(array, trimLba - 1, 1), Allocation.DATA, level + " before the range");
                assertAll(states(array, trimLba + trimBlocks, 1), Allocation.DATA, level + " after the range");
            }
        }
    }
}
