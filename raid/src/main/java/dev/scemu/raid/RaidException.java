package dev.scemu.raid;

import dev.scemu.core.ErrorCategory;
import dev.scemu.core.ScemuException;

/**
 * The one unchecked exception of the raid module. Its {@link #code()} says what went wrong; the
 * message carries the values involved (array lba, member index, member lba, events).
 */
public class RaidException extends ScemuException {
    private static final long serialVersionUID = 1L;

    private final RaidError code;

    public RaidException(RaidError code, String message) {
        super(code, categoryOf(code), message);
        this.code = code;
    }

    public RaidException(RaidError code, String message, Throwable cause) {
        super(code, categoryOf(code), message, cause);
        this.code = code;
    }

    @Override
    public RaidError code() {
        return code;
    }

    /** The {@link ErrorCategory} of each code (exhaustive: a new code does not compile without one). */
    public static ErrorCategory categoryOf(RaidError code) {
        return switch (code) {
            case INVALID_CONFIG, MEMBER_GEOMETRY, BAD_MEMBER -> ErrorCategory.INVALID_ARGUMENT;
            case NO_SUPERBLOCK, FOREIGN_MEMBER, DUPLICATE_ROLE -> ErrorCategory.CORRUPT_DATA;
            case NOT_ENOUGH_MEMBERS, ARRAY_FAILED -> ErrorCategory.DEVICE_FAILED;
            case DIRTY_DEGRADED, STOPPED -> ErrorCategory.INVALID_STATE;
            case UNSUPPORTED_FEATURE -> ErrorCategory.UNSUPPORTED;
            case BUSY -> ErrorCategory.BUSY;
        };
    }
}
