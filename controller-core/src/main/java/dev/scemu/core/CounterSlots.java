package dev.scemu.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Per-thread rows of counters for {@link IoMeter}: every counting thread owns one slot number,
 * the same in every meter, and writes only its own row of each meter, with opaque stores and no
 * atomic instruction.
 *
 * <h2>Slots</h2>
 * A thread claims a slot at its first count: the lowest whose owner is absent or has ended
 * ({@link Thread#isAlive()} false: everything the ended owner wrote happens-before that answer,
 * so the new owner goes on from the row's exact values). At most {@value #SLOTS} threads own a
 * slot at a time; a thread that finds none counts into the meter's shared row with
 * {@code getAndAdd} for the rest of its life, which is slower but exact.
 *
 * <h2>Rows</h2>
 * A meter's row for a slot is allocated by the slot's first owner and published with a release
 * store; it is padded by {@value #PAD} longs on each side so that two threads' rows never share a
 * cache line. Readers ({@link Rows#sum}) load each element with an opaque read: never torn,
 * possibly older than the owner's latest store.
 */
final class CounterSlots {

    static final int SLOTS = 256;
    /** Longs before and after a row's counters: a cache line of 64 bytes on each side. */
    private static final int PAD = 8;
    private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final int NONE = -1;

    /** Owners of the slots (guarded by the class monitor; only claims read or write it). */
    private static final Thread[] OWNERS = new Thread[SLOTS];
    private static final ThreadLocal<int[]> SLOT = ThreadLocal.withInitial(() -> new int[] {claim()});

    private CounterSlots() {
    }

    private static synchronized int claim() {
        Thread me = Thread.currentThread();
        for (int i = 0; i < SLOTS; i++) {
            Thread owner = OWNERS[i];
            if (owner == null || !owner.isAlive()) {
                OWNERS[i] = me;
                return i;
            }
        }
        return NONE;
    }

    /** The calling thread's slot, or -1 if it counts into the shared row. */
    static int slotOfCurrentThread() {
        return SLOT.get()[0];
    }

    /** The counters of one meter: {@code width} longs per slot, plus a shared row. */
    static final class Rows {
        private final int width;
        private final AtomicReferenceArray<long[]> rows = new AtomicReferenceArray<>(SLOTS);
        private final AtomicLongArray shared;

        Rows(int width) {
            this.width = width;
            this.shared = new AtomicLongArray(width);
        }

        /** Adds one operation at {@code index} and {@code bytes} at {@code index + 1}. */
        void add(int index, long bytes) {
            int slot = slotOfCurrentThread();
            if (slot == NONE) {
                shared.getAndIncrement(index);
                shared.getAndAdd(index + 1, bytes);
                return;
            }
            long[] row = rows.getPlain(slot); // written only by this slot's owners: a plain read sees its own store
            if (row == null) {
                row = new long[PAD + width + PAD];
                rows.setRelease(slot, row);
            }
            int at = PAD + index;
            LONGS.setOpaque(row, at, (long) LONGS.getOpaque(row, at) + 1);
            LONGS.setOpaque(row, at + 1, (long) LONGS.getOpaque(row, at + 1) + bytes);
        }

        /** The sum of every row and the shared row, element by element. */
        long[] sum() {
            long[] sums = new long[width];
            for (int i = 0; i < width; i++) {
                sums[i] = shared.get(i);
            }
            for (int slot = 0; slot < SLOTS; slot++) {
                long[] row = rows.getAcquire(slot);
                if (row == null) {
                    continue;
                }
                for (int i = 0; i < width; i++) {
                    sums[i] += (long) LONGS.getOpaque(row, PAD + i);
                }
            }
            return sums;
        }
    }
}
