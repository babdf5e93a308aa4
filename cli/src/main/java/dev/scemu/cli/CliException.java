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

    /**
     * Why a file operation failed, in words: the JDK's {@code NoSuchFileException} and its kin carry
     * only the path as their message, which made "cannot read password file pw: pw".
     */
    static String reason(java.io.IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof java.nio.file.FileAlreadyExistsException) {
            return "a file that is not a directory is in the way";
        }
        if (e instanceof java.nio.file.AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof java.nio.file.FileSystemException fs && fs.getReason() != null) {
            return fs.getReason();
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    /** The category whose exit status this error takes, or null (status 1). */
    ErrorCategory category() {
        return category;
    }
}
