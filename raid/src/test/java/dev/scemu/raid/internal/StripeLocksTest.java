package dev.scemu.raid.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;

class StripeLocksTest {

    @Test
    void whileOneRowIsLockedEveryOtherRowOfTheWindowCanBeLockedAndOnlyItsAliasWaits() throws Exception {
        StripeLocks locks = new StripeLocks(StripeLocks.DEFAULT_SIZE);
        int size = locks.size();
        assertThat(size).isEqualTo(StripeLocks.DEFAULT_SIZE);
        long held = 5_000_003L; // any row: the window is the table's size of consecutive rows around it
        CountDownLatch locked = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(1);
        try {
            Future<?> holder = pool.submit(() -> {
                ReentrantLock lock = locks.lock(held);
                try {
                    locked.countDown();
                    release.await();
                } finally {
                    lock.unlock();
                }
                return null;
            });
            assertThat(locked.await(10, TimeUnit.SECONDS)).isTrue();
            // rows that hashed onto the held lock in the former 1,024-lock table included some of these
            for (long row = held - size + 1; row < held + size; row++) {
                if (row == held) {
                    continue;
                }
                ReentrantLock lock = locks.lockOf(row);
                assertThat(lock.tryLock()).as("row %d while row %d is locked", row, held).isTrue();
                lock.unlock();
            }
            assertThat(locks.lockOf(held + size).tryLock()).isFalse(); // a row a table's size away shares it
            release.countDown();
            holder.get(10, TimeUnit.SECONDS);
        } finally {
            release.countDown();
            pool.shutdownNow();
        }
    }

    @Test
    void theTableIsAPowerOfTwoAtLeastTheSizeAsked() {
        assertThat(new StripeLocks(1000).size()).isEqualTo(1024);
        assertThat(new StripeLocks(1024).size()).isEqualTo(1024);
        assertThat(new StripeLocks(4096).size()).isEqualTo(4096);
    }
}
