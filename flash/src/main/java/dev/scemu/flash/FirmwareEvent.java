package dev.scemu.flash;

/**
 * Something the {@link FirmwareManager} did or found, delivered to its {@link FirmwareListener}s.
 *
 * @param type what happened
 * @param location the image copy concerned
 * @param version the version involved, or null
 * @param detail human-readable values (hashes, errors, durations)
 */
public record FirmwareEvent(Type type, ImageLocation location, ImageVersion version, String detail) {

    public enum Type {
        /** Boot finished: the running image is chosen. */
        BOOTED,
        /** An image copy failed inspection (hash, signature, structure) or is missing. */
        CORRUPTION_DETECTED,
        /** A damaged flash image was rewritten from a good copy and verified. */
        RECOVERED,
        /** No good copy was available to recover from. */
        RECOVERY_FAILED,
        /** The backup slot was empty and now holds a verified copy of the running image. */
        BACKUP_CREATED,
        /** The backup slot held another (stale) or a damaged image and now holds the running image. */
        BACKUP_REFRESHED,
        /** A periodic or on-demand inspection ran (detail: its summary). */
        INSPECTED,
        /** An image was persisted in the staging slot and verified. */
        STAGED,
        /** An update was refused (detail: the compatibility report). */
        UPDATE_REFUSED,
        /** A migration ran. */
        MIGRATED,
        /** The new image was programmed into flash and verified. */
        FLASH_PROGRAMMED,
        /** The running image changed (detail: the host I/O pause). */
        SWITCHED,
        /** The new image passed its trial-boot self-check and is confirmed. */
        CONFIRMED,
        /** The new image failed its self-check; the old image is back. */
        REVERTED,
        /** The update completed (backup refreshed, journal committed). */
        UPDATE_COMPLETED,
        /** At boot, an update interrupted by a power cut was rolled back to the old image. */
        UPDATE_ROLLED_BACK,
        /** At boot, an update interrupted after its confirmation was completed. */
        UPDATE_ROLLED_FORWARD,
        /** An inspection failed with an exception (detail: the error). */
        INSPECTION_FAILED
    }

    @Override
    public String toString() {
        return type + " " + location + (version != null ? " " + version : "") + (detail.isEmpty() ? "" : ": " + detail);
    }
}
