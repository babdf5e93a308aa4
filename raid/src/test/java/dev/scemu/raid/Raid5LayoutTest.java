package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Each array chunk lands where md's raid5_compute_sector puts it, and each stripe's parity chunk
 * is on md's parity member and equals the XOR of the stripe's data. Expected tables are md's own
 * diagrams for 4 members; the formula check covers 5 members.
 */
class Raid5LayoutTest {

    private static final int CHUNK = 4096;
    private static final int BLOCK = 4096;

    /** Per layout, per stripe 0..3 of 4 members: the data chunk number on each member, -1 = parity. */
    private static int[][] expected4(Raid5Layout layout) {
        return switch (layout) {
            case LEFT_ASYMMETRIC -> new int[][] {{0, 1, 2, -1}, {3, 4, -1, 5}, {6, -1, 7, 8}, {-1, 9, 10, 11}};
            case RIGHT_ASYMMETRIC -> new int[][] {{-1, 0, 1, 2}, {3, -1, 4, 5}, {6, 7, -1, 8}, {9, 10, 11, -1}};
            case LEFT_SYMMETRIC -> new int[][] {{0, 1, 2, -1}, {4, 5, -1, 3}, {8, -1, 6, 7}, {-1, 9, 10, 11}};
            case RIGHT_SYMMETRIC -> new int[][] {{-1, 0, 1, 2}, {5, -1, 3, 4}, {7, 8, -1, 6}, {9, 10, 11, -1}};
        };
    }

    /** md's raid5_compute_sector, transcribed independently of the engine: {member, parity}. */
    private static int[] mdCompute(Raid5Layout layout, int raidDisks, long chunkNumber) {
        int dataDisks = raidDisks - 1;
        long stripe = chunkNumber / dataDisks;
        int dd = (int) (chunkNumber % dataDisks);
        int pd;
        switch (layout.mdNumber()) {
            case 0 -> {
                pd = dataDisks - (int) (stripe % raidDisks);
                if (dd >= pd) {
                    dd++;
                }
            }
            case 1 -> {
                pd = (int) (stripe % raidDisks);
                if (dd >= pd) {
                    dd++;
                }
            }
            case 2 -> {
                pd = dataDisks - (int) (stripe % raidDisks);
                dd = (pd + 1 + dd) % raidDisks;
            }
            default -> {
                pd = (int) (stripe % raidDisks);
                dd = (pd + 1 + dd) % raidDisks;
            }
        }
        return new int[] {dd, pd};
    }

    private static RaidArray filled(Raid5Layout layout, int disks, List<BlockDevice> members, int chunks) {
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK).raid5Layout(layout)
                .assumeClean(true).bitmap(false).build(), members);
        ByteBuffer data = ByteBuffer.allocateDirect(chunks * CHUNK);
        for (int c = 0; c < chunks; c++) {
            for (int i = 0; i < CHUNK; i += 4) {
                data.putInt(c * CHUNK + i, 0x1000_0000 + c * 7919 + i);
            }
        }
        array.write(0, chunks, data, 0);
        return array;
    }

    private static int chunkIdOnMember(BlockDevice member, long dataOffsetBlocks, long stripe) {
        ByteBuffer b = ByteBuffer.allocateDirect(BLOCK);
        member.read(dataOffsetBlocks + stripe, 1, b, 0);
        int first = b.getInt(0);
        int id = (first - 0x1000_0000) / 7919;
        return first - 0x1000_0000 == id * 7919 && id >= 0 ? id : -1;
    }

    @ParameterizedTest
    @EnumSource(Raid5Layout.class)
    void chunksAndParityOfFourMembersMatchMdsTable(Raid5Layout layout) {
        List<BlockDevice> members = MdadmExamineTest.members(4, 2L << 20);
        RaidArray array = filled(layout, 4, members, 12);
        long dataOffsetBlocks = array.dataOffsetSectors() / 8;
        int[][] table = expected4(layout);
        for (int stripe = 0; stripe < 4; stripe++) {
            ByteBuffer xor = ByteBuffer.allocate(BLOCK);
            for (int m = 0; m < 4; m++) {
                ByteBuffer b = ByteBuffer.allocateDirect(BLOCK);
                members.get(m).read(dataOffsetBlocks + stripe, 1, b, 0);
                for (int i = 0; i < BLOCK; i++) {
                    xor.put(i, (byte) (xor.get(i) ^ b.get(i)));
                }
                if (table[stripe][m] >= 0) {
                    assertThat(chunkIdOnMember(members.get(m), dataOffsetBlocks, stripe))
                            .as("%s stripe %d member %d", layout, stripe, m).isEqualTo(table[stripe][m]);
                }
            }
            assertThat(xor.array()).as("%s stripe %d: data XOR parity", layout, stripe).containsOnly(0);
        }
        array.close();
    }

    @ParameterizedTest
    @EnumSource(Raid5Layout.class)
    void everyChunkOfFiveMembersIsWhereMdsFormulaPutsIt(Raid5Layout layout) {
        List<BlockDevice> members = MdadmExamineTest.members(5, 2L << 20);
        int chunks = 4 * 10;
        RaidArray array = filled(layout, 5, members, chunks);
        long dataOffsetBlocks = array.dataOffsetSectors() / 8;
        for (int c = 0; c < chunks; c++) {
            int[] md = mdCompute(layout, 5, c);
            long stripe = c / 4;
            assertThat(chunkIdOnMember(members.get(md[0]), dataOffsetBlocks, stripe))
                    .as("%s chunk %d on member %d", layout, c, md[0]).isEqualTo(c);
            assertThat(chunkIdOnMember(members.get(md[1]), dataOffsetBlocks, stripe))
                    .as("%s stripe %d parity on member %d", layout, stripe, md[1]).isEqualTo(-1);
        }
        array.close();
    }
}
