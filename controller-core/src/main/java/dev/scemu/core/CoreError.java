package dev.scemu.core;

/** Error codes of controller-core; carried by {@link CoreException}. */
public enum CoreError {
    /** An LBA range reaches beyond the last block of the device. */
    OUT_OF_RANGE,
    /** A byte length or offset is not a multiple of the block size, or a geometry is invalid. */
    MISALIGNED,
    /** The caller's buffer has fewer bytes than the requested blocks need. */
    BUFFER_TOO_SMALL,
    /** An argument is invalid for another reason (negative count, bad configuration). */
    INVALID_ARGUMENT,
    /** The device as a whole has failed (fault injection or a dead medium). */
    DEVICE_FAILED,
    /** A read or write of specific blocks failed (latent sector error). */
    MEDIUM_ERROR,
    /** Power is cut: the device refuses every I/O until power is restored. */
    POWER_LOST,
    /** The device has been closed. */
    CLOSED,
    /** The device is read-only. */
    READ_ONLY,
    /** The operating system reported an I/O error. */
    IO_ERROR,
    /** An on-disk record failed its magic, version, length or checksum check. */
    CORRUPT_RECORD,
    /**
     * A damaged execution log block is followed by a block of the same log written after the
     * damaged one was durable: corruption, not a torn tail (the message names the ring position).
     */
    LOG_CORRUPTED,
    /** The execution log has no free space: the oldest unfinished transaction pins it. */
    LOG_FULL,
    /** A transaction id is unknown or already finished. */
    UNKNOWN_TRANSACTION,
    /**
     * The JVM was started without flags the off-heap and memory-mapped media need ({@link JvmFlags});
     * the message lists exactly the missing ones and where to put them.
     */
    JVM_FLAGS_MISSING,
    /** An image file is locked by another open (another scemu process, or a QEMU tool): {@link ImageLock}. */
    IN_USE
}
