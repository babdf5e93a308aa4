package dev.scemu.core;

/**
 * The one unchecked exception of controller-core. Its {@link #code()} says what went wrong; the
 * message carries the values involved (lba, lengths, device name). Part of the
 * {@link ScemuException} family: {@link #categoryOf} gives each code its {@link ErrorCategory}.
 */
public class CoreException extends ScemuException {
    private static final long serialVersionUID = 1L;

    private final CoreError code;

    public CoreException(CoreError code, String message) {
        super(code, categoryOf(code), message);
        this.code = code;
    }

    public CoreException(CoreError code, String message, Throwable cause) {
        super(code, categoryOf(code), message, cause);
        this.code = code;
    }

    @Override
    public CoreError code() {
        return code;
    }

    /** The category of each code (exhaustive: a new code needs one). */
    public static ErrorCategory categoryOf(CoreError code) {
        return switch (code) {
            case OUT_OF_RANGE, MISALIGNED, BUFFER_TOO_SMALL, INVALID_ARGUMENT, UNKNOWN_TRANSACTION ->
                    ErrorCategory.INVALID_ARGUMENT;
            case DEVICE_FAILED, MEDIUM_ERROR, POWER_LOST, IO_ERROR -> ErrorCategory.DEVICE_FAILED;
            case CLOSED -> ErrorCategory.INVALID_STATE;
            case READ_ONLY -> ErrorCategory.READ_ONLY;
            case CORRUPT_RECORD, LOG_CORRUPTED -> ErrorCategory.CORRUPT_DATA;
            case LOG_FULL -> ErrorCategory.NO_SPACE;
            case JVM_FLAGS_MISSING -> ErrorCategory.ENVIRONMENT;
            case IN_USE -> ErrorCategory.BUSY;
        };
    }
}
