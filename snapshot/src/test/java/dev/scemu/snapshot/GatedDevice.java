package dev.scemu.snapshot;

import dev.scemu.core.AbstractBlockDevice;
import dev.scemu.core.BlockDevice;
import java.nio.ByteBuffer;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A test device over another one that can hold ONE operation inside itself: the first write
 * touching {@link #gateWrite} (or the first flush, with {@link #gateFlush}) counts down
 * {@link #entered} and waits for {@link #release} (at most 60 s, then it fails the operation so a
 * broken test cannot hang). It also checks every {@code writeOver}: the old contents handed down
 * must equal what the device holds ({@link #wrongOld} counts violations), and it records writes
 * that overlap in time on one block ({@link #overlappingWrites}).
 */
final class GatedDevice extends AbstractBlockDevice {

    final BlockDevice inner;
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final AtomicInteger writeOvers = new AtomicInteger();
    final AtomicInteger wrongOld = new AtomicInteger();
    final AtomicInteger overlappingWrites = new AtomicInteger();
    private final AtomicBoolean armed = new AtomicBoolean();
    private static final long ANY = -2;
    private volatile long gateWrite = -1;
    private volatile boolean gateFlush;
    /** lba + 1 of the write held in the gate (0 = none). */
    private final AtomicLong heldLba = new AtomicLong();

    GatedDevice(BlockDevice inner) {
        super("gated(" + inner.name() + ")", inner.geometry());
        this.inner = inner;
    }

    /** Holds the next write that touches {@code lba}. */
    GatedDevice gateWriteAt(long lba) {
        gateWrite = lba;
        armed.set(true);
        return this;
    }

    /** Holds the next write, wherever it lands. */
    GatedDevice gateNextWrite() {
        gateWrite = ANY;
        armed.set(true);
        return this;
    }

    /** Holds the next flush. */
    GatedDevice gateNextFlush() {
        gateFlush = true;
        armed.set(true);
        return this;
    }

    private void maybeHold(long lba, int blockCount) {
        long held = heldLba.get();
        if (held != 0 && held - 1 >= lba && held - 1 < lba + blockCount) {
            overlappingWrites.incrementAndGet();
        }
        long gate = gateWrite;
        boolean matches = gate == ANY || (gate >= lba && gate < lba + blockCount);
        if (matches && armed.compareAndSet(true, false)) {
            heldLba.set((gate == ANY ? lba : gate) + 1);
            try {
                hold();
            } finally {
                heldLba.set(0);
            }
        }
    }

    private void hold() {
        entered.countDown();
        try {
            if (!release.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("gate of " + name() + " was never released");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        inner.read(lba, blockCount, buffer, bufferOffset);
    }

    @Override
    protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        maybeHold(lba, blockCount);
        inner.write(lba, blockCount, buffer, bufferOffset, fua);
    }

    @Override
    protected void doWriteOver(long lba, int blockCount, ByteBuffer buffer, int bufferOffset,
                               ByteBuffer oldBuffer, int oldOffset, boolean fua) {
        writeOvers.incrementAndGet();
        int length = blockCount * blockSize();
        ByteBuffer current = ByteBuffer.allocateDirect(length);
        inner.read(lba, blockCount, current, 0);
        if (current.mismatch(oldBuffer.duplicate().limit(oldOffset + length).position(oldOffset)) >= 0) {
            wrongOld.incrementAndGet();
        }
        maybeHold(lba, blockCount);
        inner.write(lba, blockCount, buffer, bufferOffset, fua);
    }

    @Override
    protected void doFlush() {
        if (gateFlush && armed.compareAndSet(true, false)) {
            gateFlush = false;
            hold();
        }
        inner.flush();
    }

    @Override
    protected void doTrim(long lba, long blockCount) {
        inner.trim(lba, blockCount);
    }

    @Override
    protected void doClose() {
        // the test owns the inner device
    }
}
