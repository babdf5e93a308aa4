package dev.scemu.backup.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.FutureTask;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.IntSupplier;

/**
 * The keys of the images of one chain ({@link ImageKeys#open}: one Argon2id derivation per
 * encrypted image, each with its own salt), derived concurrently on threads made for the chain.
 *
 * <h2>Concurrency</h2>
 * {@link #start} starts {@code min(available processors, encrypted images, memory bound)} daemon
 * threads named {@code scemu-image-key-N}; they take the derivations in chain order (top image
 * first), so the key the caller needs first is started first. The memory bound keeps the sum of
 * the Argon2id memory of the derivations running at once under {@link #MEMORY_BUDGET_KIB}: the KDF
 * parameters come from headers not authenticated yet, and a forged chain asking for 4 GiB per image
 * is then derived one image at a time, as before. When that makes fewer than two threads (one
 * encrypted image, no password, an unencrypted chain, one processor), no thread is started and
 * {@link #keys} derives on the calling thread, exactly as {@link OpenedImage#open} does.
 *
 * <h2>Errors and order</h2>
 * {@link #keys}{@code (i)} waits for image {@code i}'s derivation and throws what
 * {@link ImageKeys#open} threw for it ({@code PASSWORD_REQUIRED}, {@code CORRUPT_IMAGE} for bad KDF
 * parameters, {@code WRONG_PASSWORD}), so a caller asking in chain order sees the failures in the
 * order the sequential open did, whichever derivation ended first. Interrupted while waiting, it
 * throws {@code INTERRUPTED} with the interrupt status kept (as {@link Workers} does).
 *
 * <h2>Close</h2>
 * {@link #close} (idempotent; call it in every path) cancels the derivations not started, interrupts
 * the running ones (Argon2id does not notice: it runs to its end) and joins every thread, also when
 * the calling thread is interrupted (the interrupt status is restored after). The password belongs
 * to the caller, who may wipe it once the open returns: no derivation may still read it then.
 */
final class ChainKeys implements AutoCloseable {

    /** Name prefix of the derivation threads. */
    static final String THREAD_NAME_PREFIX = "scemu-image-key-";

    /** The Argon2id memory (sum over the derivations running at once) above which fewer threads run: 256 MiB. */
    static final long MEMORY_BUDGET_KIB = 256 * 1024;

    private static final AtomicInteger THREAD_NUMBER = new AtomicInteger();

    /** Test hook: runs on a derivation thread before each derivation, with the image id. */
    static volatile Consumer<String> beforeDerivation = imageId -> { };

    /** Test hook: the processor count the thread count is bounded by. */
    static volatile IntSupplier processors = () -> Runtime.getRuntime().availableProcessors();

    private final List<ImageHeader> headers;
    private final char[] password;
    private final List<FutureTask<ImageKeys>> derivations; // by chain index; null: derived by keys() itself
    private final List<FutureTask<ImageKeys>> queue; // the non-null derivations, in chain order
    private final AtomicInteger nextInQueue = new AtomicInteger();
    private final List<Thread> derivationThreads = new ArrayList<>();
    private volatile boolean stopped;
    private boolean closed;

    private ChainKeys(List<ImageHeader> headers, char[] password, List<FutureTask<ImageKeys>> derivations) {
        this.headers = headers;
        this.password = password;
        this.derivations = derivations;
        this.queue = derivations.stream().filter(d -> d != null).toList();
    }

    /**
     * Starts deriving the keys of {@code headers} (chain order, top first) with {@code password}
     * (read by the threads until {@link #close} returns).
     */
    static ChainKeys start(List<ImageHeader> headers, char[] password) {
        int threads = threads(headers, password, processors.getAsInt());
        List<FutureTask<ImageKeys>> derivations = new ArrayList<>(Collections.nCopies(headers.size(), null));
        if (threads >= 2) {
            for (int i = 0; i < headers.size(); i++) {
                ImageHeader header = headers.get(i);
                if (header.encrypted()) {
                    derivations.set(i, new FutureTask<>(() -> {
                        beforeDerivation.accept(header.imageId());
                        return ImageKeys.open(password, header);
                    }));
                }
            }
        }
        ChainKeys keys = new ChainKeys(List.copyOf(headers), password, derivations);
        try {
            for (int t = 0; t < threads && t < keys.queue.size(); t++) {
                Thread thread = new Thread(keys::work, THREAD_NAME_PREFIX + THREAD_NUMBER.incrementAndGet());
                thread.setDaemon(true);
                keys.derivationThreads.add(thread);
                thread.start();
            }
        } catch (RuntimeException | Error e) {
            keys.close();
            throw e;
        }
        return keys;
    }

    /**
     * How many derivation threads a chain gets: at most one per processor and per encrypted image,
     * and as many as fit {@link #MEMORY_BUDGET_KIB} with the chain's largest Argon2id memory; 0 or
     * 1 means none (the calling thread derives). None without a password: there is nothing to derive.
     */
    static int threads(List<ImageHeader> headers, char[] password, int processors) {
        if (password == null) {
            return 0;
        }
        int encrypted = 0;
        long maxMemoryKiB = 1;
        for (ImageHeader h : headers) {
            if (h.encrypted()) {
                encrypted++;
                maxMemoryKiB = Math.max(maxMemoryKiB, Integer.toUnsignedLong(h.kdfMemoryKiB()));
            }
        }
        long byMemory = Math.max(1, MEMORY_BUDGET_KIB / maxMemoryKiB);
        return (int) Math.min(Math.min(Math.max(1, processors), encrypted), byMemory);
    }

    /** On a derivation thread: runs derivations from the queue until it is empty or the keys are closed. */
    private void work() {
        int next;
        while (!stopped && (next = nextInQueue.getAndIncrement()) < queue.size()) {
            queue.get(next).run(); // a cancelled task does not run
        }
    }

    /**
     * The keys of image {@code index} (chain order), null if it is not encrypted; waits for its
     * derivation if a thread runs it, else derives on the calling thread. Throws what
     * {@link ImageKeys#open} throws, or {@code INTERRUPTED}.
     */
    ImageKeys keys(int index) {
        ImageHeader header = headers.get(index);
        if (!header.encrypted()) {
            return null;
        }
        FutureTask<ImageKeys> derivation = derivations.get(index);
        if (derivation == null) {
            return ImageKeys.open(password, header);
        }
        return Results.await(derivation, "deriving the key of image " + header.imageId());
    }

    /** Cancels what has not started, and returns only once every derivation thread has ended. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        stopped = true;
        queue.forEach(d -> d.cancel(true));
        boolean interrupted = false;
        for (Thread thread : derivationThreads) {
            while (true) {
                try {
                    thread.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
