package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.raid.internal.MdSuperblock;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * RAID-0 of members of different sizes that the real mdadm made (md's strip zones), with layout 1
 * (original) and 2 (alternate): scemu assembles them, the data it writes lands where md's
 * {@code find_zone} + {@code map_sector} put it (checked by {@link #locate}, a reader written
 * here from the kernel's rules in sectors, reading the member files directly), mdadm still reads
 * every member as clean with its own size. A multi-zone set whose layout md could not tell is
 * refused by name.
 */
class Raid0ZonesTest {

    private static final int BLOCK = 4096;
    private static final int CHUNK_SECTORS = 128; // --chunk=64 (KiB)
    /** 3 members: zone 0 over all three, zone 1 over roles 1 and 2, zone 2 over role 2 only. */
    private static final long[] SIZES = {(8L << 20) + (64 << 10), 12L << 20, 20L << 20};

    @TempDir
    Path dir;

    private static MdSuperblock superblock(Path member) throws Exception {
        try (FileChannel c = FileChannel.open(member, StandardOpenOption.READ)) {
            ByteBuffer raw = ByteBuffer.allocate(4096);
            c.read(raw, 4096);
            return MdSuperblock.decode(raw.array(), member.getFileName().toString());
        }
    }

    /**
     * md's raid0 mapping, from drivers/md/raid0.c in sectors: {@code devSectors[role]} is each
     * member's data_size rounded down to the chunk (create_strip_zones); zones by ascending
     * distinct size, each over the members (in role order) larger than the previous zone's top,
     * from that top (dev_start). find_zone gives the sector in the zone; map_sector picks the
     * member from the chunk number of the array sector (layout 1) or of the zone sector (layout
     * 2), and the member sector from the zone sector. Returns {role, member data sector}.
     */
    static long[] locate(long arraySector, long[] devSectors, int layout) {
        TreeSet<Long> tops = new TreeSet<>();
        for (long s : devSectors) {
            tops.add(s);
        }
        long zoneStart = 0;
        long devStart = 0;
        for (long top : tops) {
            List<Integer> devs = new ArrayList<>();
            for (int r = 0; r < devSectors.length; r++) {
                if (devSectors[r] > devStart) {
                    devs.add(r);
                }
            }
            long zoneEnd = zoneStart + (top - devStart) * devs.size();
            if (arraySector < zoneEnd) {
                long sectorInZone = arraySector - zoneStart;
                long inChunk = arraySector % CHUNK_SECTORS;
                long chunkForDevice = (layout == 1 ? arraySector : sectorInZone) / CHUNK_SECTORS;
                int role = devs.get((int) (chunkForDevice % devs.size()));
                long chunkOnDevice = sectorInZone / ((long) CHUNK_SECTORS * devs.size());
                return new long[] {role, devStart + chunkOnDevice * CHUNK_SECTORS + inChunk};
            }
            zoneStart = zoneEnd;
            devStart = top;
        }
        throw new IllegalArgumentException("sector " + arraySector + " past the array");
    }

    @ParameterizedTest
    @ValueSource(strings = {"original", "alternate"})
    void mdadmMadeMultiZoneRaid0PlacesDataWhereMdDoes(String layoutName) throws Exception {
        int layout = layoutName.equals("original") ? 1 : 2;
        List<Path> members = MdadmFixture.create(dir, "z", SIZES, "--level=0", "--chunk=64", "--layout=" + layoutName);
        long[] devSectors = new long[SIZES.length];
        long[] dataSizes = new long[SIZES.length];
        long dataOffset = -1;
        for (int r = 0; r < SIZES.length; r++) {
            MdSuperblock sb = superblock(members.get(r));
            assertThat(sb.layout).as("mdadm's layout").isEqualTo(layout);
            assertThat(sb.featureMap & 0x1000).as("feature bit RAID0_LAYOUT").isEqualTo(0x1000);
            dataSizes[r] = sb.dataSizeSectors;
            devSectors[r] = sb.dataSizeSectors / CHUNK_SECTORS * CHUNK_SECTORS;
            dataOffset = sb.dataOffsetSectors;
        }
        long arraySectors = Arrays.stream(devSectors).sum();
        // the set is chosen so that the two layouts place zone 1 differently (zone 0 ends at an odd chunk)
        int differing = 0;
        for (long s = devSectors[0] * 3; s < devSectors[0] * 3 + 8L * CHUNK_SECTORS; s += CHUNK_SECTORS) {
            differing += locate(s, devSectors, 1)[0] != locate(s, devSectors, 2)[0] ? 1 : 0;
        }
        assertThat(differing).as("chunks of zone 1 the two layouts put on different members").isEqualTo(8);
        Map<String, String> before = Mdadm.fields(MdadmFixture.examine(members.get(2)));

        byte[] image = new byte[(int) (arraySectors * 512)];
        new Random(layout).nextBytes(image);
        try (RaidArray array = RaidArray.assemble(MdadmMembersTest.open(members))) {
            assertThat(array.blockCount() * BLOCK).as("array size: the sum of the members (md's raid0_size)")
                    .isEqualTo(arraySectors * 512);
            int piece = 1 << 20;
            for (long off = 0; off < image.length; off += piece) {
                int n = (int) Math.min(piece, image.length - off);
                array.write(off / BLOCK, n / BLOCK, ByteBuffer.wrap(image, (int) off, n).slice(), 0);
            }
            array.flush();
        }
        List<FileChannel> files = new ArrayList<>();
        try {
            for (Path m : members) {
                files.add(FileChannel.open(m, StandardOpenOption.READ));
            }
            ByteBuffer chunk = ByteBuffer.allocate(CHUNK_SECTORS * 512);
            for (long s = 0; s < arraySectors; s += CHUNK_SECTORS) {
                long[] at = locate(s, devSectors, layout);
                chunk.clear();
                files.get((int) at[0]).read(chunk, (dataOffset + at[1]) * 512);
                int mismatch = Arrays.mismatch(chunk.array(), 0, chunk.capacity(), image, (int) (s * 512),
                        (int) (s * 512) + chunk.capacity());
                assertThat(mismatch).as("array chunk at sector %d: md puts it on role %d at data sector %d", s, at[0],
                        at[1]).isEqualTo(-1);
            }
        } finally {
            for (FileChannel f : files) {
                f.close();
            }
        }
        for (int r = 0; r < members.size(); r++) {
            Map<String, String> f = Mdadm.fields(MdadmFixture.examine(members.get(r)));
            assertThat(f.get("State")).as("member %d after a clean stop", r).isEqualTo("clean");
            assertThat(f.get("Checksum")).endsWith("correct");
            assertThat(f.get("Layout")).isEqualTo(layoutName);
            assertThat(superblock(members.get(r)).dataSizeSectors).as("member %d keeps its own data_size", r)
                    .isEqualTo(dataSizes[r]);
        }
        assertThat(Mdadm.fields(MdadmFixture.examine(members.get(2))).get("Avail Dev Size"))
                .isEqualTo(before.get("Avail Dev Size"));
        try (RaidArray again = RaidArray.assemble(MdadmMembersTest.open(members))) {
            // across the zone boundaries, read back through the array
            for (long s : new long[] {devSectors[0] * 3 - 8, devSectors[0] * 3 + (devSectors[1] - devSectors[0]) * 2 - 8}) {
                ByteBuffer back = ByteBuffer.allocate(16 * 512);
                again.read(s / 8, 2, back, 0);
                assertThat(Arrays.mismatch(back.array(), 0, 2 * BLOCK, image, (int) (s * 512), (int) (s * 512) + 2 * BLOCK))
                        .as("array sectors %d.. across a zone boundary", s).isEqualTo(-1);
            }
            assertThat(RaidArray.examine(MdadmMembersTest.open(members))).contains("zones");
        }
    }

    /**
     * The allocation map follows the zones: on sparse members, blocks written in zones 1 and 2 (and
     * a trim of whole chunks across the boundary of zones 0 and 1, passed down as member trims)
     * are the only data of the array.
     */
    @Test
    void allocationMapOfAMultiZoneRaid0FollowsTheZones() throws Exception {
        List<Path> members = MdadmFixture.create(dir, "a", SIZES, "--level=0", "--chunk=64", "--layout=alternate");
        long zone1Block = superblock(members.get(0)).dataSizeSectors / CHUNK_SECTORS * CHUNK_SECTORS * 3 / 8;
        try (RaidArray array = RaidArray.assemble(MdadmMembersTest.open(members))) {
            long last = array.blockCount() - 5;
            long chunkBlocks = CHUNK_SECTORS / 8;
            ByteBuffer data = TestArrays.randomBuffer(new Random(1), (int) (4 * chunkBlocks));
            array.write(zone1Block - 2 * chunkBlocks, (int) (4 * chunkBlocks), data, 0); // zones 0 and 1
            long inZone1 = zone1Block + 4 * chunkBlocks + 5;
            array.write(inZone1, 1, data, 0);
            array.write(last, 1, data, 0); // zone 2
            array.trim(zone1Block - 2 * chunkBlocks, 4 * chunkBlocks);
            array.flush();
            List<long[]> dataExtents = new ArrayList<>();
            array.mapAllocation(0, array.blockCount(), (lba, count, allocation) -> {
                if (!allocation.readsAsZeros()) {
                    dataExtents.add(new long[] {lba, count});
                }
                return true;
            });
            assertThat(dataExtents).as("data extents (lba, blocks)")
                    .containsExactly(new long[] {inZone1, 1}, new long[] {last, 1});
            ByteBuffer back = ByteBuffer.allocateDirect((int) (4 * chunkBlocks) * BLOCK);
            array.read(zone1Block - 2 * chunkBlocks, (int) (4 * chunkBlocks), back, 0);
            assertThat(back.mismatch(ByteBuffer.allocateDirect(back.capacity()))).as("trimmed: zeros").isEqualTo(-1);
        }
    }

    /**
     * A ranged flush (a partition's) in each zone flushes without failing a member: zone 2 lies
     * beyond the smaller members' ends, so it may not be passed to them as a member range.
     */
    @Test
    void rangedFlushesOfEveryZoneFailNoMember() throws Exception {
        List<Path> members = MdadmFixture.create(dir, "f", SIZES, "--level=0", "--chunk=64", "--layout=alternate");
        try (RaidArray array = RaidArray.assemble(MdadmMembersTest.open(members))) {
            ByteBuffer data = TestArrays.randomBuffer(new Random(2), 1);
            long[] lbas = {0, array.blockCount() / 2, array.blockCount() - 1};
            for (long lba : lbas) {
                array.write(lba, 1, data, 0);
                array.flushRange(lba, 1);
                array.flushRange(Math.max(0, lba - 40), Math.min(80, array.blockCount() - Math.max(0, lba - 40)));
            }
            for (int role = 0; role < 3; role++) {
                assertThat(array.memberState(role)).as("member %d", role).isEqualTo(MemberState.ACTIVE);
            }
        }
    }

    /** Without feature bit RAID0_LAYOUT md cannot tell the layout of zone 1 and refuses; so does scemu, by name. */
    @Test
    void multiZoneRaid0WithoutAValidLayoutIsRefusedByName() throws Exception {
        List<Path> members = MdadmFixture.create(dir, "n", SIZES, "--level=0", "--chunk=64", "--layout=original");
        for (Path m : members) {
            try (FileChannel c = FileChannel.open(m, StandardOpenOption.WRITE, StandardOpenOption.READ)) {
                MdadmMembersTest.patchSuperblock(c, sb -> sb.featureMap &= ~0x1000);
            }
        }
        byte[] before = java.nio.file.Files.readAllBytes(members.get(0));
        assertThatThrownBy(() -> RaidArray.assemble(MdadmMembersTest.open(members)))
                .isInstanceOf(RaidException.class)
                .satisfies(e -> assertThat(((RaidException) e).code()).isEqualTo(RaidError.UNSUPPORTED_FEATURE))
                .hasMessageContaining("3 zones")
                .hasMessageContaining("feature bit 0x1000 (raid0 layout) not set")
                .hasMessageContaining("RAID0_ORIG_LAYOUT (1) or RAID0_ALT_MULTIZONE_LAYOUT (2)");
        assertThat(java.nio.file.Files.readAllBytes(members.get(0))).as("nothing written").isEqualTo(before);
    }
}
