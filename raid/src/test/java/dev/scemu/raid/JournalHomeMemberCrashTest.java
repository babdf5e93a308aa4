package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.IoCause;
import dev.scemu.core.Media;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The parity journal's home member ({@code MirroredRegion}, home mode): while a RAID-5 is degraded
 * only the ACTIVE member of the lowest role holds the journal, and the other members' copies go
 * stale. Period 1: member 3 fails, journaled writes advance the log on member 0 alone. Member 3 is
 * replaced and rebuilt, which must copy the journal to every member that will be ACTIVE. Period 2:
 * member 0 fails, so member 1 is the new home and the log goes on there from where period 1 left
 * it. A cut lands on each member write of one journaled write T (member 2, column 0 of row 0),
 * keeping a seeded random subset of the unflushed blocks; after the new assembly (and its replay)
 * member 0's block of that column, which exists only as parity, must read as it was.
 *
 * <p>Without the copy at the rebuild's end (only the rebuilt member got the journal, as before the
 * home mode existed), member 1's copy lacks period 1's blocks: the scan after the cut stops at the
 * first of them, T's records are lost, and a cut between T's data and its parity leaves a parity
 * that rebuilds member 0's block wrong: this test fails that mutation.
 */
class JournalHomeMemberCrashTest {

    private static final int BLOCK = TestArrays.BLOCK;
    /** 2 blocks per chunk: row 0 is array blocks 0-5, members 0, 1, 2 hold data, 3 parity. */
    private static final int CHUNK = 2 * BLOCK;
    private static final int ROWS = 10;
    private static final long LOST_LBA = 0; // member 0, column 0 of row 0: only parity holds it in period 2
    private static final long T_LBA = 4; // member 2, column 0 of row 0
    /** Cut points tried in T: its log blocks on the home member, its data, its parity, and one beyond. */
    private static final int T_CUT_POINTS = 6;
    private static final int PERIOD_1_WRITES = 40;

    @Test
    void afterARebuildTheNextHomeMemberHoldsTheWholeJournal() throws Exception {
        int cutsInT = 0;
        for (long seed = 0; seed < 8; seed++) {
            for (int at = 0; at < T_CUT_POINTS; at++) {
                cutsInT += runCase(seed, at) ? 1 : 0;
            }
        }
        assertThat(cutsInT).as("cases whose cut landed in T").isGreaterThanOrEqualTo(8 * 4);
    }

    @Test
    void aDegradedArrayWritesItsJournalToTheHomeMemberOnly() {
        List<BlockDevice> members = TestArrays.memoryMembers("h", 4, 2L << 20);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK)
                .bitmapChunkBytes(64 * 1024).assumeClean(true).build(), members);
        try {
            array.failMember(0);
            long before = array.meter().snapshot().issuedWrite(IoCause.JOURNAL).bytes();
            byte[] data = new byte[BLOCK];
            new Random(1).nextBytes(data);
            array.write(T_LBA, 1, ByteBuffer.wrap(data), 0);
            long journalBytes = array.meter().snapshot().issuedWrite(IoCause.JOURNAL).bytes() - before;
            // a 4 KiB L and its headers fill the rest of a log block and end in the next: two block
            // writes, each once (on member 1), not once per ACTIVE member
            assertThat(journalBytes).isGreaterThan(0).isLessThanOrEqualTo(2L * BLOCK);
        } finally {
            array.close();
        }
    }

    /** One case; true when the cut landed in T. */
    private static boolean runCase(long seed, int at) throws Exception {
        String what = "seed " + seed + ", cut at T's member write " + at;
        PowerDomain domain = new PowerDomain(seed);
        List<FaultInjectingDevice> members = TestArrays.domainMembers(domain, "hm", 4, 2L << 20);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK)
                .bitmapChunkBytes(64 * 1024).assumeClean(true).build(), members);
        Random random = new Random(seed);
        int blocks = ROWS * 6;
        byte[] initial = new byte[blocks * BLOCK];
        random.nextBytes(initial);
        array.write(0, blocks, ByteBuffer.wrap(initial), 0);
        array.flush();

        array.failMember(3);
        for (int i = 0; i < PERIOD_1_WRITES; i++) {
            write(array, 6 + random.nextInt(blocks - 6), random); // rows 1.., never row 0
        }
        FaultInjectingDevice fresh = domain.attach(Media.memory("hm3-new", members.get(3).geometry()));
        array.replaceMember(3, fresh, null).get(60, TimeUnit.SECONDS);
        members.set(3, fresh);
        assertThat(array.memberState(3)).as(what).isEqualTo(MemberState.ACTIVE);

        array.failMember(0);
        array.flush();
        domain.armCutAtWrite(domain.writeCount() + at, PowerCutMode.KEEP_RANDOM_SUBSET);
        boolean cutInT = false;
        try {
            write(array, T_LBA, random);
        } catch (CoreException e) {
            assertThat(e.code()).as(what).isEqualTo(CoreError.POWER_LOST);
            cutInT = true;
        }
        if (!cutInT) {
            domain.cut(PowerCutMode.KEEP_RANDOM_SUBSET);
        }
        domain.restore();
        RaidArray again = RaidArray.assemble(new ArrayList<BlockDevice>(members));
        try {
            assertThat(again.memberState(0)).as(what).isEqualTo(MemberState.FAILED);
            assertThat(TestArrays.readBlock(again, LOST_LBA)).as("%s: member 0's block of the column T wrote", what)
                    .isEqualTo(TestArrays.blockOf(initial, LOST_LBA));
        } finally {
            again.close();
        }
        return cutInT;
    }

    private static void write(RaidArray array, long lba, Random random) {
        byte[] data = new byte[BLOCK];
        random.nextBytes(data);
        array.write(lba, 1, ByteBuffer.wrap(data), 0);
    }
}
