package dev.scemu.core;

/** What survives a simulated power cut among the writes that were not yet flushed. */
public enum PowerCutMode {
    /** Every write since the last flush is lost. */
    DROP_UNFLUSHED,
    /**
     * A seeded random subset of the unflushed blocks reached the medium and the rest is lost:
     * torn at block granularity, in no particular order (a disk cache destages out of order). A
     * block written several times since the last flush may keep any one of those versions, not
     * only the last. The write during which power fails is itself torn the same way.
     */
    KEEP_RANDOM_SUBSET
}
