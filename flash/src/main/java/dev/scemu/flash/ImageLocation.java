package dev.scemu.flash;

/** Where a firmware image copy lives. */
public enum ImageLocation {
    /** The primary copy in the {@link FirmwareStore} (flash). */
    FLASH,
    /** The backup slot of the {@link BackupRegion}. */
    BACKUP,
    /** The staging slot of the {@link BackupRegion}. */
    STAGING,
    /** The running image's verified copy in memory. */
    MEMORY
}
