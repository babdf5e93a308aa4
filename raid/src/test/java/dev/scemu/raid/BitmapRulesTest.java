package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.ForwardingBlockDevice;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.Media;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import dev.scemu.core.BlockGeometry;
import dev.scemu.raid.internal.MdBitmapLayout;
import dev.scemu.raid.internal.MdRaidArray;
import dev.scemu.raid.internal.MdSuperblockLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * md's bitmap rules that #17 found scemu diverging from, checked on what the members hold: bits
 * written while degraded stay set and events_cleared stays (md_bitmap_endwrite), and the bitmap's
 * events are never behind the superblocks' (md_update_sb writes the bitmap first); plus the
 * md-style page writes (FUA, no member flush, shared by concurrent writers).
 */
class BitmapRulesTest {

    private static final int CHUNK = 16 * 1024;
    private static final int BITMAP_CHUNK = 64 * 1024;
    /** md 1.2: superblock at 4 KiB, bitmap 8 sectors after it. */
    private static final long BITMAP_BYTES = MdSuperblockLayout.SUPER_OFFSET_BYTES + 8 * 512;

    private static RaidConfig config() {
        return RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK).bitmapChunkBytes(BITMAP_CHUNK)
                .assumeClean(true).build();
    }

    private static ByteBuffer bytesAt(BlockDevice member, long byteOffset, int length) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(length);
        member.read(byteOffset / member.blockSize(), length / member.blockSize(), buffer, 0);
        return buffer.order(ByteOrder.LITTLE_ENDIAN);
    }

    private static long bitmapEvents(BlockDevice member) {
        return bytesAt(member, BITMAP_BYTES, 4096).getLong(MdBitmapLayout.OFF_EVENTS);
    }

    private static long bitmapEventsCleared(BlockDevice member) {
        return bytesAt(member, BITMAP_BYTES, 4096).getLong(MdBitmapLayout.OFF_EVENTS_CLEARED);
    }

    private static long superblockEvents(BlockDevice member) {
        return bytesAt(member, MdSuperblockLayout.SUPER_OFFSET_BYTES, 4096).getLong(MdSuperblockLayout.OFF_EVENTS);
    }

    /** Whether bit {@code bit} is set in the bitmap on {@code member}. */
    private static boolean bitOnDisk(BlockDevice member, int bit) {
        ByteBuffer page = bytesAt(member, BITMAP_BYTES, 4096);
        return (page.get(MdBitmapLayout.HEADER_BYTES + bit / 8) & (1 << (bit % 8))) != 0;
    }

    /** A bitmap clock that advances 6 s (past md's daemon_sleep of 5 s) at every reading: one reading per flush. */
    static java.util.function.LongSupplier flushesSixSecondsApart() {
        java.util.concurrent.atomic.AtomicLong nanos = new java.util.concurrent.atomic.AtomicLong();
        return () -> nanos.addAndGet(java.util.concurrent.TimeUnit.SECONDS.toNanos(6));
    }

    @Test
    void aBitClearsOnlyAfterItsRegionWasIdleForDaemonSleepNotJustAcrossTwoFlushes() {
        List<BlockDevice> members = TestArrays.memoryMembers("t", 4, 8L << 20);
        MdRaidArray array = (MdRaidArray) RaidArray.create(config(), members);
        java.util.concurrent.atomic.AtomicLong nanos = new java.util.concurrent.atomic.AtomicLong();
        array.setBitmapClock(nanos::get);
        int rowBlocks = 3 * CHUNK / 4096;
        array.write(0, rowBlocks, TestArrays.randomBuffer(new Random(2), rowBlocks), 0);
        for (int i = 0; i < 5; i++) { // five flushes 1 s apart: idle across them, but for less than 5 s
            nanos.addAndGet(java.util.concurrent.TimeUnit.SECONDS.toNanos(1));
            array.flush();
        }
        // md_bitmap_daemon_work clears only after daemon_sleep; clearing here would make the next write pay a FUA page write
        assertThat(array.bitmapDirtyBits()).isEqualTo(1);
        assertThat(bitOnDisk(members.get(0), 0)).isTrue();
        nanos.addAndGet(java.util.concurrent.TimeUnit.SECONDS.toNanos(1)); // 5 s since the first flush saw it idle
        array.flush();
        assertThat(array.bitmapDirtyBits()).isZero();
        assertThat(bitOnDisk(members.get(0), 0)).isFalse();
        array.close();
    }

    /** A ranged flush (a partition's) clears only bits whose whole region it flushed: it made no other region durable. */
    @Test
    void aRangedFlushClearsOnlyTheBitsOfRegionsItFlushed() {
        List<BlockDevice> members = TestArrays.memoryMembers("r", 4, 8L << 20);
        MdRaidArray array = (MdRaidArray) RaidArray.create(config(), members);
        array.setBitmapClock(flushesSixSecondsApart());
        int rowBlocks = 3 * CHUNK / 4096;
        ByteBuffer data = TestArrays.randomBuffer(new Random(3), 2);
        array.write(0, 2, data, 0);                  // bit 0 (rows 0-3)
        array.write(40L * rowBlocks, 2, data, 0);    // bit 10 (rows 40-43)
        array.write(5L * rowBlocks, 2, data, 0);     // bit 1, which the first range covers only in part
        assertThat(array.bitmapDirtyBits()).isEqualTo(3);

        for (int i = 0; i < 2; i++) { // rows 0-5: bit 0 whole, bit 1 in part
            array.flushRange(0, 6L * rowBlocks);
        }
        assertThat(array.bitmapDirtyBits()).isEqualTo(2);
        assertThat(bitOnDisk(members.get(0), 0)).isFalse();
        assertThat(bitOnDisk(members.get(0), 1)).isTrue();
        assertThat(bitOnDisk(members.get(0), 10)).isTrue();

        array.flush();
        array.flush();
        assertThat(array.bitmapDirtyBits()).isZero();
        array.close();
    }

    @Test
    void writesWhileDegradedKeepTheirBitsAndEventsClearedUntilARebuild() {
        List<BlockDevice> members = TestArrays.memoryMembers("d", 4, 8L << 20);
        MdRaidArray array = (MdRaidArray) RaidArray.create(config(), members);
        array.setBitmapClock(flushesSixSecondsApart());
        int rowBlocks = 3 * CHUNK / 4096;
        ByteBuffer data = TestArrays.randomBuffer(new Random(1), rowBlocks);
        array.write(0, rowBlocks, data, 0);
        array.flush();
        array.flush(); // idle across a flush interval: bit 0 clears (not degraded)
        assertThat(array.bitmapDirtyBits()).isZero();
        long clearedBefore = bitmapEventsCleared(members.get(0));

        array.failMember(3);
        long dirtyRow = 40; // member data of row 40 is in bitmap bit 10 (4 rows of 16 KiB per 64 KiB bit)
        array.write(dirtyRow * rowBlocks, 2, data, 0);
        array.flush();
        array.flush();
        array.flush();
        // md_bitmap_endwrite(success = false) while degraded: NEEDED, never cleared by the daemon
        assertThat(array.bitmapDirtyBits()).isEqualTo(1);
        assertThat(bitOnDisk(members.get(0), 10)).isTrue();
        assertThat(bitmapEventsCleared(members.get(0))).isEqualTo(clearedBefore);
        assertThat(bitmapEvents(members.get(0))).isGreaterThan(clearedBefore);

        // a rebuild makes the region redundant again: then the bit clears lazily as usual
        array.replaceMember(3, Media.memory("d-new", members.get(3).geometry()), null).join();
        array.flush();
        array.flush();
        assertThat(array.bitmapDirtyBits()).isZero();
        assertThat(bitmapEventsCleared(members.get(0))).isGreaterThan(clearedBefore);
        array.close();
    }

    @Test
    void aCleanStopWhileDegradedKeepsTheBitsOnDisk() {
        List<BlockDevice> members = TestArrays.memoryMembers("s", 4, 8L << 20);
        MdRaidArray array = (MdRaidArray) RaidArray.create(config(), members);
        long clearedBefore = bitmapEventsCleared(members.get(0));
        array.failMember(2);
        array.write(40L * 3 * CHUNK / 4096, 1, TestArrays.randomBuffer(new Random(2), 1), 0);
        array.stop();
        assertThat(bitOnDisk(members.get(0), 10)).isTrue();
        assertThat(bitmapEventsCleared(members.get(0))).isEqualTo(clearedBefore);
        for (BlockDevice member : members) {
            member.close();
        }
    }

    @Test
    void theBitmapsEventsNeverLagTheSuperblocksAfterOpenOrAnyCut() {
        // cut power at every write of: assemble, first write, flush; after each cut every member's
        // bitmap events >= its superblock events (md: "bitmap file is out of date" otherwise)
        int indices = -1;
        for (int cutAt = 0; indices < 0 || cutAt < indices; cutAt++) {
            PowerDomain power = new PowerDomain(cutAt);
            List<FaultInjectingDevice> disks = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                disks.add(power.attach(Media.memory("e" + i, new BlockGeometry(4096, (8L << 20) / 4096))));
            }
            RaidArray.create(config(), disks).stop();
            long base = power.writeCount();
            power.armCutAtWrite(base + cutAt, PowerCutMode.KEEP_RANDOM_SUBSET);
            try {
                RaidArray array = RaidArray.assemble(List.copyOf(disks));
                for (BlockDevice disk : disks) { // right after open, before any bitmap bit changes
                    assertThat(bitmapEvents(disk)).isEqualTo(superblockEvents(disk));
                }
                array.write(5, 1, TestArrays.randomBuffer(new Random(3), 1), 0);
                array.flush();
                power.disarm();
                indices = (int) (power.writeCount() - base);
            } catch (RuntimeException cut) {
                assertThat(power.isPowered()).as("only the armed cut may fail the run: " + cut).isFalse();
                power.restore();
            }
            for (FaultInjectingDevice disk : disks) {
                assertThat(bitmapEvents(disk)).as("cut at write %d, %s", cutAt, disk.name())
                        .isGreaterThanOrEqualTo(superblockEvents(disk));
            }
            RaidArray again = RaidArray.assemble(List.copyOf(disks));
            again.stop();
        }
        assertThat(indices).isPositive();
    }

    /** Counts flushes and FUA writes on the way to a member. */
    private static final class Counting extends ForwardingBlockDevice {
        final AtomicLong flushes = new AtomicLong();
        final AtomicLong fuaWrites = new AtomicLong();

        Counting(BlockDevice inner) {
            super(inner.name(), inner, true);
        }

        @Override
        protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
            if (fua) {
                fuaWrites.incrementAndGet();
            }
            inner().write(lba, blockCount, buffer, bufferOffset, fua);
        }

        @Override
        protected void doFlush() {
            flushes.incrementAndGet();
            inner().flush();
        }
    }

    @Test
    void concurrentFirstWritesSetTheirBitsWithFuaPageWritesAndFlushNoMember() throws Exception {
        List<Counting> members = new ArrayList<>();
        for (BlockDevice m : TestArrays.memoryMembers("c", 4, 64L << 20)) {
            members.add(new Counting(m));
        }
        MdRaidArray array = (MdRaidArray) RaidArray.create(config(), members);
        array.write(0, 1, TestArrays.randomBuffer(new Random(4), 1), 0); // superblocks active
        long flushesBefore = members.get(0).flushes.get();
        long fuaBefore = members.get(0).fuaWrites.get();
        int rowBlocks = 3 * CHUNK / 4096;
        int threads = 4;
        int perThread = 64;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    ByteBuffer block = TestArrays.randomBuffer(new Random(thread), 1);
                    for (int i = 0; i < perThread; i++) {
                        long row = 4L * (1 + thread * perThread + i); // a new bitmap bit per write
                        array.write(row * rowBlocks, 1, block, 0);
                    }
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(array.bitmapDirtyBits()).isEqualTo(1 + threads * perThread);
        // every new bit was made durable by a FUA page write, never by flushing a member
        assertThat(members.get(0).flushes.get()).isEqualTo(flushesBefore);
        long fuaPageWrites = members.get(0).fuaWrites.get() - fuaBefore;
        assertThat(fuaPageWrites).isBetween(1L, (long) threads * perThread);
        System.out.printf("%d new bitmap bits from %d threads: %d FUA page writes per member%n",
                threads * perThread, threads, fuaPageWrites);
        for (int bit = 1; bit <= threads * perThread; bit++) {
            assertThat(bitOnDisk(members.get(0), bit)).as("bit %d", bit).isTrue();
        }
        array.close();
    }

    /**
     * md's plug: writes announced together set all their new bits with one FUA page write per
     * bitmap page, hold them until the announcement is closed, and the writes themselves then
     * write no page; one after another without the announcement, each new bit costs its own
     * page write (what a snapshot commit of spread blocks paid before).
     */
    @Test
    void announcedWritesSetTheirBitsWithOnePageWriteAndHoldThemUntilClosed() {
        List<Counting> members = new ArrayList<>();
        for (BlockDevice m : TestArrays.memoryMembers("p", 4, 64L << 20)) {
            members.add(new Counting(m));
        }
        MdRaidArray array = (MdRaidArray) RaidArray.create(config(), members);
        AtomicLong nanos = new AtomicLong();
        array.setBitmapClock(nanos::get);
        int rowBlocks = 3 * CHUNK / 4096;
        int writes = 32;
        long[] lbas = new long[writes];
        int[] counts = new int[writes];
        for (int i = 0; i < writes; i++) {
            lbas[i] = 4L * (1 + i) * rowBlocks; // 4 rows per 64 KiB bitmap chunk: a new bit per write
            counts[i] = 1;
        }
        ByteBuffer block = TestArrays.randomBuffer(new Random(5), 1);

        // one after another, unannounced: one FUA page write per new bit
        long fua = members.get(0).fuaWrites.get();
        for (long lba : lbas) {
            array.write(lba, 1, block, 0);
        }
        long unannounced = members.get(0).fuaWrites.get() - fua;
        assertThat(unannounced).isGreaterThanOrEqualTo(writes);
        idleFlushes(array, nanos);
        assertThat(array.bitmapDirtyBits()).isZero();

        // announced: one page write for all of them, none from the writes
        fua = members.get(0).fuaWrites.get();
        dev.scemu.core.AnnouncedWrites announced = array.announceWrites(lbas, counts, writes);
        assertThat(members.get(0).fuaWrites.get() - fua).isEqualTo(1);
        assertThat(array.bitmapDirtyBits()).isEqualTo(writes);
        for (int i = 0; i < writes; i++) {
            assertThat(bitOnDisk(members.get(0), 1 + i)).as("bit of write %d", i).isTrue();
        }
        for (long lba : lbas) {
            array.write(lba, 1, block, 0);
        }
        assertThat(members.get(0).fuaWrites.get() - fua).isEqualTo(1);
        idleFlushes(array, nanos); // held: idle regions, but announced writes are in flight until the close
        assertThat(array.bitmapDirtyBits()).isEqualTo(writes);
        announced.close();
        announced.close(); // idempotent: the bits are released once
        idleFlushes(array, nanos);
        assertThat(array.bitmapDirtyBits()).isZero();
        for (int i = 0; i < writes; i++) {
            assertThat(bitOnDisk(members.get(0), 1 + i)).as("bit of write %d", i).isFalse();
        }
        System.out.printf("%d writes to new bitmap regions: %d FUA page writes per member unannounced, 1 announced%n",
                writes, unannounced);

        // a range outside the array: refused, nothing held
        long before = array.bitmapDirtyBits();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> array.announceWrites(
                new long[] {0, array.blockCount()}, new int[] {1, 1}, 2))
                .isInstanceOf(dev.scemu.core.CoreException.class);
        assertThat(array.bitmapDirtyBits()).isEqualTo(before);
        array.close();
    }

    /** Three flushes 6 s apart: every idle region's bit clears. */
    private static void idleFlushes(MdRaidArray array, AtomicLong nanos) {
        for (int i = 0; i < 3; i++) {
            nanos.addAndGet(TimeUnit.SECONDS.toNanos(6));
            array.flush();
        }
    }

    /**
     * A bitmap header damaged on one member (bit rot in the page md keeps a copy of on every
     * member): md reads the first in-sync member's copy and refuses the array; scemu reads the next
     * good copy, assembles read-auto without a write, and the first change writes the header to every
     * member again. Only when no member holds a good header is the array refused.
     */
    @Test
    void aBitmapHeaderDamagedOnOneMemberIsReadFromAnother() {
        List<BlockDevice> members = TestArrays.memoryMembers("h", 4, 4L << 20);
        RaidArray created = RaidArray.create(config(), members);
        ByteBuffer data = TestArrays.randomBuffer(new Random(11), 24);
        created.write(0, 24, data, 0);
        created.stop();
        long events = bitmapEvents(members.get(1));
        ByteBuffer garbage = TestArrays.randomBuffer(new Random(12), 1);
        members.get(0).write(BITMAP_BYTES / TestArrays.BLOCK, 1, garbage, 0);

        RaidArray array = RaidArray.assemble(members, AssembleOptions.defaults().withReadAuto(true));
        ByteBuffer read = ByteBuffer.allocateDirect(24 * TestArrays.BLOCK);
        array.read(0, 24, read, 0);
        assertThat(read).isEqualTo(data.clear());
        assertThat(bytesAt(members.get(0), BITMAP_BYTES, 4096)).as("read-auto: the damaged copy stays until a change")
                .isEqualTo(garbage.clear());
        array.write(30, 1, data, 0);
        assertThat(bitmapEvents(members.get(0))).as("the first change wrote the header to member 0 again")
                .isEqualTo(bitmapEvents(members.get(1))).isGreaterThan(events);
        array.stop();
        array = RaidArray.assemble(members);
        assertThat(array.scrub(false).mismatchedStripes()).isZero();
        array.stop();

        for (BlockDevice member : members) {
            member.write(BITMAP_BYTES / TestArrays.BLOCK, 1, garbage, 0);
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> RaidArray.assemble(members))
                .isInstanceOf(RaidException.class).hasMessageContaining("h0").hasMessageContaining("bitmap");
        members.forEach(BlockDevice::close);
    }

}
