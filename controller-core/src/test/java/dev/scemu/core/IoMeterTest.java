package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** The meter's per-thread rows add up exactly: many threads, more than there are slots, reset. */
class IoMeterTest {

    @Test
    void countsOfOneThreadAreExactPerCounterAndCause() {
        IoMeter meter = new IoMeter("m");
        meter.receivedRead(4096);
        meter.receivedWrite(8192);
        meter.receivedWrite(4096);
        meter.skippedWrite(4096);
        meter.issuedRead(IoCause.PARITY, 512);
        meter.issuedWrite(IoCause.HOST, 4096);
        meter.issuedWrite(IoCause.COW_COPY, 4096);
        meter.issuedWrite(IoCause.COW_COPY, 4096);
        IoMeter.Snapshot s = meter.snapshot();
        assertThat(s.name()).isEqualTo("m");
        assertThat(s.receivedRead()).isEqualTo(new IoMeter.Totals(1, 4096));
        assertThat(s.receivedWrite()).isEqualTo(new IoMeter.Totals(2, 12288));
        assertThat(s.skippedWrite()).isEqualTo(new IoMeter.Totals(1, 4096));
        assertThat(s.issuedRead(IoCause.PARITY)).isEqualTo(new IoMeter.Totals(1, 512));
        assertThat(s.issuedRead(IoCause.HOST)).isEqualTo(IoMeter.Totals.ZERO);
        assertThat(s.issuedWrite(IoCause.HOST)).isEqualTo(new IoMeter.Totals(1, 4096));
        assertThat(s.issuedWrite(IoCause.COW_COPY)).isEqualTo(new IoMeter.Totals(2, 8192));
        assertThat(s.issuedWriteTotal()).isEqualTo(new IoMeter.Totals(3, 12288));
        assertThat(s.writeAmplification()).isEqualTo(1.0);
    }

    /**
     * Three waves of threads, each wave more threads than there are slots, all counting at once
     * (so some count into the shared row); later waves take over the slots of ended threads. The
     * totals after each wave is joined are exact.
     */
    @Test
    void threadsBeyondTheSlotsAndThreadsReusingSlotsCountExactly() throws Exception {
        IoMeter meter = new IoMeter("m");
        int threads = CounterSlots.SLOTS + 40;
        int perThread = 1_000;
        long expectedOps = 0;
        for (int wave = 0; wave < 3; wave++) {
            CountDownLatch allStarted = new CountDownLatch(threads);
            List<Thread> started = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int bytes = t + 1;
                Thread thread = new Thread(() -> {
                    meter.issuedWrite(IoCause.HOST, bytes); // claims a slot (or not) while all others are alive
                    allStarted.countDown();
                    try {
                        allStarted.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    for (int i = 1; i < perThread; i++) {
                        meter.issuedWrite(IoCause.HOST, bytes);
                        meter.receivedWrite(1);
                    }
                });
                thread.start();
                started.add(thread);
            }
            for (Thread thread : started) {
                thread.join();
            }
            expectedOps += (long) threads * perThread;
            long expectedBytes = (wave + 1L) * perThread * ((long) threads * (threads + 1) / 2);
            IoMeter.Snapshot s = meter.snapshot();
            assertThat(s.issuedWrite(IoCause.HOST)).isEqualTo(new IoMeter.Totals(expectedOps, expectedBytes));
            assertThat(s.receivedWrite()).isEqualTo(
                    new IoMeter.Totals(expectedOps - (wave + 1L) * threads, expectedOps - (wave + 1L) * threads));
        }
    }

    @Test
    void resetCountsFromZeroWithoutTouchingAnotherThreadsRow() throws Exception {
        IoMeter meter = new IoMeter("m");
        Thread other = new Thread(() -> meter.receivedRead(100));
        other.start();
        other.join();
        meter.receivedRead(10);
        meter.reset();
        assertThat(meter.snapshot().receivedRead()).isEqualTo(IoMeter.Totals.ZERO);
        meter.receivedRead(7);
        Thread again = new Thread(() -> meter.receivedRead(5));
        again.start();
        again.join();
        assertThat(meter.snapshot().receivedRead()).isEqualTo(new IoMeter.Totals(2, 12));
        assertThat(meter.snapshot().writeAmplification()).isNaN();
    }
}
