package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.raid.internal.MdRaidArray;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spares (md's dev_roles 0xffff) of sets the real mdadm made with {@code --spare-devices=1}: a
 * spare is accepted at assembly whatever its events (super_1_validate checks events only of
 * devices with an active role), holds no role and is left untouched while the array is whole;
 * when a role is empty, at a degraded start or when a member fails while running, the array
 * rebuilds it onto the spare (md_check_recovery), which keeps its device number and UUID and
 * becomes that active device for mdadm.
 */
class SparesTest {

    private static final long MEMBER_BYTES = 32L << 20;
    private static final int BLOCK = 4096;

    @TempDir
    Path dir;

    private static Map<String, String> examine(Path member) throws Exception {
        String out = MdadmFixture.examine(member);
        Map<String, String> f = Mdadm.fields(out);
        assertThat(f.get("Checksum")).as(out).endsWith("correct");
        return f;
    }

    private static ByteBuffer writeSome(RaidArray array, long seed) {
        ByteBuffer data = TestArrays.randomBuffer(new Random(seed), 600);
        array.write(100, 600, data, 0);
        array.flush();
        return data;
    }

    private static void assertReads(RaidArray array, ByteBuffer data) {
        ByteBuffer back = ByteBuffer.allocateDirect(data.capacity());
        array.read(100, data.capacity() / BLOCK, back, 0);
        assertThat(back.mismatch(data)).as("data written reads back").isEqualTo(-1);
    }

    private static long[] sizes(int count) {
        long[] s = new long[count];
        Arrays.fill(s, MEMBER_BYTES);
        return s;
    }

    @Test
    void aSpareOfAWholeArrayIsAcceptedShownAndLeftUntouched() throws Exception {
        List<Path> paths = MdadmFixture.create(dir, "s", sizes(3), "--level=1", "--bitmap=internal",
                "--assume-clean", "--spare-devices=1");
        Path spare = paths.get(2);
        assertThat(examine(spare).get("Device Role")).isEqualTo("spare");
        String report = RaidArray.examine(MdadmMembersTest.open(paths));
        assertThat(report).contains("role           spare").contains("1 spare: s-2.img")
                .contains("set: assembles as raid1 of 2 members");
        byte[] spareBefore = Files.readAllBytes(spare);
        ByteBuffer data;
        try (RaidArray array = RaidArray.assemble(MdadmMembersTest.open(paths))) {
            assertThat(array.isDegraded()).isFalse();
            assertThat(((MdRaidArray) array).spareDevices()).extracting(BlockDevice::name).containsExactly("s-2.img");
            data = writeSome(array, 1);
        }
        assertThat(Arrays.equals(Files.readAllBytes(spare), spareBefore)).as("the spare is left untouched").isTrue();
        for (Path m : paths.subList(0, 2)) {
            Map<String, String> f = examine(m);
            assertThat(f.get("State")).isEqualTo("clean");
            assertThat(f.get("Array State")).startsWith("AA ");
        }
        // its events now lag the members': still a spare of the set
        try (RaidArray again = RaidArray.assemble(MdadmMembersTest.open(paths))) {
            assertThat(((MdRaidArray) again).spareDevices()).hasSize(1);
            assertReads(again, data);
        }
    }

    @Test
    void aDegradedStartRebuildsTheEmptyRoleOntoTheSpare() throws Exception {
        List<Path> paths = MdadmFixture.create(dir, "d", sizes(4), "--level=5", "--chunk=64", "--bitmap=internal",
                "--assume-clean", "--spare-devices=1");
        ByteBuffer data;
        try (RaidArray array = RaidArray.assemble(MdadmMembersTest.open(paths))) {
            data = writeSome(array, 2);
        }
        String spareUuid = examine(paths.get(3)).get("Device UUID");
        List<Path> withoutMember1 = List.of(paths.get(0), paths.get(2), paths.get(3));
        try (RaidArray array = RaidArray.assemble(MdadmMembersTest.open(withoutMember1))) {
            array.backgroundWork().get(60, TimeUnit.SECONDS);
            assertThat(array.isDegraded()).as("role 1 rebuilt onto the spare").isFalse();
            assertThat(array.member(1).name()).isEqualTo("d-3.img");
            assertThat(((MdRaidArray) array).spareDevices()).isEmpty();
            assertReads(array, data);
            assertThat(array.scrub(false).mismatchedStripes()).isZero();
        }
        Map<String, String> f = examine(paths.get(3));
        assertThat(f.get("Device Role")).isEqualTo("Active device 1");
        assertThat(f.get("Device UUID")).as("the spare keeps its device UUID").isEqualTo(spareUuid);
        assertThat(f.get("State")).isEqualTo("clean");
        assertThat(f.get("Array State")).startsWith("AAA ");
        long dataOffsetBytes = Long.parseLong(f.get("Data Offset").split(" ")[0]) * 512;
        assertParityConsistent(List.of(paths.get(0), paths.get(3), paths.get(2)), dataOffsetBytes, 4L << 20);
        Map<String, String> b = Mdadm.fields(MdadmFixture.examineBitmap(paths.get(3)));
        assertThat(b.get("Bitmap")).contains(" 0 dirty");
        try (RaidArray again = RaidArray.assemble(MdadmMembersTest.open(paths))) {
            // the old member 1 comes back: the others list its device number faulty, it stays out
            assertThat(again.isDegraded()).isFalse();
            assertThat(again.member(1).name()).isEqualTo("d-3.img");
            assertReads(again, data);
        }
    }

    @Test
    void aMemberFailingWhileRunningIsReplacedByTheSpare() throws Exception {
        List<Path> paths = MdadmFixture.create(dir, "f", sizes(3), "--level=1", "--bitmap=internal",
                "--assume-clean", "--spare-devices=1");
        try (RaidArray array = RaidArray.assemble(MdadmMembersTest.open(paths))) {
            ByteBuffer data = writeSome(array, 3);
            array.failMember(0);
            ((MdRaidArray) array).spareWork().get(60, TimeUnit.SECONDS);
            assertThat(array.isDegraded()).as("role 0 rebuilt onto the spare").isFalse();
            assertThat(array.member(0).name()).isEqualTo("f-2.img");
            assertReads(array, data);
            assertThat(array.scrub(false).mismatchedStripes()).isZero();
        }
        assertThat(examine(paths.get(2)).get("Device Role")).isEqualTo("Active device 0");
        assertThat(examine(paths.get(1)).get("Array State")).startsWith("AA ");
    }

    /** XOR of the members' data areas is zero: RAID-5 parity consistent after the rebuild onto the spare. */
    static void assertParityConsistent(List<Path> members, long dataOffsetBytes, long bytes) throws Exception {
        List<FileChannel> channels = new ArrayList<>();
        try {
            for (Path p : members) {
                channels.add(FileChannel.open(p, StandardOpenOption.READ));
            }
            ByteBuffer acc = ByteBuffer.allocate((int) bytes);
            ByteBuffer one = ByteBuffer.allocate((int) bytes);
            for (FileChannel c : channels) {
                one.clear();
                c.read(one, dataOffsetBytes);
                for (int i = 0; i < bytes; i++) {
                    acc.array()[i] ^= one.array()[i];
                }
            }
            assertThat(Arrays.mismatch(acc.array(), new byte[(int) bytes])).isEqualTo(-1);
        } finally {
            for (FileChannel c : channels) {
                c.close();
            }
        }
    }
}
