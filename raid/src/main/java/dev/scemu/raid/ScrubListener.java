package dev.scemu.raid;

/**
 * Told about a scrub pass ({@link RaidArray#scrub(boolean, ScrubListener)}) as it walks the
 * stripes. Called on the scrubbing thread; keep it short. Every method has an empty default.
 */
public interface ScrubListener {

    /** {@code stripesDone} of {@code stripesTotal} stripes have been walked. */
    default void onProgress(long stripesDone, long stripesTotal) {
    }

    /** A stripe whose parity or mirrors disagreed with its data. */
    default void onMismatch(ScrubMismatch mismatch) {
    }
}
