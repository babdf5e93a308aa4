package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.IoCause;
import dev.scemu.core.IoMeter;
import dev.scemu.core.Media;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * RAID-5 full-stripe writes compute parity straight into the parity member
 * ({@code BlockDevice.writeComputed}: in place on a memory member, through a pool buffer on any
 * other). Whichever path a member takes, the array holds what a reference device holds and every
 * row's parity is right (a scrub finds no mismatch); a parity member that fails during the
 * computed write is failed like on any write, and the data stays readable.
 */
class FullStripeWriteTest {

    private static final int CHUNK = 16 * 1024;
    private static final int CHUNK_BLOCKS = CHUNK / TestArrays.BLOCK;
    private static final long MEMBER_BYTES = 4L << 20;

    private static List<BlockDevice> members(int count, boolean faultInjecting) {
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            BlockDevice memory = Media.memory("m" + i, BlockGeometry.ofBytes(TestArrays.BLOCK, MEMBER_BYTES));
            members.add(faultInjecting ? new FaultInjectingDevice(memory, i) : memory);
        }
        return members;
    }

    /** Random writes, most of them whole rows or runs of rows with ragged ends, mirrored into {@code reference}. */
    private static void writeRandomly(RaidArray array, BlockDevice reference, long seed, int writes) {
        Random random = new Random(seed);
        int rowBlocks = CHUNK_BLOCKS * (array.raidDisks() - 1);
        long rows = array.blockCount() / rowBlocks;
        for (int i = 0; i < writes; i++) {
            long lba;
            int blocks;
            switch (random.nextInt(3)) {
                case 0 -> { // one whole row
                    lba = random.nextInt((int) rows) * (long) rowBlocks;
                    blocks = rowBlocks;
                }
                case 1 -> { // several rows with a partial head and tail
                    lba = random.nextInt((int) (array.blockCount() - 4L * rowBlocks));
                    blocks = rowBlocks + random.nextInt(3 * rowBlocks);
                }
                default -> { // a few blocks: read-modify-write, between the full rows
                    lba = random.nextInt((int) array.blockCount() - 8);
                    blocks = 1 + random.nextInt(8);
                }
            }
            ByteBuffer data = TestArrays.randomBuffer(random, blocks);
            boolean fua = random.nextInt(4) == 0;
            array.write(lba, blocks, data, 0, fua);
            reference.write(lba, blocks, data, 0, fua);
        }
    }

    @ParameterizedTest(name = "{0} members, fault-injecting {1}")
    @org.junit.jupiter.params.provider.CsvSource({"3, false", "4, false", "6, false", "4, true", "5, true"})
    void fullStripesHoldTheDataAndTheirParity(int memberCount, boolean faultInjecting) {
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK).assumeClean(true)
                .build(), members(memberCount, faultInjecting));
        BlockDevice reference = Media.memory("ref", array.geometry());
        writeRandomly(array, reference, 31L * memberCount, 120);
        array.flush();
        TestArrays.assertSameContents(array, reference, "after full-stripe writes");
        ScrubResult scrub = array.scrub(false);
        assertThat(scrub.stripesChecked()).isGreaterThan(0);
        assertThat(scrub.mismatchedStripes()).as("rows whose parity disagrees with the data").isZero();
        array.close();
        reference.close();
    }

    @Test
    void aFullStripeWriteIssuesOneParityChunkAndReadsNothing() {
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK).assumeClean(true)
                .build(), members(4, false));
        int rowBlocks = 3 * CHUNK_BLOCKS;
        array.meter().reset();
        array.write(5L * rowBlocks, 2 * rowBlocks, TestArrays.randomBuffer(new Random(4), 2 * rowBlocks), 0);
        IoMeter.Snapshot m = array.meter().snapshot();
        assertThat(m.issuedWrite(IoCause.HOST).bytes()).isEqualTo(2L * rowBlocks * TestArrays.BLOCK);
        assertThat(m.issuedWrite(IoCause.PARITY).bytes()).isEqualTo(2L * CHUNK);
        assertThat(m.issuedReadTotal().bytes()).isZero();
        array.close();
    }

    /** The parity member of the written rows fails on write: it is failed, the data stays readable. */
    @ParameterizedTest(name = "parity member dies: {0}")
    @ValueSource(booleans = {false, true})
    void aParityMemberThatFailsTheComputedWriteIsFailed(boolean wholeDevice) {
        List<BlockDevice> members = members(4, true);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK).assumeClean(true)
                .build(), members);
        BlockDevice reference = Media.memory("ref", array.geometry());
        writeRandomly(array, reference, 77, 20);
        int rowBlocks = 3 * CHUNK_BLOCKS;
        long row = 9;
        int parity = new dev.scemu.raid.internal.Raid5Geometry(Raid5Layout.LEFT_SYMMETRIC, 4).parityMember(row);
        FaultInjectingDevice parityMember = (FaultInjectingDevice) members.get(parity);
        if (wholeDevice) {
            parityMember.failDevice();
        } else {
            long dataOffsetBlocks = array.dataOffsetSectors() / 8;
            parityMember.failWrites(Extent.of(dataOffsetBlocks + row * CHUNK_BLOCKS, CHUNK_BLOCKS));
        }
        ByteBuffer data = TestArrays.randomBuffer(new Random(5), rowBlocks);
        array.write(row * rowBlocks, rowBlocks, data, 0);
        reference.write(row * rowBlocks, rowBlocks, data, 0);
        assertThat(array.memberState(parity)).isEqualTo(MemberState.FAILED);
        TestArrays.assertSameContents(array, reference, "after the parity member failed");
        array.close();
        reference.close();
    }
}
