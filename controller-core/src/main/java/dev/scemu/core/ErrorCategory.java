package dev.scemu.core;

/**
 * What kind of failure a {@link ScemuException} is, the same across every module: the one thing a
 * caller that does not know the module's error codes (NBD server, command line, a vendor's CI)
 * needs to decide what to do. Each module's exception maps each of its error codes to one
 * category in one exhaustive switch beside its error-code enum ({@code RaidException.categoryOf}
 * ...), so a new code does not compile until it is given a category.
 *
 * <p>Where categories go: NBD replies {@code ENOSPC} for {@link #NO_SPACE}, {@code EPERM} for
 * {@link #READ_ONLY}, {@code EINVAL} for {@link #INVALID_ARGUMENT}, {@link #NOT_FOUND} and
 * {@link #UNSUPPORTED}, {@code EIO} for the rest; the {@code scemu} command exits with one status
 * per category ({@code docs/architecture.md#one-error-family}).
 */
public enum ErrorCategory {
    /** The request or configuration is invalid (range, alignment, size, name, duplicate); nothing changed. */
    INVALID_ARGUMENT,
    /** The thing named does not exist (snapshot id, partition, backup image). */
    NOT_FOUND,
    /** Out of space: snapshot store, execution log, slot, destination. */
    NO_SPACE,
    /** The device, volume or unit is read-only. */
    READ_ONLY,
    /** Stored data failed its checks (magic, checksum, hash, structure): the data is damaged. */
    CORRUPT_DATA,
    /** A signature, key, password or authentication tag does not verify; or the trust store refuses. */
    UNTRUSTED,
    /** A device or the media below failed (failed disk, medium error, power lost, OS I/O error). */
    DEVICE_FAILED,
    /** Something else holds the resource (a running rebuild, another process owning the unit). */
    BUSY,
    /** A format version or feature scemu does not implement. */
    UNSUPPORTED,
    /** The object is not in a state that allows the operation (closed, stopped, not booted). */
    INVALID_STATE,
    /** The JVM or operating system is not set up for scemu (missing JVM flags, a port in use). */
    ENVIRONMENT
}
