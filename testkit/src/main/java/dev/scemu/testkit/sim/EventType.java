package dev.scemu.testkit.sim;

/** What happened at one step of a {@link Simulation}. */
public enum EventType {
    /** Host write of 1..n blocks (sometimes FUA), often across a chunk or stripe boundary. */
    HOST_WRITE,
    /** Host read, checked against the reference model. */
    HOST_READ,
    /** Host flush: every acknowledged write becomes durable. */
    HOST_FLUSH,
    /** A member disk fails as a whole (every I/O to it fails). */
    DISK_FAILURE,
    /** The failed member is replaced by a blank disk and rebuilt (run to completion at one simulated instant). */
    DISK_REPLACE,
    /** A latent sector error on a member; repaired from redundancy by the next read of its stripe. */
    LATENT_SECTOR_ERROR,
    /** Silent bit rot in a RAID-5 parity block; the next scrub must find it, a repair scrub fixes it. */
    BIT_ROT,
    /** Power cut at once (unflushed writes dropped or torn), then reboot and recovery. */
    POWER_CUT,
    /** Power cut armed at a seeded write index inside the following host I/O and snapshot creations/deletions (a crash point). */
    CRASH_POINT,
    /** Retention bit flips anywhere in the NVRAM flash. */
    FLASH_BIT_FLIP,
    /** Bits of the firmware image in the flash flipped: the next inspection or boot must recover it. */
    FIRMWARE_CORRUPTION,
    /** A newer firmware image is staged and installed while the volume is in use (sometimes cut mid-way). */
    FIRMWARE_UPDATE,
    /** Scheduled firmware inspection (simulated period). */
    FIRMWARE_INSPECTION,
    /** Scheduled RAID scrub (check), asserting parity/mirror consistency. */
    SCRUB,
    SNAPSHOT_CREATE,
    SNAPSHOT_DELETE,
    SNAPSHOT_ROLLBACK
}
