package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.Media;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Re-assembly from superblocks alone: any order, foreign and stale members, dirty degraded arrays. */
class AssembleTest {

    private static final RaidConfig RAID5 = RaidConfig.builder(RaidLevel.RAID5).chunkBytes(16 * 1024)
            .assumeClean(true).build();

    static BlockDevice copyOf(BlockDevice device) {
        BlockDevice copy = Media.memory(device.name() + "-copy", device.geometry());
        ByteBuffer buffer = ByteBuffer.allocateDirect(256 * device.blockSize());
        for (long lba = 0; lba < device.blockCount(); lba += 256) {
            int n = (int) Math.min(256, device.blockCount() - lba);
            device.read(lba, n, buffer, 0);
            copy.write(lba, n, buffer, 0);
        }
        return copy;
    }

    private static byte[] read(BlockDevice device, long lba, int blocks) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(blocks * device.blockSize());
        device.read(lba, blocks, buffer, 0);
        byte[] bytes = new byte[buffer.capacity()];
        buffer.get(0, bytes);
        return bytes;
    }

    @Test
    void reassemblesInAnyOrderAndReadsTheSameBytes() {
        List<BlockDevice> members = TestArrays.memoryMembers("a", 5, 4L << 20);
        RaidArray array = RaidArray.create(RAID5, members);
        ByteBuffer data = TestArrays.randomBuffer(new Random(1), 100);
        array.write(37, 100, data, 0);
        byte[] before = read(array, 0, 200);
        array.stop();
        List<BlockDevice> shuffled = new ArrayList<>(members);
        Collections.shuffle(shuffled, new Random(2));
        RaidArray again = RaidArray.assemble(shuffled);
        assertThat(again.setUuid()).isEqualTo(array.setUuid());
        assertThat(again.isDegraded()).isFalse();
        assertThat(again.events()).isGreaterThan(array.events());
        for (int role = 0; role < 5; role++) {
            assertThat(again.member(role)).isSameAs(members.get(role));
        }
        assertThat(read(again, 0, 200)).isEqualTo(before);
        again.close();
    }

    @Test
    void assemblesDegradedWhenAMemberHasFailedAsAWhole() {
        List<BlockDevice> disks = TestArrays.memoryMembers("f", 4, 4L << 20);
        List<dev.scemu.core.FaultInjectingDevice> members = new ArrayList<>();
        for (int i = 0; i < disks.size(); i++) {
            members.add(new dev.scemu.core.FaultInjectingDevice(disks.get(i), i));
        }
        RaidArray array = RaidArray.create(RAID5, members);
        ByteBuffer data = TestArrays.randomBuffer(new Random(3), 64);
        array.write(5, 64, data, 0);
        array.flush();
        byte[] before = read(array, 0, 80);
        array.stop();
        members.get(2).failDevice();
        RaidArray again = RaidArray.assemble(members);
        assertThat(again.isDegraded()).isTrue();
        assertThat(again.memberState(2)).isEqualTo(MemberState.FAILED);
        assertThat(read(again, 0, 80)).isEqualTo(before);
        again.close();
        members.get(2).close();
    }

    @Test
    void aMemberOfAnotherArrayIsLeftOutAndTheArrayStartsDegraded() {
        List<BlockDevice> first = TestArrays.memoryMembers("x", 3, 4L << 20);
        List<BlockDevice> second = TestArrays.memoryMembers("y", 3, 4L << 20);
        RaidArray one = RaidArray.create(RAID5, first);
        one.stop();
        RaidArray other = RaidArray.create(RAID5, second);
        other.stop();
        List<BlockDevice> mixed = List.of(first.get(0), second.get(1), first.get(2));
        RaidArray again = RaidArray.assemble(mixed);
        assertThat(again.setUuid()).as("the set most members carry").isEqualTo(one.setUuid());
        assertThat(again.memberState(1)).isEqualTo(MemberState.FAILED);
        assertThat(again.memberFault(1)).contains("belongs to array").contains(
                String.format("%08x", other.setUuid().getMostSignificantBits() >>> 32));
        again.close();
    }

    @Test
    void aDeviceWithoutSuperblockIsLeftOutAndNoneAtAllIsRefused() {
        List<BlockDevice> members = new ArrayList<>(TestArrays.memoryMembers("n", 3, 4L << 20));
        RaidArray.create(RAID5, members).stop();
        members.set(1, Media.memory("blank", members.get(1).geometry()));
        RaidArray degraded = RaidArray.assemble(members);
        assertThat(degraded.memberFault(1)).startsWith("no md superblock");
        degraded.close();
        List<BlockDevice> blanks = List.of(Media.memory("b0", members.get(0).geometry()),
                Media.memory("b1", members.get(0).geometry()));
        assertThatThrownBy(() -> RaidArray.assemble(blanks))
                .isInstanceOf(RaidException.class)
                .hasMessageContaining("b0").hasMessageContaining("b1")
                .satisfies(e -> assertThat(((RaidException) e).code()).isEqualTo(RaidError.NO_SUPERBLOCK));
    }

    @Test
    void staleMemberWithLowerEventsIsLeftOutAndTheArrayStartsDegraded() {
        List<BlockDevice> members = TestArrays.memoryMembers("s", 4, 4L << 20);
        RaidArray array = RaidArray.create(RAID5, members);
        array.write(0, 10, TestArrays.randomBuffer(new Random(3), 10), 0);
        array.stop();
        BlockDevice oldMember1 = copyOf(members.get(1));
        RaidArray second = RaidArray.assemble(members);
        ByteBuffer newer = TestArrays.randomBuffer(new Random(4), 64);
        second.write(0, 64, newer, 0);
        second.stop();
        List<BlockDevice> withStale = new ArrayList<>(members);
        withStale.set(1, oldMember1);
        RaidArray third = RaidArray.assemble(withStale);
        assertThat(third.isDegraded()).isTrue();
        assertThat(third.memberState(1)).isEqualTo(MemberState.FAILED);
        byte[] expected = new byte[64 * 4096];
        newer.get(0, expected);
        assertThat(read(third, 0, 64)).isEqualTo(expected);
        third.close();
    }

    @Test
    void dirtyDegradedRaid5IsRefusedUnlessForced() {
        List<BlockDevice> members = TestArrays.memoryMembers("d", 4, 4L << 20);
        RaidArray array = RaidArray.create(RAID5, members);
        array.write(0, 10, TestArrays.randomBuffer(new Random(5), 10), 0);
        array.flush();
        // crash: the array is never stopped, its superblocks say "active"
        List<BlockDevice> three = List.of(members.get(0), members.get(2), members.get(3));
        assertThatThrownBy(() -> RaidArray.assemble(three))
                .isInstanceOf(RaidException.class)
                .hasMessageContaining("dirty degraded")
                .satisfies(e -> assertThat(((RaidException) e).code()).isEqualTo(RaidError.DIRTY_DEGRADED));
        RaidArray forced = RaidArray.assemble(three, AssembleOptions.defaults().withForce(true));
        assertThat(forced.isDegraded()).isTrue();
        assertThat(forced.memberState(1)).isEqualTo(MemberState.FAILED);
        forced.close();
    }

    @Test
    void tooFewMembersIsRefusedWithTheCounts() {
        List<BlockDevice> members = TestArrays.memoryMembers("f", 4, 4L << 20);
        RaidArray.create(RAID5, members).stop();
        assertThatThrownBy(() -> RaidArray.assemble(List.of(members.get(0), members.get(1))))
                .isInstanceOf(RaidException.class)
                .hasMessageContaining("2 in-sync members")
                .satisfies(e -> assertThat(((RaidException) e).code()).isEqualTo(RaidError.NOT_ENOUGH_MEMBERS));
    }

    @Test
    void uncleanRaid1StartsDegraded() {
        List<BlockDevice> members = TestArrays.memoryMembers("r", 3, 4L << 20);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID1).assumeClean(true).build(), members);
        ByteBuffer data = TestArrays.randomBuffer(new Random(6), 16);
        array.write(5, 16, data, 0);
        array.flush();
        RaidArray again = RaidArray.assemble(List.of(members.get(2), members.get(0)));
        assertThat(again.isDegraded()).isTrue();
        byte[] expected = new byte[16 * 4096];
        data.get(0, expected);
        assertThat(read(again, 5, 16)).isEqualTo(expected);
        again.close();
    }
}
