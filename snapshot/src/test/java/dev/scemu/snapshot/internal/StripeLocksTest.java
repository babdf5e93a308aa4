package dev.scemu.snapshot.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scemu.core.OptimalWrite;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** The stripe locks' block masks: disjoint blocks of one stripe side by side, readers against holders. */
class StripeLocksTest {

    private static final long DEADLINE_NANOS = Duration.ofSeconds(20).toNanos();

    @Test
    void masksCoverExactlyTheRangeAcrossBothWords() {
        assertEquals(0b1110L, StripeLocks.maskLow(1, 3));
        assertEquals(0L, StripeLocks.maskHigh(1, 3));
        assertEquals(-1L, StripeLocks.maskLow(0, 64));
        assertEquals(0L, StripeLocks.maskHigh(0, 64));
        assertEquals(1L << 63, StripeLocks.maskLow(63, 2));
        assertEquals(1L, StripeLocks.maskHigh(63, 2));
        assertEquals(0L, StripeLocks.maskLow(64, 64));
        assertEquals(-1L, StripeLocks.maskHigh(64, 64));
        assertEquals(-1L, StripeLocks.maskLow(0, 128));
        assertEquals(-1L, StripeLocks.maskHigh(0, 128));
        assertEquals(0b11L << 62, StripeLocks.maskHigh(126, 2));
    }

    @Test
    void disjointBlocksOfOneStripeAreHeldSideBySide() throws Exception {
        StripeLocks locks = StripeLocks.unaligned();
        locks.lockBlocks(0, 8);
        // another thread takes blocks 8..15 of the same stripe while the first range is held
        Thread other = start(() -> {
            locks.lockBlocks(8, 8);
            locks.unlockBlocks(8, 8);
        });
        other.join(TimeUnit.NANOSECONDS.toMillis(DEADLINE_NANOS));
        assertFalse(other.isAlive(), "a holder of blocks 8..15 waited for the holder of blocks 0..7");
        locks.unlockBlocks(0, 8);
    }

    @Test
    void anOverlappingHolderWaitsUntilTheBlocksAreReleased() throws Exception {
        StripeLocks locks = StripeLocks.following(new OptimalWrite(48, 32));
        long lba = 128; // stripe 3 starts here: stripes of 48 blocks on boundaries 32 + 48k
        locks.lockBlocks(lba + 10, 5);
        assertHolderWaitsUntil(locks, lba + 14, 20, () -> locks.unlockBlocks(lba + 10, 5));
    }

    @Test
    void aReaderWaitsForAnyHolderOfItsStripeAndAHolderForReaders() throws Exception {
        StripeLocks locks = StripeLocks.unaligned();
        locks.lockBlocks(70, 1); // stripe 1, block 6
        Waiter reader = Waiter.start(() -> locks.lockShared(0, 65), () -> locks.unlockShared(0, 65)); // stripes 0 and 1
        locks.unlockBlocks(70, 1);
        reader.finish();

        locks.lockShared(64, 1);
        Waiter writer = Waiter.start(() -> locks.lockBlocks(100, 2), () -> locks.unlockBlocks(100, 2));
        // a second reader queues behind the waiting holder instead of starving it
        Waiter second = Waiter.start(() -> locks.lockShared(64, 1), () -> locks.unlockShared(64, 1));
        locks.unlockShared(64, 1);
        writer.finish();
        second.finish();
    }

    @Test
    void aWholeWindowExcludesEveryHolderOfItsStripes() throws Exception {
        StripeLocks locks = StripeLocks.unaligned();
        long window = (long) StripeLocks.LOCKS * 64;
        locks.lockExclusive(window - 64, 128); // the last stripe of one window and the first of the next: wraps
        assertHolderWaitsUntil(locks, window + 63, 1, () -> locks.unlockExclusive(window - 64, 128));
        locks.lockExclusive(0, window * 3); // every lock, once
        locks.unlockExclusive(0, window * 3);
        locks.lockBlocks(5, 1);
        locks.unlockBlocks(5, 1);
    }

    @Test
    void aWaitingHolderKeepsWaitingThroughAnInterruptAndKeepsTheFlag() throws Exception {
        StripeLocks locks = StripeLocks.unaligned();
        locks.lockBlocks(3, 1);
        AtomicBoolean flagAfter = new AtomicBoolean();
        CountDownLatch held = new CountDownLatch(1);
        Thread other = start(() -> {
            locks.lockBlocks(0, 4);
            flagAfter.set(Thread.currentThread().isInterrupted());
            held.countDown();
            locks.unlockBlocks(0, 4);
        });
        awaitWaiting(other);
        other.interrupt();
        awaitWaiting(other);
        assertEquals(1, held.getCount(), "the interrupt let the holder in");
        locks.unlockBlocks(3, 1);
        assertTrue(held.await(20, TimeUnit.SECONDS));
        assertTrue(flagAfter.get());
    }

    @Test
    void releasingWhatIsNotHeldAndRangesLeavingTheStripeAreRefused() {
        StripeLocks locks = StripeLocks.unaligned();
        assertThrows(IllegalArgumentException.class, () -> locks.lockBlocks(60, 5));
        assertThrows(IllegalArgumentException.class, () -> locks.lockBlocks(0, 0));
        assertThrows(IllegalMonitorStateException.class, () -> locks.unlockBlocks(0, 1));
        assertThrows(IllegalMonitorStateException.class, () -> locks.unlockShared(0, 1));
    }

    /** Another thread asks for blocks {@code [lba, +count)}: it must wait until {@code release} ran, then get them. */
    private static void assertHolderWaitsUntil(StripeLocks locks, long lba, int count, Runnable release) throws Exception {
        Waiter holder = Waiter.start(() -> locks.lockBlocks(lba, count), () -> locks.unlockBlocks(lba, count));
        release.run();
        holder.finish();
    }

    /** A thread that takes a lock, notes it, and gives it back; started only once it waits for the lock. */
    private record Waiter(Thread thread, AtomicBoolean entered) {
        static Waiter start(Runnable take, Runnable give) {
            AtomicBoolean entered = new AtomicBoolean();
            Thread thread = StripeLocksTest.start(() -> {
                take.run();
                entered.set(true);
                give.run();
            });
            awaitWaiting(thread);
            assertFalse(entered.get(), "the lock was granted while a conflicting holder held it");
            return new Waiter(thread, entered);
        }

        void finish() throws InterruptedException {
            thread.join(TimeUnit.NANOSECONDS.toMillis(DEADLINE_NANOS));
            assertTrue(entered.get(), "the lock was not granted once the conflicting holder left");
        }
    }

    private static Thread start(Runnable body) {
        Thread t = new Thread(body, "stripe-locks-test");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** Spins until {@code t} waits in a monitor (the lock's wait), failing after the deadline. */
    private static void awaitWaiting(Thread t) {
        long end = System.nanoTime() + DEADLINE_NANOS;
        while (t.getState() != Thread.State.WAITING) {
            assertTrue(t.isAlive(), "thread ended instead of waiting");
            assertTrue(System.nanoTime() < end, "thread did not wait");
            Thread.onSpinWait();
        }
    }
}
