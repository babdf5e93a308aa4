package dev.scemu.snapshot;

/** Error codes of the snapshot layer; carried by {@link SnapshotException}. */
public enum SnapshotError {
    /** The snapshot store has no free block (or mapping entry) for a copy and the policy refuses the write. */
    STORE_FULL,
    /** No snapshot has this id (never created, or deleted). */
    UNKNOWN_SNAPSHOT,
    /** A snapshot name is empty or too long. */
    INVALID_NAME,
    /** Devices or configuration do not fit together (block sizes, store too small). */
    INVALID_CONFIGURATION,
    /** The store holds no snapshot volume, or one of another format version. */
    NOT_FORMATTED,
    /** A superblock, checkpoint page, free map or journal record failed its checks. */
    CORRUPT_METADATA,
    /** An earlier I/O failure (for example a power cut) left the volume unusable until reopened. */
    VOLUME_FAILED,
    /** Too many snapshots exist. */
    TOO_MANY_SNAPSHOTS,
    /** A snapshot of that name already exists (names are unique within a volume). */
    DUPLICATE_NAME
}
