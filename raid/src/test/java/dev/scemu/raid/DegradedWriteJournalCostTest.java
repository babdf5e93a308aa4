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
 * rest of the current block), so each journaled write writes two log blocks, on the journal's home
 * member alone (MirroredRegion: the lowest ACTIVE role while the array is degraded). With fixed
 * half-block pieces it wrote three (a 4 KiB transaction started two blocks), and until the eleventh
 * session on every present member.
 */
class DegradedWriteJournalCostTest {

    private static final int CHUNK = 16 * 1024;
    private static final int BLOCK = TestArrays.BLOCK;

    @Test
    void aJournaledFourKibWriteWritesTwoLogBlocksOnTheHomeMemberAndReadsBack() {
        Degraded degraded = Degraded.of("j", 5);
        RaidArray array = degraded.array();
        int blocks = (int) array.blockCount();
        Random random = degraded.random();
        byte[] model = degraded.model();

        ByteBuffer block = ByteBuffer.allocateDirect(BLOCK);
        int writes = 600;
        int journaled = 0;
        long journalWriteOps = 0;
        List<Integer> perWrite = new ArrayList<>();
        for (int i = 0; i < writes; i++) {
            long ops = degraded.writeRandomBlock(random.nextInt(blocks), block);
            if (ops > 0) {
                journaled++;
                journalWriteOps += ops;
                perWrite.add((int) ops);
            }
        }
        // rows whose parity is on member 3 are not journaled (no parity to protect): a quarter
        assertThat(journaled).as("journaled writes of %d", writes).isBetween(writes / 2, writes * 7 / 8);
        double blocksPerWrite = (double) journalWriteOps / journaled;
        System.out.printf("degraded 4 KiB writes: %d journaled, %.3f log block writes each%n", journaled, blocksPerWrite);
        // two per write (on the home member only), plus the ring's header every few hundred transactions
        assertThat(blocksPerWrite).as("log block writes per journaled write: %s",
                perWrite.subList(0, Math.min(20, perWrite.size()))).isGreaterThanOrEqualTo(2.0).isLessThan(2.1);

        ByteBuffer back = ByteBuffer.allocateDirect(blocks * BLOCK);
        array.read(0, blocks, back, 0);
        byte[] read = new byte[blocks * BLOCK];
        back.get(0, read);
        assertThat(read).as("every block, the failed member's reconstructed").isEqualTo(model);
        array.close();
    }

    /**
     * While member 3 is rebuilt (held after one unit by its progress listener, so the rows written
     * are degraded), a journaled write writes its log blocks to the home member only (member 0),
     * not to the other in-sync members nor to the one being rebuilt (their copies are not read; they
     * get the whole region copied before the rebuilt member turns in sync). After the rebuild every
     * block reads back, also after a stop and a new assembly with member 0 failed, whose journal
     * then lives on member 1: its copy must be whole.
     */
    @Test
    void duringARebuildTheJournalIsWrittenToTheInSyncMembersOnly() throws Exception {
        Degraded degraded = Degraded.of("k", 6);
        List<BlockDevice> members = degraded.members();
        RaidArray array = degraded.array();
        int blocks = (int) array.blockCount();
        Random random = degraded.random();
        byte[] model = degraded.model();
        BlockDevice replacement = TestArrays.memoryMembers("k-new", 1, 8L << 20).get(0);
        java.util.concurrent.CompletableFuture<Void> held = new java.util.concurrent.CompletableFuture<>();
        java.util.concurrent.CountDownLatch resume = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CompletableFuture<RebuildProgress> rebuild = array.replaceMember(3, replacement,
                new RebuildListener() {
                    @Override
                    public void onProgress(RebuildProgress progress) {
                        if (held.complete(null)) {
                            try {
                                resume.await(60, java.util.concurrent.TimeUnit.SECONDS);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        }
                    }
                });
        held.get(60, java.util.concurrent.TimeUnit.SECONDS);
        ByteBuffer block = ByteBuffer.allocateDirect(BLOCK);
        int journaled = 0;
        long journalWriteOps = 0;
        try {
            for (int i = 0; i < 300; i++) {
                // rows 16.. : past the first checkpoint the rebuild cannot have reached
                int lba = 16 * 3 * (CHUNK / BLOCK) + random.nextInt(blocks - 16 * 3 * (CHUNK / BLOCK));
                long ops = degraded.writeRandomBlock(lba, block);
                if (ops > 0) {
                    journaled++;
                    journalWriteOps += ops;
                }
            }
        } finally {
            resume.countDown();
        }
        rebuild.get(60, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(journaled).isGreaterThan(150);
        double perWrite = (double) journalWriteOps / journaled;
        System.out.printf("during a rebuild: %d journaled writes, %.3f journal member writes each%n", journaled, perWrite);
        assertThat(perWrite).as("journal member writes per journaled write (the home member, 2 blocks)")
                .isGreaterThanOrEqualTo(2.0).isLessThan(2.1);
        assertThat(array.isDegraded()).isFalse();
        ByteBuffer back = ByteBuffer.allocateDirect(blocks * BLOCK);
        array.read(0, blocks, back, 0);
        byte[] read = new byte[blocks * BLOCK];
        back.get(0, read);
        assertThat(read).isEqualTo(model);
        array.stop();
        List<BlockDevice> again = new ArrayList<>(members);
        again.set(3, replacement);
        RaidArray assembled = RaidArray.assemble(again);
        assembled.failMember(0); // the rebuilt member now serves as the journal's and data's source
        back.clear();
        assembled.read(0, blocks, back, 0);
        back.get(0, read);
        assertThat(read).as("after reassembly, with member 0 failed").isEqualTo(model);
        assembled.write(0, 1, block, 0); // a journaled write on the journal member 1 holds (copied at the rebuild's end)
        assembled.close();
        members.get(3).close(); // the failed member, no longer part of the array
    }

    /**
     * A RAID-5 of 4 memory members filled with random data (the model holds it), member 3 failed:
     * every write to a row with a block on member 3 and parity elsewhere is journaled.
     */
    private record Degraded(List<BlockDevice> members, RaidArray array, Random random, byte[] model) {
        static Degraded of(String name, long seed) {
            List<BlockDevice> members = TestArrays.memoryMembers(name, 4, 8L << 20);
            RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK)
                    .assumeClean(true).build(), members);
            int blocks = (int) array.blockCount();
            Random random = new Random(seed);
            ByteBuffer initial = TestArrays.randomBuffer(random, blocks);
            array.write(0, blocks, initial, 0);
            byte[] model = new byte[blocks * BLOCK];
            initial.get(0, model);
            array.failMember(3);
            return new Degraded(members, array, random, model);
        }

        /** Writes random data to block {@code lba} (and the model); returns the journal write operations it made. */
        long writeRandomBlock(int lba, ByteBuffer block) {
            byte[] data = new byte[BLOCK];
            random.nextBytes(data);
            block.put(0, data);
            long before = array.meter().snapshot().issuedWrite(IoCause.JOURNAL).operations();
            array.write(lba, 1, block, 0);
            long ops = array.meter().snapshot().issuedWrite(IoCause.JOURNAL).operations() - before;
            System.arraycopy(data, 0, model, lba * BLOCK, BLOCK);
            return ops;
        }
    }
}
