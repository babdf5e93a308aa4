package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/** Waiting for a worker's result the way every pipeline of the engine does. */
final class Results {

    private Results() {
    }

    /**
     * {@code future}'s result; its failure rethrown as it was thrown (a {@link RuntimeException} or
     * {@link Error} unwrapped); interrupted while waiting, {@code INTERRUPTED} ("interrupted while
     * {@code waitingFor}") with the thread's interrupt status kept.
     */
    static <T> T await(Future<T> future, String waitingFor) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BackupException(BackupError.INTERRUPTED, "interrupted while " + waitingFor, e);
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
    }
}
