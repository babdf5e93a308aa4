package dev.scemu.cli;

import dev.scemu.core.ErrorCategory;

/**
 * A command-line error: its message is printed as one line ({@code scemu: ...}); status 1, or its
 * category's status ({@link ExitStatus}) when it has one.
 */
final class CliException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient ErrorCategory category;

    CliException(String message) {
        this(null, message);
    }

    CliException(ErrorCategory category, String message) {
        super(message);
        this.category = category;
    }

    CliException(String message, Throwable cause) {
        super(message, cause);
        this.category = null;
    }

    /** The category whose exit status this error takes, or null (status 1). */
    ErrorCategory category() {
        return category;
    }
}
