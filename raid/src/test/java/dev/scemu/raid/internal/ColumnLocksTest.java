package dev.scemu.raid.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.ForwardingBlockDevice;
import dev.scemu.core.Media;
import dev.scemu.raid.RaidConfig;
import dev.scemu.raid.RaidLevel;
import dev.scemu.raid.RebuildProgress;
import dev.scemu.raid.ScrubResult;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * RAID-5 writes lock the columns they touch, not their row ({@link Raid5Engine} Locking): writers
 * of different columns of one row run at the same time, degraded or not, while a scrub step and a
 * rebuild step take the whole row and exclude column writers both ways. A member request is held
 * at a gate (latches) so that one operation holds its lock while the other runs; waits are seen
 * through {@link StripeLocks#observer}, never by sleeping.
 *
 * <p>Array: RAID-5 of 4 members, 64 KiB chunks (16 columns of 4 KiB), left-symmetric: row 0 has
 * data chunks 0, 1, 2 on members 0, 1, 2 and parity on member 3; array block {@code 16 * d + c} is
 * column {@code c} of data chunk {@code d}.
 */
class ColumnLocksTest {

    private static final int BLOCK = 4096;
    private static final int CHUNK = 64 * 1024;
    private static final long MEMBER_BYTES = 8L << 20;
    private static final long SECONDS = 10;

    /** A member that holds one chosen request (a read or a write covering a member block) until released. */
    static final class GatedMember extends ForwardingBlockDevice {
        private final AtomicLong gateLba = new AtomicLong(-1);
        private volatile boolean gateWrites;
        private volatile CountDownLatch reached = new CountDownLatch(1);
        private volatile CountDownLatch release = new CountDownLatch(1);
        /** Writes covering device block {@link #watched} so far. */
        final AtomicInteger watchedWrites = new AtomicInteger();
        volatile long watched = -1;

        GatedMember(BlockDevice inner) {
            super(inner.name(), inner, true);
        }

        /** The next write ({@code write}) or read covering device block {@code lba} stops at the gate. */
        void arm(long lba, boolean write) {
            reached = new CountDownLatch(1);
            release = new CountDownLatch(1);
            gateWrites = write;
            gateLba.set(lba);
        }

        boolean awaitReached() throws InterruptedException {
            return reached.await(SECONDS, TimeUnit.SECONDS);
        }

        void open() {
            release.countDown();
        }

        private void gate(long lba, int blockCount, boolean write) {
            long at = gateLba.get();
            if (at >= 0 && write == gateWrites && lba <= at && at < lba + blockCount && gateLba.compareAndSet(at, -1)) {
                reached.countDown();
                try {
                    if (!release.await(SECONDS, TimeUnit.SECONDS)) {
                        throw new IllegalStateException("gate of " + name() + " at block " + at + " never opened");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            }
        }

        @Override
        protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
            gate(lba, blockCount, false);
            super.doRead(lba, blockCount, buffer, bufferOffset);
        }

        @Override
        protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
            gate(lba, blockCount, true);
            long at = watched;
            if (lba <= at && at < lba + blockCount) {
                watchedWrites.incrementAndGet();
            }
            super.doWrite(lba, blockCount, buffer, bufferOffset, fua);
        }
    }

    private final List<GatedMember> members = new ArrayList<>();
    private MdRaidArray array;
    private StripeLocks locks;
    private ExecutorService pool;

    @BeforeEach
    void createArray() {
        for (int i = 0; i < 4; i++) {
            members.add(new GatedMember(Media.memory("m" + i, BlockGeometry.ofBytes(BLOCK, MEMBER_BYTES))));
        }
        array = MdRaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK).assumeClean(true).build(),
                members);
        locks = array.locks;
        assertThat(locks.columns()).isEqualTo(CHUNK / BLOCK);
        pool = Executors.newFixedThreadPool(3);
    }

    @AfterEach
    void close() {
        members.forEach(GatedMember::open);
        pool.shutdownNow();
        array.close();
        members.forEach(GatedMember::close); // a replaced member is no longer the array's to close; close is idempotent
    }

    private long dataBlock(long memberLba) {
        return array.dataOffsetBlocks + memberLba;
    }

    private Future<Void> write(long lba, int value) {
        return pool.submit(() -> {
            array.write(lba, 1, filled(value), 0);
            return null;
        });
    }

    private static ByteBuffer filled(int value) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(BLOCK);
        for (int i = 0; i < BLOCK; i++) {
            buffer.put(i, (byte) value);
        }
        return buffer;
    }

    private void assertBlock(long lba, int value) {
        ByteBuffer back = ByteBuffer.allocateDirect(BLOCK);
        array.read(lba, 1, back, 0);
        assertThat(back.mismatch(filled(value))).as("array block %d holds %d", lba, value).isEqualTo(-1);
    }

    /** A latch counted down when a thread is about to wait for exactly {@code mask} of row 0. */
    private CountDownLatch waitsFor(long mask) {
        CountDownLatch latch = new CountDownLatch(1);
        locks.observer = (row, asked) -> {
            if (row == 0 && asked == mask) {
                latch.countDown();
            }
        };
        return latch;
    }

    /** Fails on row locks: the second and third writes would wait for the first's row. */
    @Test
    void writersOfOtherColumnsOfTheRowCompleteWhileOneHoldsItsColumn() throws Exception {
        GatedMember data0 = members.get(0);
        data0.arm(dataBlock(0), true); // the write of column 0 on data member 0
        Future<Void> first = write(0, 0x11);
        assertThat(data0.awaitReached()).isTrue();

        write(1, 0x22).get(SECONDS, TimeUnit.SECONDS); // column 1 of the same data member and parity member
        write(16 + 5, 0x33).get(SECONDS, TimeUnit.SECONDS); // column 5 of data member 1
        assertThat(first.isDone()).isFalse();
        assertThat(locks.heldColumns(0)).as("the first write holds column 0 only").isEqualTo(locks.mask(0, 1));

        data0.open();
        first.get(SECONDS, TimeUnit.SECONDS);
        assertThat(locks.heldColumns(0)).isZero();
        assertBlock(0, 0x11);
        assertBlock(1, 0x22);
        assertBlock(16 + 5, 0x33);
        ScrubResult scrub = array.scrub(false);
        assertThat(scrub.stripesChecked()).isEqualTo(array.engine.unitCount());
        assertThat(scrub.mismatchedStripes()).as("parity of every column is the XOR of its data").isZero();
    }

    @Test
    void aWriteThatCrossesAChunkBoundaryLocksOnlyTheColumnsItTouches() {
        Raid5Engine engine = (Raid5Engine) array.engine;
        assertThat(engine.columnsOf(14, 4)).as("blocks 14, 15 of chunk 0 and 0, 1 of chunk 1")
                .isEqualTo(locks.mask(14, 16) | locks.mask(0, 2));
        assertThat(engine.columnsOf(16 + 3, 2)).isEqualTo(locks.mask(3, 5));
        assertThat(engine.columnsOf(5, 16)).as("a chunk's worth of blocks covers every column").isEqualTo(locks.all());
        assertThat(engine.columnsOf(0, 48)).as("the whole row").isEqualTo(locks.all());
    }

    @Test
    void aScrubStepWaitsForAColumnWriterOfItsRow() throws Exception {
        GatedMember data0 = members.get(0);
        data0.arm(dataBlock(0), true);
        Future<Void> writer = write(0, 0x44);
        assertThat(data0.awaitReached()).isTrue();
        assertThat(locks.tryLock(0, locks.all())).as("the whole row while column 0 is held").isFalse();

        CountDownLatch scrubWaits = waitsFor(locks.all());
        Future<ScrubResult> scrub = pool.submit(() -> array.scrub(false));
        assertThat(scrubWaits.await(SECONDS, TimeUnit.SECONDS)).as("the scrub waits for row 0").isTrue();
        assertThat(scrub.isDone()).isFalse();

        data0.open();
        writer.get(SECONDS, TimeUnit.SECONDS);
        assertThat(scrub.get(SECONDS, TimeUnit.SECONDS).mismatchedStripes()).isZero();
        assertBlock(0, 0x44);
    }

    @Test
    void aColumnWriterWaitsForAScrubStepOfItsRow() throws Exception {
        GatedMember data2 = members.get(2);
        data2.arm(dataBlock(0), false); // the scrub's read of row 0 on data member 2 (writes below never read it)
        Future<ScrubResult> scrub = pool.submit(() -> array.scrub(false));
        assertThat(data2.awaitReached()).isTrue();
        assertThat(locks.heldColumns(0)).as("the scrub holds row 0").isEqualTo(locks.all());

        CountDownLatch writerWaits = waitsFor(locks.mask(0, 1));
        members.get(0).watched = dataBlock(0);
        Future<Void> writer = write(0, 0x55);
        assertThat(writerWaits.await(SECONDS, TimeUnit.SECONDS)).as("the write waits for column 0").isTrue();
        assertThat(writer.isDone()).isFalse();
        assertThat(members.get(0).watchedWrites.get()).as("column 0 of data member 0 not written meanwhile").isZero();

        data2.open();
        assertThat(scrub.get(SECONDS, TimeUnit.SECONDS).mismatchedStripes()).isZero();
        writer.get(SECONDS, TimeUnit.SECONDS);
        assertThat(members.get(0).watchedWrites.get()).isEqualTo(1);
        assertBlock(0, 0x55);
        assertThat(array.scrub(false).mismatchedStripes()).isZero();
    }

    /**
     * Degraded rows may go through the parity journal, and a write there holds only its columns
     * too (Raid5Engine Locking 4): a write of column 1 completes while one of column 0 is held
     * inside its member write, and a second write of column 0 waits for the first. Failed when
     * degraded writes took the whole row.
     */
    @Test
    void aDegradedWriteHoldsOnlyItsColumns() throws Exception {
        array.failMember(2);
        GatedMember data0 = members.get(0);
        data0.arm(dataBlock(0), true);
        Future<Void> first = write(0, 0x66);
        assertThat(data0.awaitReached()).isTrue();
        assertThat(locks.heldColumns(0)).as("a degraded write of column 0 holds column 0").isEqualTo(locks.mask(0, 1));

        write(1, 0x77).get(SECONDS, TimeUnit.SECONDS); // column 1 of the same row, journaled too
        CountDownLatch sameColumnWaits = waitsFor(locks.mask(0, 1));
        Future<Void> sameColumn = write(16, 0x88); // column 0 of data member 1
        assertThat(sameColumnWaits.await(SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThat(sameColumn.isDone()).isFalse();
        assertThat(first.isDone()).isFalse();

        data0.open();
        first.get(SECONDS, TimeUnit.SECONDS);
        sameColumn.get(SECONDS, TimeUnit.SECONDS);
        assertBlock(0, 0x66);
        assertBlock(1, 0x77);
        assertBlock(16, 0x88);
        assertBlock(32, 0); // data member 2's column 0, reconstructed from the others
        assertBlock(33, 0);
    }

    /** A rebuild step holds its row: a write there waits until the row is rebuilt, and lands on the new member. */
    @Test
    void aWriterWaitsForTheRebuildStepOfItsRow() throws Exception {
        write(32, 0x12).get(SECONDS, TimeUnit.SECONDS); // data member 2's column 0, then rebuilt from parity
        array.failMember(2);
        GatedMember replacement = new GatedMember(Media.memory("r2", BlockGeometry.ofBytes(BLOCK, MEMBER_BYTES)));
        replacement.arm(dataBlock(0), true); // the rebuild's write of row 0 to the new member
        CompletableFuture<RebuildProgress> rebuild = array.replaceMember(2, replacement, null);
        assertThat(replacement.awaitReached()).isTrue();
        assertThat(locks.heldColumns(0)).isEqualTo(locks.all());

        CountDownLatch writerWaits = waitsFor(locks.mask(1, 2)); // its column; the rebuild step holds the row
        Future<Void> writer = write(32 + 1, 0x34);
        assertThat(writerWaits.await(SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThat(writer.isDone()).isFalse();

        replacement.open();
        writer.get(SECONDS, TimeUnit.SECONDS);
        rebuild.get(SECONDS, TimeUnit.SECONDS);
        assertBlock(32, 0x12);
        assertBlock(32 + 1, 0x34);
        assertThat(array.scrub(false).mismatchedStripes()).isZero();
        ByteBuffer onMember = ByteBuffer.allocateDirect(BLOCK);
        replacement.read(dataBlock(1), 1, onMember, 0);
        assertThat(onMember.mismatch(filled(0x34))).as("the write reached the rebuilt member").isEqualTo(-1);
    }
}
