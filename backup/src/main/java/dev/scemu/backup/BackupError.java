package dev.scemu.backup;

/** Error codes of the backup module; carried by {@link BackupException}. */
public enum BackupError {
    /** An argument or option is invalid (negative size, unknown image id syntax, ...). */
    INVALID_ARGUMENT,
    /** No image (or no base image of an incremental chain) with that id on the target. */
    IMAGE_NOT_FOUND,
    /** An image with that id already exists on the target. */
    IMAGE_EXISTS,
    /** A record failed its magic, version, length, checksum or hash check, or the layout is inconsistent. */
    CORRUPT_IMAGE,
    /** The image ends before its last record (cut short). */
    TRUNCATED_IMAGE,
    /** The image was written by a newer, unknown format version. */
    UNSUPPORTED_VERSION,
    /** The image is encrypted and no password was given. */
    PASSWORD_REQUIRED,
    /**
     * A password was given but the image (or a base of its chain, or the interrupted backup being
     * resumed) is not encrypted: refused, so that an unencrypted image cannot stand in for an
     * encrypted one (a downgrade of its protection).
     */
    NOT_ENCRYPTED,
    /** The password does not match the image's key check. */
    WRONG_PASSWORD,
    /**
     * The header MAC, a chunk's AES-GCM tag or the image MAC does not verify: a header field, a
     * chunk or the metadata was changed, or the image was swapped.
     */
    AUTHENTICATION_FAILED,
    /** Source and image (or image and destination) differ in block size. */
    GEOMETRY_MISMATCH,
    /** The destination has fewer blocks than the image's stored extents need. */
    DESTINATION_TOO_SMALL,
    /** The destination device is read-only. */
    DESTINATION_READ_ONLY,
    /**
     * An incremental's base does not belong to the same volume, geometry or snapshot lineage (its
     * volume id, snapshot token or whole-image hash is not the one the incremental was made on).
     */
    BASE_MISMATCH,
    /** The source cannot tell which blocks changed since the base snapshot. */
    CHANGED_BLOCKS_UNKNOWN,
    /** Resume was asked for but no checkpoint exists (or it belongs to something else). */
    NO_CHECKPOINT,
    /** The source on resume is not the snapshot the interrupted backup read. */
    SOURCE_CHANGED,
    /** Reading the source device failed. */
    SOURCE_IO,
    /** Writing the destination device failed. */
    DESTINATION_IO,
    /** The target (directory or object store) failed. */
    TARGET_IO,
    /** The operating thread was interrupted. */
    INTERRUPTED
}
