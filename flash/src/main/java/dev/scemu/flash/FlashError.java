package dev.scemu.flash;

/** Error codes of the flash module; carried by {@link FlashException}. */
public enum FlashError {
    /** A flash offset, page, erase block or length lies outside the device or is negative. */
    OUT_OF_RANGE,
    /** A flash geometry or other argument is invalid. */
    INVALID_ARGUMENT,
    /** Strict mode: programming would have to turn a 0 bit back into 1 (the page needs an erase first). */
    PROGRAM_WOULD_SET_BITS,
    /** Power was cut during (or before) the operation; the device refuses I/O until power returns. */
    POWER_LOST,
    /** The device has been closed. */
    CLOSED,
    /** The flash's own metadata (erase-count pages) failed its checksum. */
    CORRUPT_METADATA,
    /** Read-back after programming did not match what was programmed. */
    VERIFY_FAILED,

    // ---- firmware image format ----
    /** The image is shorter than the structure being read (header, TLV info, TLV). */
    TRUNCATED,
    /** The image header magic is not 0x96f3b83d. */
    BAD_MAGIC,
    /** Header size below 32 bytes or beyond the buffer. */
    BAD_HEADER_SIZE,
    /** A reserved header field is not zero, or unsupported flags are set. */
    BAD_HEADER,
    /** Header size + image size + TLV areas exceed the buffer. */
    SIZE_BEYOND_BUFFER,
    /** A TLV info header has the wrong magic or a total size that does not match. */
    BAD_TLV_INFO,
    /** A TLV's header or value runs past the end of its TLV area. */
    TLV_OVERRUN,
    /** Bytes follow the unprotected TLV area. */
    TRAILING_BYTES,
    /** A TLV has a length its type does not allow, or a malformed value. */
    BAD_TLV_VALUE,
    /** A TLV that may appear once appears twice. */
    DUPLICATE_TLV,
    /** A TLV that must be protected (covered by the hash) is in the unprotected area. */
    UNPROTECTED_TLV,
    /** No SHA-256 TLV. */
    MISSING_HASH,
    /** The SHA-256 TLV does not match the header, body and protected TLVs. */
    HASH_MISMATCH,
    /** The trusted keys require a signature and the image has none (or no key hash). */
    MISSING_SIGNATURE,
    /** The key hash names no trusted key. */
    UNKNOWN_KEY,
    /** The Ed25519 signature does not verify. */
    BAD_SIGNATURE,
    /** The image does not fit its slot or store. */
    IMAGE_TOO_LARGE,

    // ---- lifecycle ----
    /** Neither the flash nor the backup region holds a verified image. */
    NO_BOOTABLE_IMAGE,
    /** The staging slot holds no verified image. */
    NOTHING_STAGED,
    /** An operation needs a booted manager. */
    NOT_BOOTED,
    /** A migration failed, or its data is in neither the from nor the to format. */
    MIGRATION_FAILED,
    /** A backup-region slot header is damaged. */
    CORRUPT_SLOT,
    /** The update journal is damaged or full. */
    JOURNAL_ERROR
}
