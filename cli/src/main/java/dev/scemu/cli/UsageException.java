package dev.scemu.cli;

import dev.scemu.core.ScemuException;

/**
 * A bad option or parameter value that picocli's parsing cannot see: a number outside the range
 * the command's help states, a word that is none of the choices, options that contradict each
 * other. A usage error like picocli's own: status 2 ({@link ExitStatus#USAGE}), one line
 * {@code scemu: MESSAGE (see 'scemu CMD --help')} ({@link Main}). Commands check their values
 * before they change anything. Values only the library can judge (a disk too small for the
 * partitions, an image id's characters) keep the library's error and its category's status.
 */
final class UsageException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message);
    }

    /** {@code option}'s value refused by a library parser: its message without the library's code. */
    static UsageException of(String option, ScemuException refusal) {
        String message = refusal.getMessage();
        String code = refusal.code() + ": ";
        return new UsageException(option + ": " + (message.startsWith(code) ? message.substring(code.length()) : message));
    }

    /** Refuses {@code value} of {@code option} unless it lies in {@code [min, max]}. */
    static void checkRange(String option, long value, long min, long max) {
        if (value < min || value > max) {
            throw new UsageException(option + " " + value + " is not in " + min + ".." + max);
        }
    }
}
