package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The parity journal's column rule (ParityJournal Ordering 3), one deterministic case at a time:
 * on a degraded RAID-5 (member 1 failed), write T1 puts new data on member 0 in column 0 (member
 * lba 0 of row 0) and returns, unflushed; write T2 then writes member 2 in the same column, so its
 * partial parity L assumes T1's new data. A cut lands on each of T2's member writes in turn,
 * keeping a seeded random subset of the unflushed blocks. After the new assembly (and its replay),
 * the failed member's block of column 0, which exists only as parity, must still read as it was.
 *
 * <p>Without the rule, T2's records can survive while T1's data does not (with the journal on
 * every member: the cut at T2's fourth member write, the second log block, with seed 2, T2's first
 * log block having rewritten the partial block T1's sync had left, so the log's ordering flush
 * before the last block was skipped; with the journal on its home member alone since the eleventh
 * session: seed 1, the cut at T2's member write 2), and the replay rebuilds the failed member's
 * block from the wrong data: this test fails that mutation.
 * {@link DegradedConcurrentCrashTest} caught it in 5 of 8 runs of 40 rounds in the ninth session,
 * and passed it 1,200 rounds in a row in the tenth, after the members' gate got cheaper. A write
 * of another column of the row between T1 and T2 must not let T2 skip the wait.
 */
class JournalColumnRuleCrashTest {

    private static final int BLOCK = TestArrays.BLOCK;
    /** 2 blocks per chunk: row 0 is array blocks 0-5, members 0, 1, 2 hold data, 3 parity. */
    private static final int CHUNK = 2 * BLOCK;
    private static final long T1_LBA = 0; // member 0, column 0
    private static final long FAILED_LBA = 2; // member 1, column 0: only parity holds it
    private static final long T2_LBA = 4; // member 2, column 0
    private static final long OTHER_COLUMN_LBA = 5; // member 2, column 1
    /** T2's member writes: two log blocks on the journal's home member (member 0), its data, its parity. */
    private static final int T2_MEMBER_WRITES = 4;

    @Test
    void aWriteSharingColumnsWithAnUnflushedWriteLeavesTheFailedMembersBlockIntactAfterACut() {
        for (long seed = 0; seed < 16; seed++) {
            for (int at = 0; at < T2_MEMBER_WRITES; at++) {
                runCase(seed, at, false);
                runCase(seed, at, true);
            }
        }
    }

    private static void runCase(long seed, int at, boolean otherColumnBetween) {
        String what = "seed " + seed + ", cut at T2's member write " + at
                + (otherColumnBetween ? ", another column written between T1 and T2" : "");
        PowerDomain domain = new PowerDomain(seed);
        List<FaultInjectingDevice> members = TestArrays.domainMembers(domain, "cr", 4, 2L << 20);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK)
                .bitmapChunkBytes(64 * 1024).assumeClean(true).build(), members);
        Random random = new Random(seed);
        byte[] initial = new byte[6 * BLOCK];
        random.nextBytes(initial);
        array.write(0, 6, ByteBuffer.wrap(initial), 0);
        array.flush();
        array.failMember(1);
        array.flush();

        write(array, T1_LBA, random);
        if (otherColumnBetween) {
            write(array, OTHER_COLUMN_LBA, random);
        }
        domain.armCutAtWrite(domain.writeCount() + at, PowerCutMode.KEEP_RANDOM_SUBSET);
        CoreError error = null;
        try {
            write(array, T2_LBA, random);
        } catch (CoreException e) {
            error = e.code();
        }
        assertThat(error).as("%s: T2 met the cut", what).isEqualTo(CoreError.POWER_LOST);
        domain.restore();
        RaidArray again = RaidArray.assemble(new ArrayList<BlockDevice>(members));
        try {
            assertThat(TestArrays.readBlock(again, FAILED_LBA))
                    .as("%s: the failed member's block of the column both writes share", what)
                    .isEqualTo(TestArrays.blockOf(initial, FAILED_LBA));
        } finally {
            again.close();
        }
    }

    private static void write(RaidArray array, long lba, Random random) {
        byte[] data = new byte[BLOCK];
        random.nextBytes(data);
        array.write(lba, 1, ByteBuffer.wrap(data), 0);
    }
}
