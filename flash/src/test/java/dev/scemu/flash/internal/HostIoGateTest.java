package dev.scemu.flash.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.flash.HostIoGate;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class HostIoGateTest {

    private final ExecutorService threads = Executors.newCachedThreadPool();

    @AfterEach
    void stopThreads() {
        threads.shutdownNow();
    }

    /** Waits (without sleeping) until {@code thread} is parked, i.e. held by the gate. */
    private static void awaitParked(Thread thread) {
        while (thread.getState() != Thread.State.WAITING && thread.getState() != Thread.State.TIMED_WAITING) {
            assertThat(thread.isAlive()).as("thread still running").isTrue();
            Thread.onSpinWait();
        }
    }

    @Test
    void aSlowInFlightRequestDoesNotHoldNewRequestsDuringASwitch() throws Exception {
        HostIoGateImpl gate = new HostIoGateImpl();
        HostIoGate.Permit slow = gate.enter(); // e.g. a write whose COW batch is syncing a mapped chunk
        CountDownLatch activated = new CountDownLatch(1);
        Future<HostIoGateImpl.Pause> update = threads.submit(() -> gate.switchAndRun(activated::countDown));
        assertThat(activated.await(30, TimeUnit.SECONDS)).isTrue();

        // a new request is admitted and completes while the slow one is still in flight
        CompletableFuture<Void> fresh = CompletableFuture.runAsync(() -> {
            try (HostIoGate.Permit permit = gate.enter()) {
                assertThat(permit).isNotSameAs(slow);
            }
        }, threads);
        fresh.get(30, TimeUnit.SECONDS);
        assertThat(gate.isPaused()).isFalse();
        assertThat(update).as("the switch waits for the old image's request").isNotDone();
        assertThat(gate.pauseCount()).isEqualTo(1);
        long pauseBeforeRelease = gate.lastPauseNanos();

        slow.close();
        HostIoGateImpl.Pause pause = update.get(30, TimeUnit.SECONDS);
        assertThat(pause.drainHeldHostIo()).isFalse();
        assertThat(pause.pauseNanos()).isEqualTo(pauseBeforeRelease);
        assertThat(pause.drainNanos()).isPositive();
        assertThat(gate.maxPauseNanos()).isEqualTo(pause.pauseNanos());
    }

    @Test
    void requestsArrivingDuringThePauseWaitForTheActionThenProceed() throws Exception {
        HostIoGateImpl gate = new HostIoGateImpl();
        AtomicBoolean actionDone = new AtomicBoolean();
        AtomicBoolean admittedAfterAction = new AtomicBoolean();
        AtomicReference<Thread> waiter = new AtomicReference<>();
        gate.switchAndRun(() -> {
            assertThat(gate.isPaused()).isTrue();
            Thread thread = new Thread(() -> {
                try (HostIoGate.Permit permit = gate.enter()) {
                    admittedAfterAction.set(actionDone.get());
                }
            });
            waiter.set(thread);
            thread.start();
            awaitParked(thread);
            actionDone.set(true);
        });
        waiter.get().join(Duration.ofSeconds(30).toMillis());
        assertThat(waiter.get().isAlive()).isFalse();
        assertThat(admittedAfterAction).isTrue();
        assertThat(gate.isPaused()).isFalse();
    }

    @Test
    void quiesceRunsTheActionOnlyAfterInFlightRequestsFinished() throws Exception {
        HostIoGateImpl gate = new HostIoGateImpl();
        HostIoGate.Permit inFlight = gate.enter();
        AtomicBoolean released = new AtomicBoolean();
        AtomicBoolean actionSawRelease = new AtomicBoolean();
        Thread quiescer = new Thread(() -> gate.quiesceAndRun(() -> actionSawRelease.set(released.get())));
        quiescer.start();
        awaitParked(quiescer); // waiting for the drain
        assertThat(gate.isPaused()).isTrue();
        Thread newcomer = new Thread(() -> gate.enter().close());
        newcomer.start();
        awaitParked(newcomer); // held by the pause
        released.set(true);
        inFlight.close();
        quiescer.join();
        newcomer.join();
        assertThat(actionSawRelease).isTrue();
        assertThat(gate.pauseCount()).isEqualTo(1);
    }

    @Test
    void noRequestOfTheOldImageIsInFlightWhenASwitchReturns() throws Exception {
        HostIoGateImpl gate = new HostIoGateImpl();
        int switches = 300;
        AtomicInteger generation = new AtomicInteger();
        AtomicLongArray inFlightByGeneration = new AtomicLongArray(switches + 1);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLongArray requests = new AtomicLongArray(3);
        Future<?>[] hosts = new Future<?>[3];
        CountDownLatch everyHostRunning = new CountDownLatch(hosts.length);
        for (int t = 0; t < hosts.length; t++) {
            int index = t;
            hosts[t] = threads.submit(() -> {
                while (!stop.get()) {
                    try (HostIoGate.Permit permit = gate.enter()) {
                        int seen = generation.get();
                        inFlightByGeneration.incrementAndGet(seen);
                        Thread.onSpinWait();
                        inFlightByGeneration.decrementAndGet(seen);
                    }
                    if (requests.incrementAndGet(index) == 1) {
                        everyHostRunning.countDown();
                    }
                }
            });
        }
        assertThat(everyHostRunning.await(30, TimeUnit.SECONDS)).as("every host thread issues requests").isTrue();
        for (int s = 0; s < switches; s++) {
            int before = generation.get();
            HostIoGateImpl.Pause pause = (s % 10 == 9)
                    ? gate.quiesceAndRun(generation::incrementAndGet)
                    : gate.switchAndRun(generation::incrementAndGet);
            assertThat(inFlightByGeneration.get(before)).as("requests of generation %d after switch %d", before, s)
                    .isZero();
            assertThat(pause.pauseNanos()).isPositive();
        }
        stop.set(true);
        for (Future<?> host : hosts) {
            host.get(30, TimeUnit.SECONDS);
        }
        assertThat(gate.pauseCount()).isEqualTo(switches);
        assertThat(gate.inFlight()).isZero();
        for (int t = 0; t < hosts.length; t++) {
            assertThat(requests.get(t)).isPositive();
        }
    }
}
