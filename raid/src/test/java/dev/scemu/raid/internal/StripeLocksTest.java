package dev.scemu.raid.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class StripeLocksTest {

    private static final int COLUMNS = 16; // 64 KiB chunk of 4 KiB blocks

    @Test
    void whileOneRowIsLockedEveryOtherRowOfTheWindowCanBeLockedAndOnlyItsAliasWaits() throws Exception {
        StripeLocks locks = new StripeLocks(StripeLocks.DEFAULT_SIZE, COLUMNS);
        int size = locks.size();
        assertThat(size).isEqualTo(StripeLocks.DEFAULT_SIZE);
        long held = 5_000_003L; // any row: the window is the table's size of consecutive rows around it
        CountDownLatch locked = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(1);
        try {
            Future<?> holder = pool.submit(() -> {
                locks.lockRow(held);
                try {
                    locked.countDown();
                    release.await();
                } finally {
                    locks.unlockRow(held);
                }
                return null;
            });
            assertThat(locked.await(10, TimeUnit.SECONDS)).isTrue();
            // rows that hashed onto the held lock in the former 1,024-lock table included some of these
            for (long row = held - size + 1; row < held + size; row++) {
                if (row == held) {
                    continue;
                }
                assertThat(locks.tryLock(row, locks.all())).as("row %d while row %d is locked", row, held).isTrue();
                locks.unlockRow(row);
            }
            assertThat(locks.tryLock(held + size, locks.all())).isFalse(); // a row a table's size away shares it
            release.countDown();
            holder.get(10, TimeUnit.SECONDS);
        } finally {
            release.countDown();
            pool.shutdownNow();
        }
    }

    @Test
    void theTableIsAPowerOfTwoAtLeastTheSizeAsked() {
        assertThat(new StripeLocks(1000, COLUMNS).size()).isEqualTo(1024);
        assertThat(new StripeLocks(1024, COLUMNS).size()).isEqualTo(1024);
        assertThat(new StripeLocks(4096, COLUMNS).size()).isEqualTo(4096);
    }

    @Test
    void disjointColumnsOfARowAreHeldTogetherAndOverlappingOnesExcludeEachOther() {
        StripeLocks locks = new StripeLocks(64, COLUMNS);
        long row = 7;
        long first = locks.mask(0, 1);
        long second = locks.mask(5, 9);
        assertThat(locks.tryLock(row, first)).isTrue();
        assertThat(locks.tryLock(row, second)).as("columns 5..8 beside column 0").isTrue();
        assertThat(locks.heldColumns(row)).isEqualTo(first | second);
        assertThat(locks.tryLock(row, locks.mask(8, 10))).as("column 8 is held").isFalse();
        assertThat(locks.tryLock(row, locks.all())).as("the whole row while columns are held").isFalse();
        assertThat(locks.tryLock(row + 64, locks.mask(0, 1))).as("the alias row's column 0").isFalse();
        assertThat(locks.tryLock(row + 64, locks.mask(1, 2))).as("the alias row's column 1").isTrue();
        locks.unlock(row + 64, locks.mask(1, 2));
        locks.unlock(row, first);
        locks.unlock(row, second);
        assertThat(locks.heldColumns(row)).isZero();
        assertThat(locks.tryLock(row, locks.all())).isTrue();
        assertThat(locks.tryLock(row, locks.mask(15, 16))).as("any column while the row is held").isFalse();
        locks.unlockRow(row);
        assertThatThrownBy(() -> locks.unlock(row, first)).isInstanceOf(IllegalMonitorStateException.class);
    }

    @Test
    void masksCoverTheColumnsAskedAndWideChunksShareBits() {
        StripeLocks sixteen = new StripeLocks(8, 16);
        assertThat(sixteen.all()).isEqualTo(0xFFFFL);
        assertThat(sixteen.mask(0, 16)).isEqualTo(0xFFFFL);
        assertThat(sixteen.mask(3, 4)).isEqualTo(0x8L);
        assertThat(sixteen.mask(14, 16)).isEqualTo(0xC000L);
        StripeLocks wide = new StripeLocks(8, 128); // 512 KiB chunks of 4 KiB blocks: two columns per bit
        assertThat(wide.all()).isEqualTo(-1L);
        assertThat(wide.mask(0, 1)).isEqualTo(0x1L);
        assertThat(wide.mask(1, 3)).isEqualTo(0x3L);
        assertThat(wide.mask(127, 128)).isEqualTo(Long.MIN_VALUE);
        assertThat(wide.mask(0, 128)).isEqualTo(-1L);
        StripeLocks whole = new StripeLocks(8, 1);
        assertThat(whole.all()).isEqualTo(1L);
        assertThatThrownBy(() -> sixteen.mask(4, 4)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[4, 4)").hasMessageContaining("16 columns");
        assertThatThrownBy(() -> sixteen.lock(0, 0x10000L)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("10000");
    }

    /**
     * Column holders of one row overlap, so a stream of them could keep the row busy forever: once
     * a thread waits for the whole row, a new column arrival queues behind it even though its
     * column is free, and gets it after the whole-row holder.
     */
    @Test
    void aWholeRowWaiterIsNotOvertakenByNewColumnHolders() throws Exception {
        StripeLocks locks = new StripeLocks(64, COLUMNS);
        long row = 3;
        CountDownLatch rowWaits = new CountDownLatch(1);
        CountDownLatch columnWaits = new CountDownLatch(1);
        locks.observer = (r, mask) -> {
            if (r == row && mask == locks.all()) {
                rowWaits.countDown();
            } else if (r == row) {
                columnWaits.countDown();
            }
        };
        ExecutorService pool = Executors.newFixedThreadPool(2);
        CountDownLatch rowHeld = new CountDownLatch(1);
        CountDownLatch releaseRow = new CountDownLatch(1);
        try {
            locks.lock(row, locks.mask(0, 1)); // this thread holds column 0
            Future<?> whole = pool.submit(() -> {
                locks.lockRow(row);
                try {
                    rowHeld.countDown();
                    releaseRow.await();
                } finally {
                    locks.unlockRow(row);
                }
                return null;
            });
            assertThat(rowWaits.await(10, TimeUnit.SECONDS)).isTrue();
            // the observer runs when the first attempt failed, before the thread counts as a whole
            // waiter and queues: a column arrival before that takes its free column, as it should
            awaitQueued(locks, row, 1);
            Future<Boolean> column = pool.submit(() -> {
                locks.lock(row, locks.mask(1, 2)); // free, but the whole-row waiter came first
                boolean afterRow = rowHeld.getCount() == 0;
                locks.unlock(row, locks.mask(1, 2));
                return afterRow;
            });
            assertThat(columnWaits.await(10, TimeUnit.SECONDS)).as("column 1 queued behind the row").isTrue();
            assertThat(column.isDone()).isFalse();
            assertThat(locks.heldColumns(row)).isEqualTo(locks.mask(0, 1));
            locks.unlock(row, locks.mask(0, 1));
            assertThat(rowHeld.await(10, TimeUnit.SECONDS)).isTrue();
            releaseRow.countDown();
            whole.get(10, TimeUnit.SECONDS);
            assertThat(column.get(10, TimeUnit.SECONDS)).as("column 1 taken after the whole row").isTrue();
            assertThat(locks.heldColumns(row)).isZero();
            assertThat(locks.rowWaiters(row)).isZero();
        } finally {
            releaseRow.countDown();
            pool.shutdownNow();
        }
    }

    /** Spins (deadline 10 s) until {@code count} threads are queued on {@code row}'s row lock. */
    private static void awaitQueued(StripeLocks locks, long row, int count) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (locks.queued(row) < count) {
            assertThat(System.nanoTime() - deadline).as("%d thread(s) queued on row %d", count, row).isNegative();
            Thread.onSpinWait();
        }
    }
}
