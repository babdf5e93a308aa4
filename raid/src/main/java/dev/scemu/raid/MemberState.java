package dev.scemu.raid;

/** State of one member slot (role) of an array. */
public enum MemberState {
    /** In sync; serves reads and writes. */
    ACTIVE,
    /** Receiving a rebuild; in sync below its recovery offset. */
    REBUILDING,
    /** Failed or missing; reads are reconstructed from redundancy. */
    FAILED
}
