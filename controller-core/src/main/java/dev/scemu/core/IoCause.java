package dev.scemu.core;

/** Why a layer issued an I/O to the layer or medium below it. */
public enum IoCause {
    /** Data the host asked to read or write. */
    HOST,
    /** RAID parity reads and writes. */
    PARITY,
    /** Copy-on-write: old blocks preserved for a snapshot. */
    COW_COPY,
    /** Execution log (journal) records. */
    JOURNAL,
    /** Superblocks, bitmaps, mapping tables, partition tables and other metadata. */
    METADATA,
    /** Rebuild of a replaced RAID member. */
    REBUILD,
    /** Scrub (check/repair) of redundancy. */
    SCRUB
}
