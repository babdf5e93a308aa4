package dev.scemu.backup.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * {@link Workers#close()} on an interrupted thread (a restore check the CLI gives up on) frees a
 * worker's codec only once the worker has ended: the codec's OpenSSL contexts were freed under a
 * worker still hashing with them, and the JVM died with SIGSEGV in {@code EVP_DigestFinal_ex}
 * (a CI run of {@code KeyAheadAndCheckedImageTest.anInterruptedCheckStopsAndClosesWhatItOpened}).
 */
class WorkersTest {

    @Test
    void anInterruptedCloseFreesTheCodecOnlyAfterTheRunningWorkerEnded() throws Exception {
        List<ChunkCodec> made = new ArrayList<>();
        Workers<Boolean> workers = new Workers<>("test", 1, 4096, () -> {
            ChunkCodec codec = new ChunkCodec(4096, 3, null, "img", new byte[4]);
            synchronized (made) {
                made.add(codec);
            }
            return codec;
        });
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ChunkSlot slot = workers.freeSlot();
        // a worker inside a chunk: like a native call, it does not stop when interrupted
        workers.submit(slot, codec -> s -> {
            running.countDown();
            awaitUninterruptibly(release);
            return codec.isClosed();
        });
        assertThat(running.await(30, TimeUnit.SECONDS)).isTrue();
        ExecutorService closer = Executors.newSingleThreadExecutor();
        AtomicReference<Thread> closing = new AtomicReference<>();
        try {
            Future<Boolean> closed = closer.submit(() -> {
                closing.set(Thread.currentThread());
                Thread.currentThread().interrupt(); // the caller gave up
                workers.close();
                return Thread.interrupted(); // the interrupt is kept for the caller
            });
            // until close returned or waits for the worker (then the worker may end)
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!closed.isDone() && (closing.get() == null || closing.get().getState() != Thread.State.TIMED_WAITING)
                    && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            synchronized (made) {
                assertThat(made).hasSize(1);
                assertThat(made.get(0).isClosed()).as("codec freed while its worker still runs").isFalse();
            }
            release.countDown();
            assertThat(closed.get(30, TimeUnit.SECONDS)).as("interrupt restored").isTrue();
            assertThat(made.get(0).isClosed()).as("codec freed once the worker ended").isTrue();
        } finally {
            release.countDown();
            closer.shutdownNow();
        }
    }

    private static void awaitUninterruptibly(CountDownLatch latch) {
        boolean interrupted = false;
        while (true) {
            try {
                latch.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
