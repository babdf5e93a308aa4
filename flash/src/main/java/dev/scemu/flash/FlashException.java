package dev.scemu.flash;

import dev.scemu.core.ErrorCategory;
import dev.scemu.core.ScemuException;

/**
 * The one unchecked exception of the flash module. Its {@link #code()} says what went wrong; the
 * message carries the values involved (offsets, lengths, erase block, TLV type).
 */
public class FlashException extends ScemuException {
    private static final long serialVersionUID = 1L;

    private final FlashError code;

    public FlashException(FlashError code, String message) {
        super(code, categoryOf(code), message);
        this.code = code;
    }

    public FlashException(FlashError code, String message, Throwable cause) {
        super(code, categoryOf(code), message, cause);
        this.code = code;
    }

    @Override
    public FlashError code() {
        return code;
    }

    /** The {@link ErrorCategory} of each code (exhaustive: a new code does not compile without one). */
    public static ErrorCategory categoryOf(FlashError code) {
        return switch (code) {
            case OUT_OF_RANGE, INVALID_ARGUMENT, PROGRAM_WOULD_SET_BITS -> ErrorCategory.INVALID_ARGUMENT;
            case POWER_LOST, VERIFY_FAILED -> ErrorCategory.DEVICE_FAILED;
            case CLOSED, NOTHING_STAGED, NOT_BOOTED -> ErrorCategory.INVALID_STATE;
            case CORRUPT_METADATA, TRUNCATED, BAD_MAGIC, BAD_HEADER_SIZE, BAD_HEADER, SIZE_BEYOND_BUFFER, BAD_TLV_INFO,
                    TLV_OVERRUN, TRAILING_BYTES, BAD_TLV_VALUE, DUPLICATE_TLV, UNPROTECTED_TLV, MISSING_HASH,
                    HASH_MISMATCH, NO_BOOTABLE_IMAGE, MIGRATION_FAILED, CORRUPT_SLOT, JOURNAL_ERROR ->
                    ErrorCategory.CORRUPT_DATA;
            case MISSING_SIGNATURE, UNKNOWN_KEY, BAD_SIGNATURE -> ErrorCategory.UNTRUSTED;
            case IMAGE_TOO_LARGE -> ErrorCategory.NO_SPACE;
        };
    }
}
