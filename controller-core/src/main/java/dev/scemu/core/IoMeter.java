package dev.scemu.core;

import java.util.EnumMap;
import java.util.Map;

/**
 * Counters of one layer: the I/O it <em>received</em> from above (logical) and the I/O it
 * <em>issued</em> to the devices or medium below (physical), split by {@link IoCause}, plus the
 * writes it received but did not need to issue (skipped, for example identical data).
 *
 * <p>Write amplification of the layer is physical bytes written ÷ logical bytes received, read
 * from the counters, never estimated. Through a stack, the end-to-end figure is the bottom
 * layers' issued bytes ÷ the top layer's received bytes.
 *
 * <h2>Counting without an atomic instruction</h2>
 * A host write passes a dozen meters on its way down (the volume, the array, each member's
 * fault-injecting device and medium, received and issued), two counters each. As
 * {@link java.util.concurrent.atomic.LongAdder}s that was ~25 locked read-modify-writes per host
 * write, 21–26 % of the CPU samples of four in-process RAID-5 writers (docs/benchmarks.md,
 * eleventh and twelfth sessions). Now each thread that counts owns a <em>slot</em> of every meter
 * ({@link CounterSlots}: at most {@value CounterSlots#SLOTS} live threads at a time, a slot freed
 * when its thread has ended), a row of plain {@code long}s only that thread writes, with opaque
 * accesses (never torn, no fence). A snapshot sums the rows; it sees each row's latest values
 * or slightly older ones, never a value that was not written (a thread's counts are exact once
 * it is joined, or once the I/O that counted returned to the reader's thread through any
 * synchronisation). A thread beyond the slots counts into a shared row with
 * {@code getAndAdd}. {@link #reset()} keeps the sums it saw as a baseline that later snapshots
 * subtract, so no thread's row is ever written by another.
 */
public final class IoMeter {

    private static final int CAUSES = IoCause.values().length;
    private static final int RECEIVED_READ = 0;
    private static final int RECEIVED_WRITE = 1;
    private static final int SKIPPED_WRITE = 2;
    private static final int ISSUED_READ = 3;
    private static final int ISSUED_WRITE = ISSUED_READ + CAUSES;
    /** Counters of a meter; each is two longs of a row: operations at {@code 2 * c}, bytes at {@code 2 * c + 1}. */
    static final int COUNTERS = ISSUED_WRITE + CAUSES;

    private final String name;
    private final CounterSlots.Rows rows = new CounterSlots.Rows(2 * COUNTERS);
    /** What {@link #reset} saw; subtracted by {@link #snapshot} (guarded by this meter's monitor). */
    private long[] baseline = new long[2 * COUNTERS];

    public IoMeter(String name) {
        this.name = name;
    }

    public String name() {
        return name;
    }

    /** A read of {@code bytes} bytes received from the layer above. */
    public void receivedRead(long bytes) {
        rows.add(2 * RECEIVED_READ, bytes);
    }

    /** A write of {@code bytes} bytes received from the layer above. */
    public void receivedWrite(long bytes) {
        rows.add(2 * RECEIVED_WRITE, bytes);
    }

    /** Received write bytes that needed no physical write (identical data). */
    public void skippedWrite(long bytes) {
        rows.add(2 * SKIPPED_WRITE, bytes);
    }

    /** A read of {@code bytes} bytes issued below, for {@code cause}. */
    public void issuedRead(IoCause cause, long bytes) {
        rows.add(2 * (ISSUED_READ + cause.ordinal()), bytes);
    }

    /** A write of {@code bytes} bytes issued below, for {@code cause}. */
    public void issuedWrite(IoCause cause, long bytes) {
        rows.add(2 * (ISSUED_WRITE + cause.ordinal()), bytes);
    }

    /** A consistent-enough copy of every counter (each counter is read once). */
    public Snapshot snapshot() {
        long[] sums = rows.sum();
        synchronized (this) {
            for (int i = 0; i < sums.length; i++) {
                sums[i] -= baseline[i];
            }
        }
        Map<IoCause, Totals> reads = new EnumMap<>(IoCause.class);
        Map<IoCause, Totals> writes = new EnumMap<>(IoCause.class);
        for (IoCause cause : IoCause.values()) {
            reads.put(cause, totals(sums, ISSUED_READ + cause.ordinal()));
            writes.put(cause, totals(sums, ISSUED_WRITE + cause.ordinal()));
        }
        return new Snapshot(name, totals(sums, RECEIVED_READ), totals(sums, RECEIVED_WRITE),
                totals(sums, SKIPPED_WRITE), Map.copyOf(reads), Map.copyOf(writes));
    }

    private static Totals totals(long[] sums, int counter) {
        return new Totals(sums[2 * counter], sums[2 * counter + 1]);
    }

    /** Sets every counter to zero (for example between benchmark phases): later snapshots count from here. */
    public void reset() {
        long[] sums = rows.sum();
        synchronized (this) {
            baseline = sums;
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
}
