package dev.scemu.raid.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.ExecutionLog;
import dev.scemu.core.Extent;
import dev.scemu.core.Media;
import dev.scemu.core.SliceDevice;
import dev.scemu.raid.RaidArray;
import dev.scemu.raid.RaidConfig;
import dev.scemu.raid.RaidLevel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Regression of the testkit decoder fuzzing: a parity-journal transaction whose payloads do not
 * describe a stripe segment (short BEGIN, negative row, segment outside the member) is skipped
 * with a warning at recovery; it used to fail the assembly with an index error.
 */
class MalformedParityJournalTest {

    private static final int BLOCK = 4096;
    /** No bitmap: the journal region runs from block 2 to data_offset (block 32) on every member. */
    private static final Extent JOURNAL = new Extent(2, 30);

    /** Members 0 and 1 of a dirty degraded RAID-5 whose journal holds one unfinished transaction with these payloads. */
    private static List<BlockDevice> crashedWithTransaction(ByteBuffer begin, ByteBuffer mask) {
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            members.add(Media.memory("m" + i, BlockGeometry.ofBytes(BLOCK, 2 << 20)));
        }
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).name("r5").chunkBytes(64 << 10)
                .bitmap(false).setUuid(new UUID(3, 4)).assumeClean(true).build(), members);
        array.failMember(2);
        array.write(0, 1, ByteBuffer.allocateDirect(BLOCK), 0); // dirty and degraded, not stopped: a power cut
        List<BlockDevice> survivors = members.subList(0, 2);
        for (BlockDevice member : survivors) {
            BlockDevice region = SliceDevice.of("journal", member, JOURNAL);
            ExecutionLog log = ExecutionLog.format(region, new Extent(0, JOURNAL.blockCount()));
            long tx = log.begin(1, begin.duplicate());
            log.step(tx, 0, mask.duplicate());
            log.step(tx, 1, ByteBuffer.allocate(BLOCK / 2));
            log.step(tx, 2, ByteBuffer.allocate(BLOCK / 2));
            log.sync();
        }
        return survivors;
    }

    private static ByteBuffer begin(long row, long memberLba, int blocks) {
        return ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(0, row).putLong(8, memberLba)
                .putInt(16, blocks);
    }

    private static ByteBuffer mask(int members) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, members);
    }

    private static void assertAssemblesSkippingTheTransaction(ByteBuffer begin, ByteBuffer mask) {
        RaidArray array = RaidArray.assemble(crashedWithTransaction(begin, mask));
        assertThat(array.isDegraded()).isTrue();
        array.stop();
    }

    @Test
    void skipsTransactionWithTruncatedBeginPayload() {
        assertAssemblesSkippingTheTransaction(ByteBuffer.wrap(new byte[] {1, 0, 0, 0, 0}), mask(1));
    }

    @Test
    void skipsTransactionWithTruncatedMask() {
        assertAssemblesSkippingTheTransaction(begin(1, 16, 1), ByteBuffer.wrap(new byte[] {1}));
    }

    @Test
    void skipsTransactionWithNegativeStripe() {
        assertAssemblesSkippingTheTransaction(begin(-1, 16, 1), mask(1));
    }

    @Test
    void skipsTransactionWithSegmentBeyondTheMember() {
        assertAssemblesSkippingTheTransaction(begin(1L << 40, (1L << 40) * 16, 1), mask(1));
        assertAssemblesSkippingTheTransaction(begin(1, 16, 1 << 20), mask(1));
    }
}
