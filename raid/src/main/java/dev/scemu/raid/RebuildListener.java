package dev.scemu.raid;

/**
 * Told about the progress of a background rebuild or resync. Called on the worker thread; keep it
 * short. Every method has an empty default.
 */
public interface RebuildListener {

    default void onProgress(RebuildProgress progress) {
    }

    /** The work finished: the member is in sync (rebuild) or the array is clean (resync). */
    default void onComplete(RebuildProgress progress) {
    }

    /** The work stopped early: a member failed, the array was stopped, or an I/O error. */
    default void onFailed(RebuildProgress progress, Throwable cause) {
    }
}
