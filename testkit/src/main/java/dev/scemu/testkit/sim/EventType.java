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
    /**
     * The failed member is replaced by a blank disk and rebuilt (run to completion at one simulated
     * instant); 3 in 10 rebuilds get a cut armed at a seeded write inside them.
     */
    DISK_REPLACE,
    /** A latent sector error on a member; repaired from redundancy by the next read of its stripe. */
    LATENT_SECTOR_ERROR,
    /** Silent bit rot in a RAID-5 parity block; a repair scrub must find and fix it (3 in 10 get a cut armed inside the repair). */
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
    /** A snapshot is deleted; 3 in 10 deletions get a cut armed at a seeded write inside them. */
    SNAPSHOT_DELETE,
    /** The volume is rolled back to a snapshot; 3 in 10 rollbacks get a cut armed inside them (before or snapshot after it, never a mix). */
    SNAPSHOT_ROLLBACK,
    /**
     * A backup of the volume from a temporary snapshot into a directory target; 3 in 10 get a cut
     * armed inside them (the snapshot must be gone after the reboot).
     */
    BACKUP,
    /**
     * A backup image is restored onto the volume between the restore-incomplete mark and its
     * clearing; 3 in 10 get a cut armed inside (unmarked: before or restored; marked: the restore
     * is run again).
     */
    RESTORE
}
