package dev.scemu.backup.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A small ordered pipeline: the coordinating thread submits chunk jobs to {@code threads}
 * workers, at most {@code depth} in flight (bounded memory: one {@link ChunkSlot} each), and takes
 * results back in submission order. Each worker thread has its own {@link ChunkCodec}.
 * Idempotent close: stops the workers, waits for them to end (also when interrupted), then frees
 * the codecs (native contexts) and the slots' direct buffers.
 *
 * @param <R> job result
 */
final class Workers<R> implements AutoCloseable {

    private static final AtomicInteger POOL_NUMBER = new AtomicInteger();

    private final ExecutorService executor;
    private final ThreadLocal<ChunkCodec> codec;
    private final List<ChunkCodec> codecs = new ArrayList<>();
    private final ArrayDeque<Future<R>> inFlight = new ArrayDeque<>();
    private final ArrayDeque<ChunkSlot> freeSlots = new ArrayDeque<>();
    private final List<ChunkSlot> allSlots = new ArrayList<>();
    private final int chunkSizeBytes;
    private final int maxSlots;
    private int slots;
    private boolean closed;

    Workers(String name, int threads, int chunkSizeBytes, Supplier<ChunkCodec> codecFactory) {
        int pool = POOL_NUMBER.incrementAndGet();
        AtomicInteger threadNumber = new AtomicInteger();
        this.executor = Executors.newFixedThreadPool(threads, runnable -> {
            Thread t = new Thread(runnable, "scemu-" + name + "-" + pool + "-" + threadNumber.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.codec = ThreadLocal.withInitial(() -> {
            ChunkCodec c = codecFactory.get();
            synchronized (codecs) {
                codecs.add(c);
            }
            return c;
        });
        this.chunkSizeBytes = chunkSizeBytes;
        this.maxSlots = threads + 2;
    }

    /**
     * A free slot, or null when every slot is in flight (take a result first). Slots are allocated
     * on first need (at most {@code threads + 2}): an image of two chunks allocates two.
     */
    ChunkSlot freeSlot() {
        ChunkSlot slot = freeSlots.poll();
        if (slot == null && slots < maxSlots) {
            slots++;
            slot = new ChunkSlot(chunkSizeBytes);
            allSlots.add(slot);
        }
        return slot;
    }

    void release(ChunkSlot slot) {
        freeSlots.add(slot);
    }

    void submit(ChunkSlot slot, Function<ChunkCodec, Function<ChunkSlot, R>> job) {
        Callable<R> task = () -> job.apply(codec.get()).apply(slot);
        inFlight.add(executor.submit(task));
    }

    boolean hasInFlight() {
        return !inFlight.isEmpty();
    }

    /** The oldest job's result; rethrows its failure. */
    R next() {
        return Results.await(inFlight.poll(), "waiting for a chunk");
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Future<R> f : inFlight) {
            f.cancel(false);
        }
        inFlight.clear();
        executor.shutdown();
        if (awaitWorkers()) { // no worker can touch them any more
            allSlots.forEach(ChunkSlot::free);
            synchronized (codecs) {
                codecs.forEach(ChunkCodec::close);
            }
        } // else a worker may still be inside native code with its codec and slot: they are left (the GC frees the
          // codecs; the slots' mapped buffers stay mapped until the JVM exits: a leak, not a crash)
        allSlots.clear();
        synchronized (codecs) {
            codecs.clear();
        }
        freeSlots.clear();
    }

    /**
     * Waits (up to a minute) until every worker has ended, also when the calling thread is
     * interrupted: an interrupt only interrupts the workers too (their running chunk ends at its
     * next blocking call or native return) and is restored afterwards. The codecs hold native
     * OpenSSL contexts and the slots direct memory that a running worker uses, so they may be
     * freed only once it ended: freeing them under a worker still in {@code EVP_DigestFinal_ex}
     * crashed the JVM (SIGSEGV in libcrypto) when an interrupted restore check closed its workers.
     */
    private boolean awaitWorkers() {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(1);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    boolean ended = executor.awaitTermination(Math.max(0, deadline - System.nanoTime()),
                            TimeUnit.NANOSECONDS);
                    if (!ended) {
                        executor.shutdownNow();
                    }
                    return ended;
                } catch (InterruptedException e) {
                    interrupted = true;
                    executor.shutdownNow();
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
