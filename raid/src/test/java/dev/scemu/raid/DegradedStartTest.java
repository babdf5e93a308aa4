package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.Extent;
import dev.scemu.core.FaultInjectingDevice;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * md's {@code --run}: a RAID-1/5 whose members include one that is missing, unreadable, carries a
 * damaged superblock or another array's starts degraded, names the member and why, records it
 * faulty on the others and rebuilds onto a replacement; too many bad members, or any on RAID-0,
 * is refused with every reason and nothing written.
 */
class DegradedStartTest {

    private static final long MEMBER_BYTES = 4L << 20;
    /** Byte offset of the md superblock (block 1 of a 4 KiB-block member). */
    private static final int SUPERBLOCK_BLOCK = 1;

    enum Bad { MISSING, UNREADABLE, DAMAGED, FOREIGN }

    static List<Arguments> levelsAndKinds() {
        List<Arguments> out = new ArrayList<>();
        for (RaidLevel level : List.of(RaidLevel.RAID1, RaidLevel.RAID5)) {
            for (Bad bad : Bad.values()) {
                out.add(Arguments.of(level, bad));
            }
        }
        return out;
    }

    private static List<FaultInjectingDevice> members(String prefix, int count) {
        List<FaultInjectingDevice> members = new ArrayList<>();
        for (BlockDevice d : TestArrays.memoryMembers(prefix, count, MEMBER_BYTES)) {
            members.add(new FaultInjectingDevice(d, members.size()));
        }
        return members;
    }

    private static RaidConfig config(RaidLevel level) {
        return RaidConfig.builder(level).chunkBytes(16 * 1024).assumeClean(true).build();
    }

    private static byte[] block(BlockDevice device, long lba) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(device.blockSize());
        device.read(lba, 1, buffer, 0);
        byte[] bytes = new byte[device.blockSize()];
        buffer.get(0, bytes);
        return bytes;
    }

    private static void putBlock(BlockDevice device, long lba, byte[] bytes) {
        device.write(lba, 1, ByteBuffer.allocateDirect(bytes.length).put(bytes).clear(), 0);
    }

    private static byte[] read(BlockDevice device, long lba, int blocks) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(blocks * device.blockSize());
        device.read(lba, blocks, buffer, 0);
        byte[] bytes = new byte[buffer.capacity()];
        buffer.get(0, bytes);
        return bytes;
    }

    /** Makes member {@code role} bad; returns the candidate list to assemble from. */
    private static List<BlockDevice> spoil(List<FaultInjectingDevice> members, int role, Bad bad, RaidLevel level) {
        List<BlockDevice> candidates = new ArrayList<>(members);
        switch (bad) {
            case MISSING -> candidates.remove(role);
            case UNREADABLE -> members.get(role).failReads(Extent.of(SUPERBLOCK_BLOCK, 1));
            case DAMAGED -> {
                byte[] sb = block(members.get(role), SUPERBLOCK_BLOCK);
                sb[100] ^= 0x10; // inside the superblock, covered by sb_csum
                putBlock(members.get(role), SUPERBLOCK_BLOCK, sb);
            }
            case FOREIGN -> {
                List<FaultInjectingDevice> other = members("other", members.size());
                RaidArray.create(config(level), other).stop();
                putBlock(members.get(role), SUPERBLOCK_BLOCK, block(other.get(role), SUPERBLOCK_BLOCK));
            }
        }
        return candidates;
    }

    private static String expectedFault(Bad bad) {
        return switch (bad) {
            case MISSING -> "missing";
            case UNREADABLE -> "unreadable: MEDIUM_ERROR";
            case DAMAGED -> "md superblock checksum mismatch";
            case FOREIGN -> "belongs to array ";
        };
    }

    @ParameterizedTest(name = "{0} with member 1 {1}")
    @MethodSource("levelsAndKinds")
    void startsDegradedNamesTheMemberRecordsItFaultyAndRebuildsOntoAReplacement(RaidLevel level, Bad bad)
            throws Exception {
        int n = TestArrays.membersFor(level);
        List<FaultInjectingDevice> members = members("m", n);
        RaidArray array = RaidArray.create(config(level), members);
        UUID set = array.setUuid();
        ByteBuffer data = TestArrays.randomBuffer(new Random(level.ordinal() * 10 + bad.ordinal()), 96);
        array.write(3, 96, data, 0);
        byte[] expected = read(array, 0, 120);
        array.stop();
        byte[] goodSuperblock = block(members.get(1), SUPERBLOCK_BLOCK);

        RaidArray degraded = RaidArray.assemble(spoil(members, 1, bad, level));
        assertThat(degraded.setUuid()).isEqualTo(set);
        assertThat(degraded.isDegraded()).isTrue();
        assertThat(degraded.memberState(1)).isEqualTo(MemberState.FAILED);
        assertThat(degraded.memberFault(1)).as("why member 1 is out").startsWith(expectedFault(bad));
        for (int r = 0; r < n; r++) {
            if (r != 1) {
                assertThat(degraded.memberState(r)).isEqualTo(MemberState.ACTIVE);
                assertThat(degraded.memberFault(r)).isNull();
            }
        }
        assertThat(read(degraded, 0, 120)).as("data served degraded").isEqualTo(expected);
        degraded.stop();

        // the others recorded member 1 faulty: even with its good superblock back it is stale now
        members.get(1).clearMediumErrors();
        putBlock(members.get(1), SUPERBLOCK_BLOCK, goodSuperblock);
        RaidArray again = RaidArray.assemble(new ArrayList<BlockDevice>(members));
        assertThat(again.memberState(1)).isEqualTo(MemberState.FAILED);
        assertThat(again.memberFault(1)).startsWith("stale: the freshest superblock lists device 1 as faulty");
        assertThat(read(again, 0, 120)).isEqualTo(expected);

        FaultInjectingDevice replacement = members("new", 1).get(0);
        RebuildProgress done = again.replaceMember(1, replacement, null).get(60, TimeUnit.SECONDS);
        assertThat(done.doneBytes()).isEqualTo(done.totalBytes()).isPositive();
        assertThat(again.isDegraded()).isFalse();
        assertThat(again.memberFault(1)).isNull();
        assertThat(again.scrub(false).mismatchedStripes()).isZero();
        again.stop();
        List<BlockDevice> rebuilt = new ArrayList<>(members);
        rebuilt.set(1, replacement);
        RaidArray whole = RaidArray.assemble(rebuilt);
        assertThat(whole.isDegraded()).isFalse();
        assertThat(read(whole, 0, 120)).isEqualTo(expected);
        whole.close();
    }

    @Test
    void twoBadMembersOfARaid5AreRefusedNamingBothAndNothingIsWritten() {
        List<FaultInjectingDevice> members = members("t", 4);
        RaidArray.create(config(RaidLevel.RAID5), members).stop();
        spoil(members, 1, Bad.DAMAGED, RaidLevel.RAID5);
        List<BlockDevice> candidates = spoil(members, 3, Bad.MISSING, RaidLevel.RAID5);
        byte[] before0 = block(members.get(0), SUPERBLOCK_BLOCK);
        assertThatThrownBy(() -> RaidArray.assemble(candidates))
                .isInstanceOfSatisfying(RaidException.class,
                        e -> assertThat(e.code()).isEqualTo(RaidError.NOT_ENOUGH_MEMBERS))
                .hasMessageContaining("2 in-sync members")
                .hasMessageContaining("member 3: missing")
                .hasMessageContaining("also left out: member 1 (t1): md superblock checksum mismatch");
        assertThat(block(members.get(0), SUPERBLOCK_BLOCK)).as("refused assembly writes nothing").isEqualTo(before0);
    }

    @Test
    void aRaid1WithEveryMemberBadIsRefused() {
        List<FaultInjectingDevice> members = members("a", 2);
        RaidArray.create(config(RaidLevel.RAID1), members).stop();
        spoil(members, 0, Bad.DAMAGED, RaidLevel.RAID1);
        spoil(members, 1, Bad.UNREADABLE, RaidLevel.RAID1);
        assertThatThrownBy(() -> RaidArray.assemble(new ArrayList<BlockDevice>(members)))
                .isInstanceOfSatisfying(RaidException.class,
                        e -> assertThat(e.code()).isEqualTo(RaidError.NO_SUPERBLOCK))
                .hasMessageContaining("none of the 2 members has a valid md superblock")
                .hasMessageContaining("member 0 (a0): md superblock checksum mismatch")
                .hasMessageContaining("member 1 (a1): unreadable");
    }

    @Test
    void aTwoWayMirrorWithAForeignMemberIsAmbiguousUnlessTheSetIsNamed() {
        List<FaultInjectingDevice> members = members("w", 2);
        RaidArray array = RaidArray.create(config(RaidLevel.RAID1), members);
        UUID set = array.setUuid();
        array.stop();
        spoil(members, 1, Bad.FOREIGN, RaidLevel.RAID1);
        assertThatThrownBy(() -> RaidArray.assemble(new ArrayList<BlockDevice>(members)))
                .isInstanceOfSatisfying(RaidException.class,
                        e -> assertThat(e.code()).isEqualTo(RaidError.FOREIGN_MEMBER))
                .hasMessageContaining("ambiguous");
        RaidArray named = RaidArray.assemble(new ArrayList<BlockDevice>(members),
                AssembleOptions.defaults().withSetUuid(set));
        assertThat(named.memberState(1)).isEqualTo(MemberState.FAILED);
        assertThat(named.memberFault(1)).startsWith("belongs to array ");
        named.close();
    }

    @Test
    void aRaid0WithABadMemberDoesNotStartAndSaysItHasNoRedundancy() {
        List<FaultInjectingDevice> members = members("z", 3);
        RaidArray.create(config(RaidLevel.RAID0), members).stop();
        spoil(members, 2, Bad.DAMAGED, RaidLevel.RAID0);
        byte[] before0 = block(members.get(0), SUPERBLOCK_BLOCK);
        assertThatThrownBy(() -> RaidArray.assemble(new ArrayList<BlockDevice>(members)))
                .isInstanceOfSatisfying(RaidException.class,
                        e -> assertThat(e.code()).isEqualTo(RaidError.NOT_ENOUGH_MEMBERS))
                .hasMessageContaining("RAID-0 has no redundancy")
                .hasMessageContaining("member 2: md superblock checksum mismatch");
        assertThat(block(members.get(0), SUPERBLOCK_BLOCK)).isEqualTo(before0);
    }

    @Test
    void failingARaid0MemberIsRefusedAndTheArrayKeepsWorking() {
        List<FaultInjectingDevice> members = members("f", 3);
        RaidArray array = RaidArray.create(config(RaidLevel.RAID0), members);
        ByteBuffer data = TestArrays.randomBuffer(new Random(9), 40);
        array.write(0, 40, data, 0);
        byte[] expected = read(array, 0, 40);
        assertThatThrownBy(() -> array.failMember(1))
                .isInstanceOfSatisfying(RaidException.class, e -> assertThat(e.code()).isEqualTo(RaidError.BAD_MEMBER))
                .hasMessageContaining("RAID-0 has no redundancy");
        assertThat(array.isDegraded()).isFalse();
        assertThat(read(array, 0, 40)).isEqualTo(expected);
        array.stop();
        RaidArray again = RaidArray.assemble(new ArrayList<BlockDevice>(members));
        assertThat(read(again, 0, 40)).isEqualTo(expected);
        again.close();
    }

    @Test
    void aRaid0MemberThatDiesFailsItsIoSayingSoAndRecordsNoFaultyRole() {
        List<FaultInjectingDevice> members = members("d", 3);
        RaidArray array = RaidArray.create(config(RaidLevel.RAID0), members);
        ByteBuffer data = TestArrays.randomBuffer(new Random(10), 40);
        array.write(0, 40, data, 0);
        byte[] expected = read(array, 0, 40);
        array.flush();
        members.get(1).failDevice();
        assertThatThrownBy(() -> read(array, 0, 40))
                .isInstanceOfSatisfying(RaidException.class, e -> assertThat(e.code()).isEqualTo(RaidError.ARRAY_FAILED))
                .hasMessageContaining("RAID-0 has no redundancy");
        assertThat(array.memberFault(1)).contains("DEVICE_FAILED");
        array.stop();
        members.get(1).repairDevice(); // the disk comes back (a loose cable): the array assembles whole
        RaidArray again = RaidArray.assemble(new ArrayList<BlockDevice>(members));
        assertThat(again.isDegraded()).isFalse();
        assertThat(read(again, 0, 40)).isEqualTo(expected);
        again.close();
    }
}
