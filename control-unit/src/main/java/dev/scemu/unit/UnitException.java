package dev.scemu.unit;

import dev.scemu.core.ErrorCategory;
import dev.scemu.core.ScemuException;

/** The one unchecked exception of the control-unit module; the message carries the values. */
public class UnitException extends ScemuException {
    private static final long serialVersionUID = 1L;

    private final UnitError code;

    public UnitException(UnitError code, String message) {
        super(code, categoryOf(code), message);
        this.code = code;
    }

    /** With the lower layer's exception that made this one, for its stack. */
    public UnitException(UnitError code, String message, Throwable cause) {
        super(code, categoryOf(code), message, cause);
        this.code = code;
    }

    @Override
    public UnitError code() {
        return code;
    }

    /** The {@link ErrorCategory} of each code (exhaustive: a new code does not compile without one). */
    public static ErrorCategory categoryOf(UnitError code) {
        return switch (code) {
            case CORRUPT_PARTITION_TABLE, IDENTITY_MISMATCH -> ErrorCategory.CORRUPT_DATA;
            case INVALID_LAYOUT, NOT_EMPTY -> ErrorCategory.INVALID_ARGUMENT;
            case NO_SUCH_PARTITION -> ErrorCategory.NOT_FOUND;
            case SELF_CHECK_FAILED -> ErrorCategory.DEVICE_FAILED;
            case UNIT_BUSY -> ErrorCategory.BUSY;
            case READ_ONLY -> ErrorCategory.READ_ONLY;
            case TRUST_STORE -> ErrorCategory.UNTRUSTED;
        };
    }
}
