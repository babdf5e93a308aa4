package dev.scemu.snapshot;

import dev.scemu.core.ErrorCategory;
import dev.scemu.core.ScemuException;

/**
 * The one unchecked exception of the snapshot layer. {@link #code()} says what went wrong; the
 * message carries the values involved (snapshot id, lba, block counts).
 */
public class SnapshotException extends ScemuException {
    private static final long serialVersionUID = 1L;

    private final SnapshotError code;

    public SnapshotException(SnapshotError code, String message) {
        super(code, categoryOf(code), message);
        this.code = code;
    }

    public SnapshotException(SnapshotError code, String message, Throwable cause) {
        super(code, categoryOf(code), message, cause);
        this.code = code;
    }

    @Override
    public SnapshotError code() {
        return code;
    }

    /** The {@link ErrorCategory} of each code (exhaustive: a new code does not compile without one). */
    public static ErrorCategory categoryOf(SnapshotError code) {
        return switch (code) {
            case STORE_FULL, TOO_MANY_SNAPSHOTS -> ErrorCategory.NO_SPACE;
            case UNKNOWN_SNAPSHOT -> ErrorCategory.NOT_FOUND;
            case INVALID_NAME, INVALID_CONFIGURATION, DUPLICATE_NAME -> ErrorCategory.INVALID_ARGUMENT;
            case NOT_FORMATTED, CORRUPT_METADATA -> ErrorCategory.CORRUPT_DATA;
            case VOLUME_FAILED -> ErrorCategory.DEVICE_FAILED;
        };
    }
}
