package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.IoCause;
import dev.scemu.core.IoMeter;
import dev.scemu.raid.internal.MdRaidArray;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Write amplification read from the meters, and the write-intent bitmap's effect on resync. */
class MeteringAndBitmapTest {

    private static final int CHUNK = 16 * 1024;
    private static final int CHUNK_BLOCKS = CHUNK / 4096;

    @Test
    void raid5SmallRandomWritesCostTwoPhysicalWritesAndFullStripesNOverNMinusOne() {
        List<BlockDevice> members = TestArrays.memoryMembers("w", 5, 8L << 20);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK).bitmap(false)
                .assumeClean(true).build(), members);
        ByteBuffer data = TestArrays.randomBuffer(new Random(1), 4 * CHUNK_BLOCKS * 8);
        array.write(0, 1, data, 0); // marks the superblocks active (metadata), not measured
        array.meter().reset();
        Random random = new Random(2);
        int writes = 2000;
        for (int i = 0; i < writes; i++) {
            array.write(random.nextInt((int) array.blockCount()), 1, data, 0);
        }
        IoMeter.Snapshot small = array.meter().snapshot();
        long hostBytes = 4096L * writes;
        assertThat(small.receivedWrite().bytes()).isEqualTo(hostBytes);
        assertThat(small.issuedWrite(IoCause.HOST).bytes()).isEqualTo(hostBytes);
        assertThat(small.issuedWrite(IoCause.PARITY).bytes()).isEqualTo(hostBytes);
        assertThat(small.writeAmplification()).isEqualTo(2.0);
        // read-modify-write with 4 data disks: old data + old parity
        assertThat(small.issuedRead(IoCause.PARITY).bytes()).isEqualTo(2 * hostBytes);
        System.out.printf("RAID-5 (5 members) 4 KiB random writes: %.3f physical bytes written per host byte%n",
                small.writeAmplification());

        array.meter().reset();
        int rowBlocks = 4 * CHUNK_BLOCKS;
        for (int row = 0; row < 8; row++) {
            array.write((long) row * rowBlocks, rowBlocks, data, 0);
        }
        IoMeter.Snapshot full = array.meter().snapshot();
        assertThat(full.writeAmplification()).isEqualTo(5.0 / 4.0);
        assertThat(full.issuedReadTotal().bytes()).as("full-stripe writes read nothing").isZero();
        System.out.printf("RAID-5 (5 members) full-stripe writes: %.3f%n", full.writeAmplification());
        array.close();
    }

    @Test
    void raid5WriteOverUsesTheHandedOverOldDataAndReadsOnlyParity() {
        List<BlockDevice> members = TestArrays.memoryMembers("o", 5, 8L << 20);
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK).bitmap(false)
                .assumeClean(true).build(), members);
        Random random = new Random(5);
        ByteBuffer fill = TestArrays.randomBuffer(random, (int) array.blockCount());
        array.write(0, (int) array.blockCount(), fill, 0); // every stripe holds data, parity consistent
        array.meter().reset();
        ByteBuffer old = ByteBuffer.allocateDirect(3 * 4096);
        ByteBuffer fresh = TestArrays.randomBuffer(random, 3);
        int writes = 500;
        for (int i = 0; i < writes; i++) {
            int blocks = 1 + i % 3; // 1..3 blocks, some crossing a chunk boundary (2 written chunks)
            long lba = random.nextInt((int) array.blockCount() - blocks);
            array.read(lba, blocks, old, 0); // the caller's read (a snapshot's diff), then the hand-over
            array.writeOver(lba, blocks, fresh, 0, old, 0, false);
        }
        IoMeter.Snapshot m = array.meter().snapshot();
        long hostBytes = m.receivedWrite().bytes();
        // a read-modify-write reads the old parity only: one member block per written block, not two
        assertThat(m.issuedRead(IoCause.PARITY).bytes()).isEqualTo(hostBytes);
        assertThat(array.scrub(false).mismatchedStripes()).as("parity after writeOver").isZero();
        System.out.printf("RAID-5 writeOver: %.2f member read bytes per host byte (write would read 2.00)%n",
                (double) m.issuedRead(IoCause.PARITY).bytes() / hostBytes);
        array.close();
    }

    @Test
    void afterAnUncleanShutdownOnlyDirtyBitmapRegionsAreResynced() {
        List<BlockDevice> members = TestArrays.memoryMembers("b", 4, 8L << 20);
        int bitmapChunk = 64 * 1024; // 4 stripes of 16 KiB per bit
        MdRaidArray array = (MdRaidArray) RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK)
                .bitmapChunkBytes(bitmapChunk).assumeClean(true).build(), members);
        array.setBitmapClock(BitmapRulesTest.flushesSixSecondsApart());
        int rowBlocks = 3 * CHUNK_BLOCKS;
        ByteBuffer data = TestArrays.randomBuffer(new Random(3), rowBlocks);
        array.write(0, rowBlocks, data, 0);          // stripe 0, bitmap bit 0
        assertThat(array.bitmapDirtyBits()).isEqualTo(1);
        array.flush();
        array.flush();                                // idle across a whole flush interval: bit 0 clears
        assertThat(array.bitmapDirtyBits()).isZero();
        long dirtyStripe = 40;                        // bit 10
        array.write(dirtyStripe * rowBlocks, 2, data, 0);
        array.flush();
        assertThat(array.bitmapDirtyBits()).isEqualTo(1);
        // crash (never stopped); then damage parity in the dirty region and in a clean one
        long dataOffsetBlocks = array.dataOffsetSectors() / 8;
        ByteBuffer junk = TestArrays.randomBuffer(new Random(4), 1);
        int parityOfDirty = 3 - (int) (dirtyStripe % 4);
        int parityOfClean = 3;                        // stripe 0 (left-symmetric)
        members.get(parityOfDirty).write(dataOffsetBlocks + dirtyStripe * CHUNK_BLOCKS, 1, junk, 0);
        members.get(parityOfClean).write(dataOffsetBlocks, 1, junk, 0);

        RaidArray again = RaidArray.assemble(members);
        IoMeter.Snapshot resync = again.meter().snapshot();
        long regionBytes = 4L * CHUNK * 4;            // 4 stripes x 4 members read
        assertThat(resync.issuedRead(IoCause.REBUILD).bytes()).as("resync reads one bitmap region only")
                .isEqualTo(regionBytes);
        assertThat(resync.issuedWrite(IoCause.REBUILD).bytes()).as("one parity chunk rewritten").isEqualTo(CHUNK);
        ScrubResult scrub = again.scrub(false);
        assertThat(scrub.mismatchedStripes()).as("only the damage outside the bitmap remains").isEqualTo(1);
        assertThat(again.scrub(true).repairedStripes()).isEqualTo(1);
        assertThat(again.scrub(false).mismatchedStripes()).isZero();
        assertThat(again.meter().snapshot().issuedWrite(IoCause.SCRUB).bytes()).isEqualTo(CHUNK);
        again.close();
    }
}
