package dev.scemu.unit;

/** Error codes of the control-unit module; carried by {@link UnitException}. */
public enum UnitError {
    /** Neither the primary nor the backup GPT passed its checks. */
    CORRUPT_PARTITION_TABLE,
    /** A partition layout does not fit the device or is otherwise invalid. */
    INVALID_LAYOUT,
    /** No partition of that name. */
    NO_SUCH_PARTITION,
    /** The trial boot of a new firmware image found the unit unusable under it (the update reverts). */
    SELF_CHECK_FAILED,
    /** Another process (or another open in this JVM) owns the unit directory; the message names it. */
    UNIT_BUSY,
    /** The unit was opened read-only ({@link StorageControlUnit#openReadOnly}) and the operation needs new files. */
    READ_ONLY,
    /** {@code create} was given a directory that already holds files (a unit, or anything else). */
    NOT_EMPTY,
    /** The disk images of a unit directory carry another identity than its {@code unit.properties} records. */
    IDENTITY_MISMATCH,
    /** The trust store is unreadable, or refuses a change (last key, key of the running image, unknown key). */
    TRUST_STORE
}
