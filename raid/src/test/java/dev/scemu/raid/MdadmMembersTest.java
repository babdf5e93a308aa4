package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.Extent;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.Media;
import dev.scemu.core.MediaKind;
import dev.scemu.raid.internal.MdSuperblock;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Members whose md metadata the real mdadm 4.x wrote ({@link MdadmFixture}): scemu assembles them,
 * writes through the array, stops, and mdadm --examine / --examine-bitmap still accept every
 * member and agree with what scemu did; degraded sets, the bad-block log, refusals by name.
 */
class MdadmMembersTest {

    private static final long MEMBER_BYTES = 32L << 20;
    private static final int BLOCK = 4096;

    @TempDir
    Path dir;

    static List<BlockDevice> open(List<Path> paths) {
        List<BlockDevice> devices = new ArrayList<>();
        for (Path p : paths) {
            devices.add(Media.openExisting(MediaKind.FILE, p, BLOCK));
        }
        return devices;
    }

    /** Writes random data at a few array offsets (whole chunks and odd pieces); returns it for comparison. */
    private static Map<Long, ByteBuffer> writeSome(RaidArray array, long seed) {
        Random random = new Random(seed);
        Map<Long, ByteBuffer> written = new java.util.LinkedHashMap<>();
        long blocks = array.blockCount();
        for (long lba : new long[] {0, 1000, blocks / 3, blocks / 2 + 5, blocks - 300}) {
            int n = lba == 1000 ? 3 : 300;
            ByteBuffer data = TestArrays.randomBuffer(random, n);
            array.write(lba, n, data, 0);
            written.put(lba, data);
        }
        array.flush();
        return written;
    }

    private static void assertReads(RaidArray array, Map<Long, ByteBuffer> written) {
        written.forEach((lba, data) -> {
            int n = data.capacity() / BLOCK;
            ByteBuffer back = ByteBuffer.allocateDirect(n * BLOCK);
            array.read(lba, n, back, 0);
            assertThat(back.mismatch(data)).as("array lba %d +%d reads what was written", lba, n).isEqualTo(-1);
        });
    }

    /** XOR of the data areas of every member: zero where RAID-5 parity is consistent (any layout). */
    private static void assertParityConsistent(List<Path> members, long dataOffsetBytes, long usedBytes)
            throws IOException {
        int piece = 1 << 20;
        List<FileChannel> channels = new ArrayList<>();
        try {
            for (Path p : members) {
                channels.add(FileChannel.open(p, StandardOpenOption.READ));
            }
            ByteBuffer acc = ByteBuffer.allocate(piece);
            ByteBuffer one = ByteBuffer.allocate(piece);
            for (long off = 0; off < usedBytes; off += piece) {
                Arrays.fill(acc.array(), (byte) 0);
                for (FileChannel c : channels) {
                    one.clear();
                    c.read(one, dataOffsetBytes + off);
                    for (int i = 0; i < piece; i++) {
                        acc.array()[i] ^= one.array()[i];
                    }
                }
                int mismatch = Arrays.mismatch(acc.array(), new byte[piece]);
                assertThat(mismatch < 0 ? -1 : dataOffsetBytes + off + mismatch)
                        .as("first member byte where parity is inconsistent (-1 = none)").isEqualTo(-1L);
            }
        } finally {
            for (FileChannel c : channels) {
                c.close();
            }
        }
    }

    private static Map<String, String> examine(Path member) throws Exception {
        String out = MdadmFixture.examine(member);
        Map<String, String> f = Mdadm.fields(out);
        assertThat(f.get("Magic")).as(out).isEqualTo("a92b4efc");
        assertThat(f.get("Checksum")).as(out).endsWith("correct");
        return f;
    }

    /**
     * The sweep: mdadm creates the set (level, chunk, layout, bitmap; every set has mdadm's
     * bad-block log), scemu assembles it, writes, stops; mdadm --examine and --examine-bitmap of
     * every member then show a clean array, events advanced, the bitmap's events equal to the
     * superblock's and no dirty bit; RAID-5 parity is consistent and scemu reads its data back.
     */
    @ParameterizedTest
    @ValueSource(strings = {
        "--level=0 --chunk=64",
        "--level=0 --chunk=512",
        "--level=1 --bitmap=internal",
        "--level=1 --bitmap=none --assume-clean",
        "--level=5 --layout=left-symmetric --chunk=512 --bitmap=internal --assume-clean",
        "--level=5 --layout=left-asymmetric --chunk=64 --bitmap=internal --bitmap-chunk=1M --assume-clean",
        "--level=5 --layout=right-symmetric --chunk=128 --bitmap=none --assume-clean",
        "--level=5 --layout=right-asymmetric --chunk=64 --bitmap=internal --force",
    })
    void mdadmMadeSetsAssembleTakeWritesAndStayValidForMdadm(String options) throws Exception {
        int count = options.contains("level=1") ? 2 : 3;
        List<Path> members = MdadmFixture.create(dir, "s", count, MEMBER_BYTES, options.split(" "));
        Map<String, String> before = examine(members.get(0));
        long eventsBefore = Long.parseLong(before.get("Events"));
        assertThat(before.get("Bad Block Log")).as("mdadm made a bad-block log").contains("512 entries available");
        Map<Long, ByteBuffer> written;
        long dataOffsetSectors;
        long usedBytes;
        try (RaidArray array = RaidArray.assemble(open(members))) {
            assertThat(array.isDegraded()).isFalse();
            written = writeSome(array, options.hashCode());
            assertReads(array, written);
            dataOffsetSectors = array.dataOffsetSectors();
            usedBytes = array.memberDataBytes();
        }
        for (Path m : members) {
            Map<String, String> f = examine(m);
            assertThat(f.get("State")).as(m + " after a clean stop").isEqualTo("clean");
            assertThat(Long.parseLong(f.get("Events"))).as("events advance").isGreaterThan(eventsBefore);
            assertThat(f.get("Array State")).startsWith("A".repeat(count) + " ");
            assertThat(f.get("Bad Block Log")).as("md's bad-block log kept").isEqualTo(before.get("Bad Block Log"));
            assertThat(f.get("Data Offset")).isEqualTo(before.get("Data Offset"));
            if (options.contains("--bitmap=internal")) {
                String bitmap = MdadmFixture.examineBitmap(m);
                Map<String, String> b = Mdadm.fields(bitmap);
                assertThat(b.get("Events")).as(bitmap).isEqualTo(f.get("Events"));
                assertThat(b.get("Bitmap")).as(bitmap).contains(" 0 dirty");
                assertThat(b.get("UUID")).isEqualTo(f.get("Array UUID"));
            }
        }
        if (options.contains("level=5")) {
            assertParityConsistent(members, dataOffsetSectors * 512, usedBytes);
        }
        try (RaidArray again = RaidArray.assemble(open(members))) {
            assertReads(again, written);
        }
    }

    @Test
    void degradedMdadmSetStartsReadsAndWritesAndMdadmSeesTheMissingMember() throws Exception {
        List<Path> members = MdadmFixture.create(dir, "d", 3, MEMBER_BYTES, "--level=5", "--chunk=64",
                "--bitmap=internal", "--assume-clean");
        Map<Long, ByteBuffer> written;
        try (RaidArray array = RaidArray.assemble(open(members))) {
            written = writeSome(array, 5);
        }
        List<Path> two = members.subList(0, 2);
        assertThatThrownBy(() -> RaidArray.assemble(open(two), AssembleOptions.defaults().withDegradedStart(false)))
                .isInstanceOf(RaidException.class).hasMessageContaining("degraded start is off")
                .hasMessageContaining("member 2: missing");
        try (RaidArray array = RaidArray.assemble(open(two))) {
            assertThat(array.isDegraded()).isTrue();
            assertThat(array.memberState(2)).isEqualTo(MemberState.FAILED);
            assertReads(array, written);
            Map<Long, ByteBuffer> more = writeSome(array, 6);
            assertReads(array, more);
        }
        for (Path m : two) {
            Map<String, String> f = examine(m);
            assertThat(f.get("Array State")).as("mdadm sees role 2 gone").startsWith("AA. ");
            assertThat(f.get("State")).isEqualTo("clean");
        }
        assertThat(examine(members.get(2)).get("Array State")).startsWith("AAA ");
    }

    @Test
    void twoDiskRaid5FromMdadmWorksLikeAMirror() throws Exception {
        List<Path> members = MdadmFixture.create(dir, "t", 2, MEMBER_BYTES, "--level=5", "--chunk=64",
                "--assume-clean");
        try (RaidArray array = RaidArray.assemble(open(members))) {
            assertThat(array.level()).isEqualTo(RaidLevel.RAID5);
            assertThat(array.raidDisks()).isEqualTo(2);
            assertReads(array, writeSome(array, 7));
        }
        assertThat(examine(members.get(1)).get("Raid Devices")).isEqualTo("2");
        long dataOffset = dataOffsetBytes(members.get(0));
        assertParityConsistent(members, dataOffset, MEMBER_BYTES - dataOffset); // parity = the data: a mirror
    }

    private static long dataOffsetBytes(Path member) throws Exception {
        return Long.parseLong(examine(member).get("Data Offset").split(" ")[0]) * 512;
    }

    /** A bad block md listed is never read as data: it is reconstructed from the other members. */
    @Test
    void listedBadBlockIsReconstructedFromRedundancyNotRead() throws Exception {
        List<Path> members = MdadmFixture.create(dir, "b", 3, MEMBER_BYTES, "--level=5", "--chunk=64",
                "--bitmap=internal", "--assume-clean");
        Map<Long, ByteBuffer> written;
        long dataOffsetBytes;
        try (RaidArray array = RaidArray.assemble(open(members))) {
            written = writeSome(array, 8);
            dataOffsetBytes = array.dataOffsetSectors() * 512;
        }
        // member 0 holds array lba 0 (left-symmetric, stripe 0): garble it and list it in md's bad-block log
        long badSector = dataOffsetBytes / 512;
        try (FileChannel c = FileChannel.open(members.get(0), StandardOpenOption.WRITE, StandardOpenOption.READ)) {
            c.write(ByteBuffer.wrap(new byte[BLOCK]), dataOffsetBytes);
            addBadBlockEntry(c, badSector, 8);
        }
        assertThat(MdadmFixture.run(members.get(0), "--examine-badblocks")).contains(badSector + " for 8 sectors");
        try (RaidArray array = RaidArray.assemble(open(members))) {
            assertReads(array, written);
        }
        assertThat(MdadmFixture.run(members.get(0), "--examine-badblocks")).as("log kept")
                .contains(badSector + " for 8 sectors");
    }

    /** A failed member write is recorded in its bad-block log (md's narrow_write_error); the member stays in. */
    @Test
    void failedMemberWriteIsRecordedInTheBadBlockLogAndTheMemberStaysActive() throws Exception {
        List<Path> members = MdadmFixture.create(dir, "w", 2, MEMBER_BYTES, "--level=1", "--bitmap=internal",
                "--assume-clean");
        List<BlockDevice> devices = open(members);
        FaultInjectingDevice faulty = new FaultInjectingDevice(devices.get(1), 1);
        devices.set(1, faulty);
        Map<Long, ByteBuffer> written;
        long badLba;
        try (RaidArray array = RaidArray.assemble(devices)) {
            badLba = array.dataOffsetSectors() / 8 + 10;
            faulty.failWrites(new Extent(badLba, 1));
            ByteBuffer data = TestArrays.randomBuffer(new Random(9), 16);
            array.write(8, 16, data, 0);
            array.flush();
            assertThat(array.memberState(1)).isEqualTo(MemberState.ACTIVE);
            written = Map.of(8L, data);
            assertReads(array, written);
        }
        String badblocks = MdadmFixture.run(members.get(1), "--examine-badblocks");
        assertThat(badblocks).contains(badLba * 8 + " for 8 sectors");
        Map<String, String> f = examine(members.get(1));
        assertThat(f.get("Feature Map")).isEqualTo("0x9");
        try (RaidArray array = RaidArray.assemble(open(members))) {
            assertReads(array, written);
        }
    }

    @Test
    void readOnlyAssemblyWritesNothingAndRefusesWrites() throws Exception {
        List<Path> members = MdadmFixture.create(dir, "r", 3, MEMBER_BYTES, "--level=5", "--chunk=64",
                "--bitmap=internal", "--force");
        List<byte[]> before = new ArrayList<>();
        for (Path m : members) {
            before.add(Files.readAllBytes(m));
        }
        try (RaidArray array = RaidArray.assemble(open(members), AssembleOptions.defaults().withReadOnly(true))) {
            assertThat(array.isReadOnly()).isTrue();
            ByteBuffer b = ByteBuffer.allocateDirect(BLOCK);
            array.read(0, 1, b, 0);
            assertThatThrownBy(() -> array.write(0, 1, b, 0)).hasMessageContaining("read-only");
        }
        for (int i = 0; i < members.size(); i++) {
            assertThat(Arrays.equals(Files.readAllBytes(members.get(i)), before.get(i)))
                    .as("member %d unchanged by a read-only assembly (resync pending, not run)", i).isTrue();
        }
    }

    @Test
    void unsupportedFeatureLevelAndMetadataAreRefusedByName() throws Exception {
        List<Path> members = MdadmFixture.create(dir, "u", 3, MEMBER_BYTES, "--level=5", "--chunk=64",
                "--assume-clean");
        try (FileChannel c = FileChannel.open(members.get(2), StandardOpenOption.WRITE, StandardOpenOption.READ)) {
            patchSuperblock(c, sb -> sb.featureMap |= 0x200);
        }
        assertThatThrownBy(() -> RaidArray.assemble(open(members)))
                .isInstanceOf(RaidException.class)
                .hasMessageContaining("member u-2.img has feature bit 0x200 (journal)")
                .satisfies(e -> assertThat(((RaidException) e).code()).isEqualTo(RaidError.UNSUPPORTED_FEATURE));

        List<Path> raid6 = MdadmFixture.create(dir, "six", 4, MEMBER_BYTES, "--level=6", "--chunk=64",
                "--assume-clean");
        assertThatThrownBy(() -> RaidArray.assemble(open(raid6))).hasMessageContaining("RAID-6");

        List<Path> v10 = MdadmFixture.create(dir, "ten", 2, MEMBER_BYTES, "--level=1", "--metadata=1.0",
                "--assume-clean");
        assertThatThrownBy(() -> RaidArray.assemble(open(v10))).hasMessageContaining("md metadata 1.0");
    }

    interface SuperblockEdit {
        void apply(MdSuperblock sb);
    }

    static void patchSuperblock(FileChannel c, SuperblockEdit edit) throws IOException {
        ByteBuffer raw = ByteBuffer.allocate(4096);
        c.read(raw, 4096);
        MdSuperblock sb = MdSuperblock.decode(raw.array(), "patch");
        byte[] original = raw.array();
        edit.apply(sb);
        byte[] encoded = sb.encode();
        // keep bytes the codec does not model (none expected past dev_roles), then write
        System.arraycopy(encoded, 0, original, 0, 256 + 2 * sb.devRoles.length);
        ByteBuffer out = ByteBuffer.wrap(sb.encode());
        c.write(out, 4096);
    }

    /** Adds one entry to the member's md bad-block log (sb + 16 sectors) and sets feature bit BAD_BLOCKS. */
    static void addBadBlockEntry(FileChannel c, long sector, int count) throws IOException {
        ByteBuffer raw = ByteBuffer.allocate(4096);
        c.read(raw, 4096);
        MdSuperblock sb = MdSuperblock.decode(raw.array(), "patch");
        long logBytes = 4096 + sb.bblogOffsetSectors * 512L;
        ByteBuffer log = ByteBuffer.allocate(sb.bblogSize * 512).order(ByteOrder.LITTLE_ENDIAN);
        Arrays.fill(log.array(), (byte) 0xff);
        log.putLong(0, (sector << 10) | count);
        c.write(log, logBytes);
        patchSuperblock(c, s -> s.featureMap |= 0x8);
    }
}
