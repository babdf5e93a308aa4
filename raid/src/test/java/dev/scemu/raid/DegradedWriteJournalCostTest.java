package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.IoCause;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * What the parity journal costs a degraded 4 KiB write, read from the array's meter: the
 * transaction's records fill the log's blocks (ParityJournal packs the partial parity into the
 * rest of the current block), so each journaled write writes two log blocks on every present
 * member. With fixed half-block pieces it wrote three (a 4 KiB transaction started two blocks).
 */
class DegradedWriteJournalCostTest {

    private static final int CHUNK = 16 * 1024;
    private static final int BLOCK = TestArrays.BLOCK;

    @Test
    void aJournaledFourKibWriteWritesTwoLogBlocksPerPresentMemberAndReadsBack() {
        List<BlockDevice> members = TestArrays.memoryMembers("j", 4, 8L << 20);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK)
                .assumeClean(true).build(), members);
        int blocks = (int) array.blockCount();
        Random random = new Random(5);
        ByteBuffer initial = TestArrays.randomBuffer(random, blocks);
        array.write(0, blocks, initial, 0);
        byte[] model = new byte[blocks * BLOCK];
        initial.get(0, model);
        array.failMember(3);

        ByteBuffer block = ByteBuffer.allocateDirect(BLOCK);
        int writes = 600;
        int journaled = 0;
        long journalWriteOps = 0;
        List<Integer> perWrite = new ArrayList<>();
        for (int i = 0; i < writes; i++) {
            int lba = random.nextInt(blocks);
            byte[] data = new byte[BLOCK];
            random.nextBytes(data);
            block.put(0, data);
            long before = array.meter().snapshot().issuedWrite(IoCause.JOURNAL).operations();
            array.write(lba, 1, block, 0);
            long ops = array.meter().snapshot().issuedWrite(IoCause.JOURNAL).operations() - before;
            System.arraycopy(data, 0, model, lba * BLOCK, BLOCK);
            if (ops > 0) {
                journaled++;
                journalWriteOps += ops;
                perWrite.add((int) ops);
            }
        }
        // rows whose parity is on member 3 are not journaled (no parity to protect): a quarter
        assertThat(journaled).as("journaled writes of %d", writes).isBetween(writes / 2, writes * 7 / 8);
        double blocksPerPresentMember = journalWriteOps / 3.0 / journaled;
        System.out.printf("degraded 4 KiB writes: %d journaled, %.3f log block writes per present member each%n",
                journaled, blocksPerPresentMember);
        // two per write, plus the ring's header every few hundred transactions
        assertThat(blocksPerPresentMember).as("log block writes per present member per journaled write: %s",
                perWrite.subList(0, Math.min(20, perWrite.size()))).isLessThan(2.1);

        ByteBuffer back = ByteBuffer.allocateDirect(blocks * BLOCK);
        array.read(0, blocks, back, 0);
        byte[] read = new byte[blocks * BLOCK];
        back.get(0, read);
        assertThat(read).as("every block, the failed member's reconstructed").isEqualTo(model);
        array.close();
    }
}
