package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.IoCause;
import dev.scemu.core.Media;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Latent sector errors are repaired from redundancy; a dead member is failed and reads reconstruct. */
class FaultHandlingTest {

    private static List<FaultInjectingDevice> faultyMembers(int count) {
        List<FaultInjectingDevice> members = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            members.add(new FaultInjectingDevice(Media.memory("f" + i, BlockGeometry.ofBytes(4096, 4L << 20)), i));
        }
        return members;
    }

    private static byte[] read(BlockDevice device, long lba, int blocks) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(blocks * device.blockSize());
        device.read(lba, blocks, buffer, 0);
        byte[] bytes = new byte[buffer.capacity()];
        buffer.get(0, bytes);
        return bytes;
    }

    @ParameterizedTest
    @EnumSource(value = RaidLevel.class, names = {"RAID1", "RAID5"})
    void mediumErrorIsRepairedByRewritingTheBlockNotByFailingTheMember(RaidLevel level) {
        List<FaultInjectingDevice> members = faultyMembers(level == RaidLevel.RAID5 ? 4 : 2);
        RaidArray array = RaidArray.create(RaidConfig.builder(level).chunkBytes(16 * 1024).assumeClean(true).build(),
                members);
        ByteBuffer data = TestArrays.randomBuffer(new Random(1), 64);
        array.write(0, 64, data, 0);
        array.flush();
        byte[] expected = new byte[64 * 4096];
        data.get(0, expected);
        long dataOffsetBlocks = array.dataOffsetSectors() / 8;
        // member 0 holds array blocks 0..3 in both levels; break its block 2
        members.get(0).failReads(Extent.of(dataOffsetBlocks + 2, 1));
        array.meter().reset();
        assertThat(read(array, 0, 64)).isEqualTo(expected);
        assertThat(array.memberState(0)).isEqualTo(MemberState.ACTIVE);
        assertThat(array.meter().snapshot().issuedWrite(IoCause.REBUILD).bytes()).as("only the bad block is rewritten")
                .isEqualTo(4096L);
        // the rewrite remapped the sector: the member reads again without error
        assertThat(read(members.get(0), dataOffsetBlocks + 2, 1)).isEqualTo(
                java.util.Arrays.copyOfRange(expected, level == RaidLevel.RAID5 ? 2 * 4096 : 2 * 4096, 3 * 4096));
        assertThat(array.scrub(false).mismatchedStripes()).isZero();
        array.close();
    }

    @ParameterizedTest
    @EnumSource(value = RaidLevel.class, names = {"RAID1", "RAID5"})
    void deadMemberIsFailedAndReadsAndWritesContinue(RaidLevel level) {
        List<FaultInjectingDevice> members = faultyMembers(level == RaidLevel.RAID5 ? 4 : 2);
        RaidArray array = RaidArray.create(RaidConfig.builder(level).chunkBytes(16 * 1024).assumeClean(true).build(),
                members);
        BlockDevice reference = Media.memory("ref", array.geometry());
        ByteBuffer data = TestArrays.randomBuffer(new Random(2), 64);
        array.write(10, 64, data, 0);
        reference.write(10, 64, data, 0);
        members.get(1).failDevice();
        TestArrays.assertSameContents(array, reference, "after member 1 died");
        assertThat(array.memberState(1)).isEqualTo(MemberState.FAILED);
        ByteBuffer more = TestArrays.randomBuffer(new Random(3), 40);
        array.write(50, 40, more, 0);
        reference.write(50, 40, more, 0);
        TestArrays.assertSameContents(array, reference, "degraded writes");
        array.close();
        reference.close();
    }
    /**
     * Like md, a read that hits a medium error rebuilds only the blocks that fail: the others of
     * the same chunk are returned as stored. (Rebuilding the whole chunk from parity would replace
     * good data by whatever a stale parity block gives, e.g. in a stripe left dirty by a power cut.)
     */
    @org.junit.jupiter.api.Test
    void aMediumErrorRebuildsOnlyTheFailingBlockNotItsWholeChunk() {
        List<FaultInjectingDevice> members = faultyMembers(4);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(16 * 1024).assumeClean(true)
                .build(), members);
        ByteBuffer data = TestArrays.randomBuffer(new Random(2), 12);
        array.write(0, 12, data, 0); // row 0: member 0 holds array blocks 0..3, member 3 the parity
        array.flush();
        byte[] expected = new byte[4 * 4096];
        data.get(0, expected);
        long dataOffsetBlocks = array.dataOffsetSectors() / 8;
        members.get(3).corruptBlock(dataOffsetBlocks);            // stale parity of block 0 of the row
        members.get(0).failReads(Extent.of(dataOffsetBlocks + 1, 1)); // unreadable block 1
        assertThat(read(array, 0, 4)).as("blocks 0..3: 0, 2, 3 as stored, 1 rebuilt from intact parity")
                .isEqualTo(expected);
        array.close();
    }

    /**
     * md's stripe is one block per member: unreadable blocks of two members at different offsets
     * of one chunk row are two single faults. A write over them must choose its parity strategy per
     * block (it failed the whole segment as a double fault before); only two unreadable blocks at
     * the same offset are beyond RAID-5.
     */
    @org.junit.jupiter.api.Test
    void unreadableBlocksOfTwoMembersAtDifferentOffsetsOfARowAreTwoSingleFaults() {
        List<FaultInjectingDevice> members = faultyMembers(4);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(16 * 1024).assumeClean(true)
                .build(), members);
        ByteBuffer data = TestArrays.randomBuffer(new Random(4), 12);
        array.write(0, 12, data, 0); // row 0: member 0 holds array blocks 0..3, member 1 4..7, member 2 8..11
        array.flush();
        long dataOffsetBlocks = array.dataOffsetSectors() / 8;
        members.get(0).failReads(Extent.of(dataOffsetBlocks + 1, 1));
        members.get(1).failReads(Extent.of(dataOffsetBlocks + 2, 1));
        // RMW of member 0's chunk cannot read its block 1, RCW cannot read member 1's block 2
        ByteBuffer update = TestArrays.randomBuffer(new Random(5), 4);
        array.write(0, 4, update, 0);
        byte[] expected = new byte[12 * 4096];
        data.get(0, expected);
        byte[] updated = new byte[4 * 4096];
        update.get(0, updated);
        System.arraycopy(updated, 0, expected, 0, updated.length);
        assertThat(read(array, 0, 12)).as("the row after the write, member 1's block 2 rebuilt").isEqualTo(expected);
        assertThat(java.util.stream.IntStream.range(0, 4).mapToObj(array::memberState)).containsOnly(MemberState.ACTIVE);
        ScrubResult scrub = array.scrub(false);
        assertThat(scrub.mismatchedStripes()).isZero();
        assertThat(scrub.stripesChecked()).as("every row readable again").isEqualTo(array.geometry().blockCount() / 12);

        // the same offset on two members is a double fault: the read fails, the members stay in
        members.get(0).failReads(Extent.of(dataOffsetBlocks + 3, 1));
        members.get(2).failReads(Extent.of(dataOffsetBlocks + 3, 1));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> read(array, 0, 12))
                .isInstanceOfSatisfying(RaidException.class, e -> assertThat(e.code()).isEqualTo(RaidError.ARRAY_FAILED));
        assertThat(java.util.stream.IntStream.range(0, 4).mapToObj(array::memberState)).containsOnly(MemberState.ACTIVE);
        array.close();
    }

    /**
     * md's check corrects read errors: a scrub that meets an unreadable block rebuilds and rewrites
     * it and still compares the rest of the row (it skipped the whole row before, unchecked), and
     * a repair scrub fixes a stale parity block in the same row.
     */
    @org.junit.jupiter.api.Test
    void aScrubRewritesAnUnreadableBlockAndStillChecksTheRestOfItsRow() {
        List<FaultInjectingDevice> members = faultyMembers(4);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(16 * 1024).assumeClean(true)
                .build(), members);
        ByteBuffer data = TestArrays.randomBuffer(new Random(6), 24);
        array.write(0, 24, data, 0); // rows 0 and 1; row 0: member 3 holds the parity
        array.flush();
        long rows = array.geometry().blockCount() / 12;
        long dataOffsetBlocks = array.dataOffsetSectors() / 8;
        members.get(0).failReads(Extent.of(dataOffsetBlocks + 1, 1)); // unreadable data block 1 of row 0
        members.get(1).failReads(Extent.of(dataOffsetBlocks + 3, 1)); // and block 3 of member 1: another stripe
        members.get(3).corruptBlock(dataOffsetBlocks + 2);           // stale parity of block 2 of row 0

        ScrubResult check = array.scrub(false);
        assertThat(check.stripesChecked()).as("row 0 is checked despite its unreadable blocks").isEqualTo(rows);
        assertThat(check.mismatchedStripes()).as("the stale parity is found").isEqualTo(1);
        assertThat(read(members.get(0), dataOffsetBlocks + 1, 1)).as("rewritten from redundancy")
                .isEqualTo(java.util.Arrays.copyOfRange(bytes(data), 4096, 2 * 4096));
        ScrubResult repair = array.scrub(true);
        assertThat(repair.repairedStripes()).isEqualTo(1);
        assertThat(array.scrub(false).mismatchedStripes()).isZero();
        byte[] expected = bytes(data);
        members.get(2).failDevice(); // the repaired parity now carries member 2's blocks
        assertThat(read(array, 0, 24)).isEqualTo(expected);
        array.close();
    }

    private static byte[] bytes(ByteBuffer buffer) {
        byte[] out = new byte[buffer.capacity()];
        buffer.get(0, out);
        return out;
    }
}
