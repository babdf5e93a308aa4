package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Divergences from md found in what scemu writes (issue 17, "Why" items 3 and 4), one test each;
 * both failed before the parity journal moved to the member tail and RAID-5 accepted two members.
 */
class MdRulesTest {

    private static final int BLOCK = TestArrays.BLOCK;
    /** Where mdadm puts the bad-block log of a 1.2 member with a bitmap: superblock + 16 sectors, 8 sectors. */
    private static final long MD_BBLOG_START = 4096 + 16 * 512;
    private static final long MD_BBLOG_END = MD_BBLOG_START + 8 * 512;

    @TempDir
    Path dir;

    /**
     * Divergence 3: the parity journal, used by every write while degraded, must not touch the
     * area md's bad-block log takes ({@code mdadm --update=bbl} would overwrite it), nor anything
     * between the bitmap and data_offset: it lives after data_offset + data_size, which mdadm
     * reports as unused space after the data.
     */
    @Test
    void parityJournalStaysOutOfMdsBadBlockLogArea() throws Exception {
        List<BlockDevice> members = TestArrays.memoryMembers("j", 3, 64L << 20);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(64 * 1024)
                .assumeClean(true).build(), members);
        array.failMember(2);
        Random random = new Random(3);
        for (int i = 0; i < 20; i++) {
            ByteBuffer data = TestArrays.randomBuffer(random, 4);
            array.write(i * 97L, 4, data, 0);
        }
        array.flush();
        assertThat(array.meter().snapshot().issuedWrite(dev.scemu.core.IoCause.JOURNAL).bytes()).as("the writes went through the journal").isPositive();
        long dataOffsetBytes = array.dataOffsetSectors() * 512;
        array.stop();
        for (int m = 0; m < 2; m++) {
            BlockDevice member = members.get(m);
            ByteBuffer area = ByteBuffer.allocateDirect((int) (dataOffsetBytes - MD_BBLOG_START));
            member.read(MD_BBLOG_START / BLOCK, (int) ((dataOffsetBytes - MD_BBLOG_START) / BLOCK), area, 0);
            int firstWritten = area.mismatch(ByteBuffer.allocateDirect(area.capacity()));
            assertThat(firstWritten < 0 ? -1 : MD_BBLOG_START + firstWritten)
                    .as("member %d: first byte written in [%d, data_offset %d) (md's bad-block log is [%d, %d))",
                            m, MD_BBLOG_START, dataOffsetBytes, MD_BBLOG_START, MD_BBLOG_END)
                    .isEqualTo(-1L);
        }
        Mdadm.assumeInstalled();
        String out = Mdadm.run("--examine", Mdadm.dump(members.get(0), dir.resolve("j0.img")).toString());
        Map<String, String> f = Mdadm.fields(out);
        assertThat(f.get("Unused Space")).as(out).matches("before=\\d+ sectors, after=[1-9]\\d* sectors");
    }

    /** Divergence 4: md runs a RAID-5 of two members (parity = the one data chunk, a mirror); so does scemu. */
    @Test
    void twoMemberRaid5IsAcceptedAndMdadmReadsIt() throws Exception {
        List<BlockDevice> members = TestArrays.memoryMembers("t", 2, 16L << 20);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(64 * 1024)
                .assumeClean(true).build(), members);
        ByteBuffer data = TestArrays.randomBuffer(new Random(4), 64);
        array.write(10, 64, data, 0);
        ByteBuffer back = ByteBuffer.allocateDirect(64 * BLOCK);
        array.read(10, 64, back, 0);
        assertThat(back.mismatch(data)).isEqualTo(-1);
        assertThat(array.scrub(false).mismatchedStripes()).isZero();
        array.failMember(0);
        back.clear();
        array.read(10, 64, back, 0);
        assertThat(back.mismatch(data)).as("reads from the parity member alone").isEqualTo(-1);
        array.stop();
        Mdadm.assumeInstalled();
        Map<String, String> f = Mdadm.fields(Mdadm.run("--examine",
                Mdadm.dump(members.get(1), dir.resolve("t1.img")).toString()));
        assertThat(f.get("Raid Level")).isEqualTo("raid5");
        assertThat(f.get("Raid Devices")).isEqualTo("2");
    }
}
