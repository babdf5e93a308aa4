package dev.scemu.core;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Counters of one layer: the I/O it <em>received</em> from above (logical) and the I/O it
 * <em>issued</em> to the devices or medium below (physical), split by {@link IoCause}, plus the
 * writes it received but did not need to issue (skipped, for example identical data).
 *
 * <p>Write amplification of the layer is physical bytes written ÷ logical bytes received, read
 * from the counters, never estimated. Through a stack, the end-to-end figure is the bottom
 * layers' issued bytes ÷ the top layer's received bytes. Counters are {@link LongAdder}s: no lock
 * per I/O.
 */
public final class IoMeter {

    private final String name;
    private final Counter receivedRead = new Counter();
    private final Counter receivedWrite = new Counter();
    private final Counter skippedWrite = new Counter();
    private final Counter[] issuedRead = newCounters();
    private final Counter[] issuedWrite = newCounters();

    public IoMeter(String name) {
        this.name = name;
    }

    public String name() {
        return name;
    }

    private static Counter[] newCounters() {
        Counter[] counters = new Counter[IoCause.values().length];
        for (int i = 0; i < counters.length; i++) {
            counters[i] = new Counter();
        }
        return counters;
    }

    /** A read of {@code bytes} bytes received from the layer above. */
    public void receivedRead(long bytes) {
        receivedRead.add(bytes);
    }

    /** A write of {@code bytes} bytes received from the layer above. */
    public void receivedWrite(long bytes) {
        receivedWrite.add(bytes);
    }

    /** Received write bytes that needed no physical write (identical data). */
    public void skippedWrite(long bytes) {
        skippedWrite.add(bytes);
    }

    /** A read of {@code bytes} bytes issued below, for {@code cause}. */
    public void issuedRead(IoCause cause, long bytes) {
        issuedRead[cause.ordinal()].add(bytes);
    }

    /** A write of {@code bytes} bytes issued below, for {@code cause}. */
    public void issuedWrite(IoCause cause, long bytes) {
        issuedWrite[cause.ordinal()].add(bytes);
    }

    /** A consistent-enough copy of every counter (each counter is read once). */
    public Snapshot snapshot() {
        Map<IoCause, Totals> reads = new EnumMap<>(IoCause.class);
        Map<IoCause, Totals> writes = new EnumMap<>(IoCause.class);
        for (IoCause cause : IoCause.values()) {
            reads.put(cause, issuedRead[cause.ordinal()].totals());
            writes.put(cause, issuedWrite[cause.ordinal()].totals());
        }
        return new Snapshot(name, receivedRead.totals(), receivedWrite.totals(), skippedWrite.totals(),
                Map.copyOf(reads), Map.copyOf(writes));
    }

    /** Sets every counter to zero (for example between benchmark phases). */
    public void reset() {
        receivedRead.reset();
        receivedWrite.reset();
        skippedWrite.reset();
        for (int i = 0; i < issuedRead.length; i++) {
            issuedRead[i].reset();
            issuedWrite[i].reset();
        }
    }

    /** Operation and byte totals of one counter. */
    public record Totals(long operations, long bytes) {
        public static final Totals ZERO = new Totals(0, 0);

        public Totals plus(Totals other) {
            return new Totals(operations + other.operations, bytes + other.bytes);
        }
    }

    /** Immutable copy of a meter's counters. */
    public record Snapshot(String name, Totals receivedRead, Totals receivedWrite, Totals skippedWrite,
                           Map<IoCause, Totals> issuedRead, Map<IoCause, Totals> issuedWrite) {

        public Totals issuedReadTotal() {
            return issuedRead.values().stream().reduce(Totals.ZERO, Totals::plus);
        }

        public Totals issuedWriteTotal() {
            return issuedWrite.values().stream().reduce(Totals.ZERO, Totals::plus);
        }

        public Totals issuedWrite(IoCause cause) {
            return issuedWrite.getOrDefault(cause, Totals.ZERO);
        }

        public Totals issuedRead(IoCause cause) {
            return issuedRead.getOrDefault(cause, Totals.ZERO);
        }

        /** Physical bytes written ÷ logical bytes received; NaN before the first write. */
        public double writeAmplification() {
            return receivedWrite.bytes() == 0 ? Double.NaN
                    : (double) issuedWriteTotal().bytes() / receivedWrite.bytes();
        }
    }

    private static final class Counter {
        private final LongAdder operations = new LongAdder();
        private final LongAdder bytes = new LongAdder();

        void add(long byteCount) {
            operations.increment();
            bytes.add(byteCount);
        }

        Totals totals() {
            return new Totals(operations.sum(), bytes.sum());
        }

        void reset() {
            operations.reset();
            bytes.reset();
        }
    }
}
