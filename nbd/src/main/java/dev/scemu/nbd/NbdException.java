package dev.scemu.nbd;

import dev.scemu.core.ErrorCategory;
import dev.scemu.core.ScemuException;

/** The one unchecked exception of the nbd module; {@link #code()} says what went wrong. */
public class NbdException extends ScemuException {
    private static final long serialVersionUID = 1L;

    private final NbdError code;

    public NbdException(NbdError code, String message) {
        super(code, categoryOf(code), message);
        this.code = code;
    }

    public NbdException(NbdError code, String message, Throwable cause) {
        super(code, categoryOf(code), message, cause);
        this.code = code;
    }

    @Override
    public NbdError code() {
        return code;
    }

    /** The {@link ErrorCategory} of each code (exhaustive: a new code does not compile without one). */
    public static ErrorCategory categoryOf(NbdError code) {
        return switch (code) {
            case INVALID_CONFIGURATION -> ErrorCategory.INVALID_ARGUMENT;
            case BIND_FAILED -> ErrorCategory.ENVIRONMENT;
            case WRONG_STATE -> ErrorCategory.INVALID_STATE;
        };
    }
}
