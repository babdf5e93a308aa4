package dev.scemu.cli;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One piece of a command's start-up work on a thread of its own, while the command does another
 * (backup create: the key derivation while the unit opens; restore: the image's checks while the
 * unit is looked at). The result belongs to this object: {@link #close()} closes it, whether or not
 * {@link #get()} handed it out, and a task still running is interrupted and waited for first, so
 * when close returns no thread of this command's is left working and nothing it made is left open.
 *
 * <p>Ordering: {@link #get()} and {@link #close()} are called by the command's thread only; the
 * result passes from the worker through {@link #produced} (set once by the worker, taken once by
 * close), so a result finished after a cancel is closed too.
 *
 * @param <T> what the task makes (closed by {@link #close()})
 */
final class Background<T extends AutoCloseable> implements AutoCloseable {

    private final Thread thread;
    private final FutureTask<Void> future;
    private final AtomicReference<T> produced = new AtomicReference<>();
    private boolean closed;

    private Background(String threadName, Callable<T> task) {
        this.future = new FutureTask<>(() -> {
            produced.set(task.call());
            return null;
        });
        this.thread = new Thread(future, threadName);
        thread.setDaemon(true);
        thread.start();
    }

    /** Starts {@code task} on a new daemon thread named {@code threadName}. */
    static <T extends AutoCloseable> Background<T> start(String threadName, Callable<T> task) {
        return new Background<>(threadName, task);
    }

    /**
     * Waits for the task and returns what it made (may be null), still owned by this object; its
     * failure is rethrown as it was thrown (a {@link RuntimeException} or {@link Error} unwrapped).
     */
    T get() {
        try {
            future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("interrupted while waiting for the command's background work");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(cause);
        }
        return produced.get();
    }

    /**
     * Interrupts the task if it still runs, waits for its thread to end (not only the task: the
     * thread is gone when this returns), then closes its result (if any). Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        future.cancel(true);
        boolean interrupted = false;
        while (thread.isAlive()) {
            try {
                thread.join();
            } catch (InterruptedException e) {
                interrupted = true; // the task must end before its result is closed: keep waiting
            }
        }
        try {
            T result = produced.getAndSet(null);
            if (result != null) {
                result.close();
            }
        } catch (Exception e) {
            throw e instanceof RuntimeException re ? re : new IllegalStateException(e);
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
