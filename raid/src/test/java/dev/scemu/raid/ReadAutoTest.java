package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.Extent;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.ForwardingBlockDevice;
import dev.scemu.core.Media;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import dev.scemu.core.BlockGeometry;
import dev.scemu.raid.internal.MdSuperblock;
import dev.scemu.raid.internal.MdSuperblockLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * md's read-auto ({@link AssembleOptions#readAuto}): a clean array assembles, serves reads, flushes,
 * scrubs and stops without writing a byte to its members; its first write makes it active in md's
 * order (every superblock dirty, events + 1, before the first data or parity reaches a member); a
 * read that repairs a latent sector error writes the superblocks (clean) before the repair; an
 * assembly that has something to record still writes it.
 */
class ReadAutoTest {

    private static final int CHUNK = 16 * 1024;
    private static final long MEMBER_BYTES = 8L << 20;
    private static final long SUPERBLOCK_LBA = MdSuperblockLayout.SUPER_OFFSET_BYTES / TestArrays.BLOCK;

    /** One member write: which member, where, in the order they reached the members. */
    private record Written(String member, long lba) {
    }

    /** Records every write and trim of a member. */
    private static final class Recording extends ForwardingBlockDevice {
        private final List<Written> log;

        Recording(BlockDevice inner, List<Written> log) {
            super(inner.name(), inner, true);
            this.log = log;
        }

        @Override
        protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
            log.add(new Written(name(), lba));
            super.doWrite(lba, blockCount, buffer, bufferOffset, fua);
        }

        @Override
        protected void doTrim(long lba, long blockCount) {
            log.add(new Written(name(), lba));
            super.doTrim(lba, blockCount);
        }
    }

    private static List<BlockDevice> recorded(List<BlockDevice> members, List<Written> log) {
        List<BlockDevice> wrapped = new ArrayList<>();
        for (BlockDevice member : members) {
            wrapped.add(new Recording(member, log));
        }
        return wrapped;
    }

    private static MdSuperblock superblock(BlockDevice member) {
        ByteBuffer block = ByteBuffer.allocateDirect(TestArrays.BLOCK);
        member.read(SUPERBLOCK_LBA, 1, block, 0);
        byte[] bytes = new byte[MdSuperblockLayout.SUPERBLOCK_BYTES];
        block.get(0, bytes);
        return MdSuperblock.decode(bytes, member.name());
    }

    private static AssembleOptions readAuto() {
        return AssembleOptions.defaults().withReadAuto(true);
    }

    @ParameterizedTest
    @EnumSource(RaidLevel.class)
    void aCleanArrayWritesNothingUntilItsFirstWriteWhichMakesItActiveFirst(RaidLevel level) {
        List<Written> log = Collections.synchronizedList(new ArrayList<>());
        List<BlockDevice> members = recorded(TestArrays.memoryMembers("m", TestArrays.membersFor(level), MEMBER_BYTES), log);
        RaidArray created = RaidArray.create(RaidConfig.builder(level).chunkBytes(CHUNK).assumeClean(true).build(), members);
        ByteBuffer data = TestArrays.randomBuffer(new Random(3), 40);
        created.write(0, 40, data, 0);
        created.stop();
        long events = superblock(members.get(0)).events;
        log.clear();

        RaidArray array = RaidArray.assemble(members, readAuto());
        ByteBuffer read = ByteBuffer.allocateDirect(40 * TestArrays.BLOCK);
        array.read(0, 40, read, 0);
        assertThat(read).isEqualTo(data.clear());
        array.flush();
        if (level != RaidLevel.RAID0) {
            assertThat(array.scrub(false).mismatchedStripes()).isZero();
        }
        assertThat(log).as("assembly, reads, a flush and a scrub without repair write nothing").isEmpty();
        assertThat(array.events()).isEqualTo(events);
        array.stop();
        assertThat(log).as("a stop without a change writes nothing").isEmpty();

        array = RaidArray.assemble(members, readAuto());
        assertThat(log).isEmpty();
        array.write(100, 1, data, 0);
        int firstData = -1;
        synchronized (log) {
            long dataOffsetBlocks = array.dataOffsetSectors() * 512 / TestArrays.BLOCK;
            for (int i = 0; i < log.size() && firstData < 0; i++) {
                firstData = log.get(i).lba() >= dataOffsetBlocks ? i : -1;
            }
            assertThat(firstData).as("the write reached a member's data area: %s", log).isPositive();
            for (BlockDevice member : members) {
                assertThat(log.subList(0, firstData)).as("%s: superblock written before the first data or parity: %s",
                        member.name(), log).contains(new Written(member.name(), SUPERBLOCK_LBA));
            }
        }
        for (BlockDevice member : members) {
            MdSuperblock sb = superblock(member);
            assertThat(sb.events).as("%s events", member.name()).isEqualTo(events + 1);
            assertThat(sb.isClean()).as("%s dirty while the write may be in flight", member.name()).isFalse();
        }
        array.stop();
        for (BlockDevice member : members) {
            assertThat(superblock(member).isClean()).as("%s clean after the stop", member.name()).isTrue();
            assertThat(superblock(member).events).isEqualTo(events + 2);
        }
        array = RaidArray.assemble(members, readAuto());
        array.read(100, 1, read, 0);
        assertThat(read.limit(TestArrays.BLOCK)).isEqualTo(data.clear().limit(TestArrays.BLOCK));
        array.close();
    }

    @Test
    void aReadRepairLeavesReadAutoThroughACleanSuperblockUpdateFirst() {
        List<Written> log = Collections.synchronizedList(new ArrayList<>());
        List<FaultInjectingDevice> faulty = new ArrayList<>();
        for (BlockDevice member : TestArrays.memoryMembers("r", 4, MEMBER_BYTES)) {
            faulty.add(new FaultInjectingDevice(member, 1));
        }
        List<BlockDevice> members = recorded(List.copyOf(faulty), log);
        RaidArray created = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK).assumeClean(true)
                .build(), members);
        ByteBuffer data = TestArrays.randomBuffer(new Random(5), 40);
        created.write(0, 40, data, 0);
        created.stop();
        long events = superblock(members.get(0)).events;
        log.clear();

        RaidArray array = RaidArray.assemble(members, readAuto());
        long dataOffsetBlocks = array.dataOffsetSectors() * 512 / TestArrays.BLOCK;
        faulty.get(0).failReads(Extent.of(dataOffsetBlocks, 16)); // latent sector errors under member 0's first chunks
        ByteBuffer read = ByteBuffer.allocateDirect(40 * TestArrays.BLOCK);
        array.read(0, 40, read, 0);
        assertThat(read).as("reconstructed").isEqualTo(data.clear());
        synchronized (log) {
            int repair = log.indexOf(log.stream().filter(w -> w.member().equals("r0") && w.lba() >= dataOffsetBlocks)
                    .findFirst().orElseThrow(() -> new AssertionError("no repair write: " + log)));
            for (BlockDevice member : members) {
                assertThat(log.subList(0, repair)).as("%s: superblock before the repair: %s", member.name(), log)
                        .contains(new Written(member.name(), SUPERBLOCK_LBA));
            }
        }
        for (BlockDevice member : members) {
            assertThat(superblock(member).events).isEqualTo(events + 1);
            assertThat(superblock(member).isClean()).as("a repair does not make the array dirty").isTrue();
        }
        array.close();
    }

    @Test
    void anAssemblyThatHasSomethingToRecordStillWritesIt() {
        List<Written> log = Collections.synchronizedList(new ArrayList<>());
        List<BlockDevice> members = recorded(TestArrays.memoryMembers("d", 4, MEMBER_BYTES), log);
        RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK).assumeClean(true).build(), members).stop();
        log.clear();
        // member 3 is missing: its role is recorded faulty on the others (md's super_1_sync), read-auto or not
        RaidArray array = RaidArray.assemble(members.subList(0, 3), readAuto());
        assertThat(array.isDegraded()).isTrue();
        assertThat(log).as("the missing member's role recorded").contains(new Written("d0", SUPERBLOCK_LBA));
        array.stop();
        log.clear();
        array = RaidArray.assemble(members.subList(0, 3), readAuto());
        assertThat(log).as("recorded once: the next assembly of the same members has nothing to record").isEmpty();
        array.stop();
        assertThat(log).isEmpty();
        members.forEach(BlockDevice::close);
    }

    /**
     * An unclean stop's resync waits for the first change (md: {@code resync=PENDING} on an
     * auto-read-only array): a unit whose open fails above the array, or that is only read, leaves
     * the members as the crash left them, the parity a torn write left wrong included, instead of
     * recomputing it before anything asked to write. The first write then goes active first and
     * starts the resync, which repairs the tear.
     */
    @ParameterizedTest
    @ValueSource(strings = {"RAID1", "RAID5"})
    void aDirtyArrayDefersItsResyncToTheFirstWrite(String levelName) throws Exception {
        RaidLevel level = RaidLevel.valueOf(levelName);
        PowerDomain domain = new PowerDomain(23);
        List<BlockDevice> faulty = new ArrayList<>();
        for (int i = 0; i < TestArrays.membersFor(level); i++) {
            faulty.add(domain.attach(Media.memory("p" + i, BlockGeometry.ofBytes(TestArrays.BLOCK, MEMBER_BYTES))));
        }
        RaidArray created = RaidArray.create(RaidConfig.builder(level).chunkBytes(CHUNK).assumeClean(true).build(), faulty);
        ByteBuffer data = TestArrays.randomBuffer(new Random(7), 40);
        created.write(0, 40, data, 0);
        created.flush();
        long dataOffsetBlocks = created.dataOffsetSectors() * 512 / TestArrays.BLOCK;
        domain.cut(PowerCutMode.DROP_UNFLUSHED); // abandoned while active, like a crashed host's array
        domain.restore();
        // a write torn by the cut: member 1 took block 50 of its data area, its redundancy did not
        faulty.get(1).write(dataOffsetBlocks + 50, 1, TestArrays.randomBuffer(new Random(8), 1), 0);
        faulty.get(1).flush();
        assertThat(superblock(faulty.get(0)).isClean()).as("dirty at the cut").isFalse();
        long events = superblock(faulty.get(0)).events;

        List<Written> log = Collections.synchronizedList(new ArrayList<>());
        List<BlockDevice> members = recorded(faulty, log);
        RaidArray array = RaidArray.assemble(members, readAuto());
        assertThat(array.backgroundWork()).as("no resync before the first change").isDone();
        ByteBuffer read = ByteBuffer.allocateDirect(40 * TestArrays.BLOCK);
        array.read(0, 40, read, 0);
        assertThat(read).isEqualTo(data.clear());
        array.flush();
        array.stop();
        assertThat(log).as("assembly, reads, a flush and a stop of a dirty array write nothing").isEmpty();
        assertThat(superblock(faulty.get(0)).isClean()).as("still dirty: the next assembly resyncs").isFalse();

        array = RaidArray.assemble(members, readAuto());
        assertThat(log).isEmpty();
        array.write(100, 1, data, 0);
        synchronized (log) {
            int firstData = -1;
            for (int i = 0; i < log.size() && firstData < 0; i++) {
                firstData = log.get(i).lba() >= dataOffsetBlocks ? i : -1;
            }
            assertThat(firstData).as("the write reached a member's data area: %s", log).isPositive();
            for (BlockDevice member : members) {
                assertThat(log.subList(0, firstData)).as("%s: superblock before the first data: %s", member.name(), log)
                        .contains(new Written(member.name(), SUPERBLOCK_LBA));
            }
        }
        array.backgroundWork().get(60, TimeUnit.SECONDS);
        // events + 1 going active (before the data, above), + 1 when the resync ended; dirty until the stop
        assertThat(superblock(faulty.get(0)).events).isEqualTo(events + 2);
        assertThat(superblock(faulty.get(0)).isClean()).isFalse();
        assertThat(array.scrub(false).mismatchedStripes()).as("the resync the write started repaired the tear").isZero();
        array.stop();
        assertThat(superblock(faulty.get(0)).isClean()).isTrue();
        array = RaidArray.assemble(members, readAuto());
        assertThat(array.scrub(false).mismatchedStripes()).isZero();
        array.close();
    }

    /**
     * A scrub of a dirty array assembled read-auto runs the pending resync first, as md's
     * {@code echo check > sync_action} on an auto-read-only array leaves read-auto and the pending
     * resync runs before any check: so a check after an unclean stop reports what the resync could
     * not make consistent, not the torn writes it repairs.
     */
    @Test
    void aScrubOfADirtyArrayRunsThePendingResyncFirst() throws Exception {
        PowerDomain domain = new PowerDomain(29);
        List<BlockDevice> faulty = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            faulty.add(domain.attach(Media.memory("s" + i, BlockGeometry.ofBytes(TestArrays.BLOCK, MEMBER_BYTES))));
        }
        RaidArray created = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK).assumeClean(true)
                .build(), faulty);
        created.write(0, 40, TestArrays.randomBuffer(new Random(9), 40), 0);
        created.flush();
        long dataOffsetBlocks = created.dataOffsetSectors() * 512 / TestArrays.BLOCK;
        domain.cut(PowerCutMode.DROP_UNFLUSHED);
        domain.restore();
        faulty.get(2).write(dataOffsetBlocks + 3, 1, TestArrays.randomBuffer(new Random(10), 1), 0);
        faulty.get(2).flush();

        RaidArray array = RaidArray.assemble(faulty, readAuto());
        assertThat(array.backgroundWork()).isDone();
        assertThat(array.scrub(false).mismatchedStripes()).as("checked after the resync").isZero();
        assertThat(superblock(faulty.get(0)).isClean()).as("left read-auto: dirty until a clean stop").isFalse();
        array.stop();
        assertThat(superblock(faulty.get(0)).isClean()).isTrue();
    }

}
