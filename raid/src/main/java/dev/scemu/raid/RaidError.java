package dev.scemu.raid;

/** Error codes of the raid module; carried by {@link RaidException}. */
public enum RaidError {
    /** The configuration is invalid (member count for the level, chunk size, sizes). */
    INVALID_CONFIG,
    /** Members differ in block size, or a member is too small for metadata plus one chunk. */
    MEMBER_GEOMETRY,
    /** A member carries no md v1.2 superblock (bad magic, version, offset or checksum). */
    NO_SUPERBLOCK,
    /** A member's superblock belongs to another array (different set UUID or shape). */
    FOREIGN_MEMBER,
    /** Two members claim the same role. */
    DUPLICATE_ROLE,
    /** Too few usable members to start the array at its level. */
    NOT_ENOUGH_MEMBERS,
    /** The array was not shut down cleanly and is degraded: parity cannot be trusted (md refuses too). */
    DIRTY_DEGRADED,
    /** A feature in the superblock is not supported (reshape, journal device, clustered...). */
    UNSUPPORTED_FEATURE,
    /** More members failed than the level tolerates: the I/O cannot be served. */
    ARRAY_FAILED,
    /** A member index is out of range, or the member is not in the state the operation needs. */
    BAD_MEMBER,
    /** A rebuild, resync or scrub is already running. */
    BUSY,
    /** The array has been stopped or closed. */
    STOPPED
}
