package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.raid.internal.MdRaidArray;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link BlockDevice#readCopy} and {@link BlockDevice#repairFromCopy} on RAID-1 and RAID-5: a block
 * damaged on one member (written behind the array's back, as bit rot) reads back right from the copy
 * that leaves that member out, the other copies say false or read the same, the repair rewrites the
 * member so that plain reads and a scrub agree again, and with a second member missing no copy that
 * needs it is offered.
 */
class RedundantCopyTest {

    private static final int CHUNK = 16 * 1024;
    private static final int BLOCKS = 40;

    @ParameterizedTest
    @ValueSource(strings = {"RAID1", "RAID5"})
    void aBlockDamagedOnOneMemberReadsRightFromTheCopyWithoutItAndIsRepaired(String levelName) {
        RaidLevel level = RaidLevel.valueOf(levelName);
        List<BlockDevice> members = TestArrays.memoryMembers("c", TestArrays.membersFor(level), 4L << 20);
        RaidArray array = RaidArray.create(RaidConfig.builder(level).chunkBytes(CHUNK).assumeClean(true).build(), members);
        ByteBuffer data = TestArrays.randomBuffer(new Random(21), BLOCKS);
        array.write(0, BLOCKS, data, 0);
        array.flush();
        assertThat(array.redundantCopies()).isEqualTo(members.size());

        long lba = 7; // array block 7: on RAID-5 in chunk 1 (member 1 of row 0), on RAID-1 on every mirror
        ByteBuffer plain = ByteBuffer.allocateDirect(TestArrays.BLOCK);
        array.read(lba, 1, plain, 0);
        int damaged = whichMemberHolds(array, members, lba, plain);
        long memberLba = array.dataOffsetSectors() * 512 / TestArrays.BLOCK
                + (level == RaidLevel.RAID5 ? lba % (CHUNK / TestArrays.BLOCK) : lba);
        members.get(damaged).write(memberLba, 1, TestArrays.randomBuffer(new Random(22), 1), 0);
        array.read(lba, 1, plain, 0);
        ByteBuffer expected = data.duplicate().position((int) lba * TestArrays.BLOCK).limit((int) (lba + 1) * TestArrays.BLOCK);
        assertThat(plain).as("the plain read returns the damage").isNotEqualTo(expected);

        ByteBuffer copy = ByteBuffer.allocateDirect(TestArrays.BLOCK);
        int good = -1;
        for (int c = 1; c <= array.redundantCopies(); c++) {
            if (array.readCopy(lba, 1, copy, 0, c) && copy.clear().equals(expected)) {
                good = c;
            }
        }
        assertThat(good).as("the copy without member %d", damaged).isEqualTo(damaged + 1);
        assertThat(array.readCopy(lba, 1, copy, 0, array.redundantCopies() + 1)).isFalse();

        array.repairFromCopy(lba, 1, good);
        array.read(lba, 1, plain.clear(), 0);
        assertThat(plain).as("plain reads return the repaired block").isEqualTo(expected);
        assertThat(array.scrub(false).mismatchedStripes()).isZero();

        array.stop();
        ByteBuffer sb = ByteBuffer.allocateDirect(TestArrays.BLOCK);
        members.get(damaged).read(dev.scemu.raid.internal.MdSuperblockLayout.SUPER_OFFSET_BYTES / TestArrays.BLOCK, 1, sb, 0);
        byte[] bytes = new byte[dev.scemu.raid.internal.MdSuperblockLayout.SUPERBLOCK_BYTES];
        sb.get(0, bytes);
        assertThat(dev.scemu.raid.internal.MdSuperblock.decode(bytes, "member").correctedReads)
                .as("md's cnt_corrected_read of the repaired member").isEqualTo(1);
        array = RaidArray.assemble(members);
        if (level == RaidLevel.RAID5) {
            array.failMember((damaged + 1) % members.size());
            assertThat(array.readCopy(lba, 1, copy, 0, damaged + 1)).as("needs the failed member").isFalse();
        }
        array.close();
    }

    /** The member whose block {@code lba} a plain read returned (the one to damage). */
    private static int whichMemberHolds(RaidArray array, List<BlockDevice> members, long lba, ByteBuffer plain) {
        long offset = array.dataOffsetSectors() * 512 / TestArrays.BLOCK;
        ByteBuffer block = ByteBuffer.allocateDirect(TestArrays.BLOCK);
        long[] candidates = array.level() == RaidLevel.RAID5 ? new long[] {lba % (CHUNK / TestArrays.BLOCK)} : new long[] {lba};
        for (int m = 0; m < members.size(); m++) {
            members.get(m).read(offset + candidates[0], 1, block.clear(), 0);
            if (block.clear().equals(plain.clear())) {
                return m;
            }
        }
        throw new AssertionError("no member holds block " + lba + " of " + ((MdRaidArray) array).name());
    }
}
