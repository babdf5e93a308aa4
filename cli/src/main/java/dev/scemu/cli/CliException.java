package dev.scemu.cli;

/** A command-line error: its message is printed as one line ({@code scemu: ...}), status 1. */
final class CliException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    CliException(String message) {
        super(message);
    }

    CliException(String message, Throwable cause) {
        super(message, cause);
    }
}
