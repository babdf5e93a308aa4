package dev.scemu.backup;

import dev.scemu.core.ErrorCategory;
import dev.scemu.core.ScemuException;

/**
 * The one unchecked exception of the backup module. Its {@link #code()} says what went wrong; the
 * message carries the values involved (image id, chunk, offsets, block counts).
 */
public class BackupException extends ScemuException {
    private static final long serialVersionUID = 1L;

    private final BackupError code;

    public BackupException(BackupError code, String message) {
        super(code, categoryOf(code), message);
        this.code = code;
    }

    public BackupException(BackupError code, String message, Throwable cause) {
        super(code, categoryOf(code), message, cause);
        this.code = code;
    }

    @Override
    public BackupError code() {
        return code;
    }

    /** The {@link ErrorCategory} of each code (exhaustive: a new code does not compile without one). */
    public static ErrorCategory categoryOf(BackupError code) {
        return switch (code) {
            case INVALID_ARGUMENT, IMAGE_EXISTS, GEOMETRY_MISMATCH, BASE_MISMATCH, NO_CHECKPOINT, SOURCE_CHANGED ->
                    ErrorCategory.INVALID_ARGUMENT;
            case IMAGE_NOT_FOUND -> ErrorCategory.NOT_FOUND;
            case CORRUPT_IMAGE, TRUNCATED_IMAGE -> ErrorCategory.CORRUPT_DATA;
            case UNSUPPORTED_VERSION, CHANGED_BLOCKS_UNKNOWN -> ErrorCategory.UNSUPPORTED;
            case PASSWORD_REQUIRED, NOT_ENCRYPTED, WRONG_PASSWORD, AUTHENTICATION_FAILED -> ErrorCategory.UNTRUSTED;
            case DESTINATION_TOO_SMALL -> ErrorCategory.NO_SPACE;
            case DESTINATION_READ_ONLY -> ErrorCategory.READ_ONLY;
            case SOURCE_IO, DESTINATION_IO, TARGET_IO -> ErrorCategory.DEVICE_FAILED;
            case INTERRUPTED -> ErrorCategory.INVALID_STATE;
        };
    }
}
