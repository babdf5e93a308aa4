package dev.scemu.core;

/**
 * The base of every scemu exception: each module has one subclass ({@link CoreException},
 * {@code RaidException}, {@code SnapshotException}, {@code FlashException}, {@code UnitException},
 * {@code BackupException}, {@code NbdException}) with its own error-code enum, and every code
 * belongs to one {@link ErrorCategory}. Catch this class to handle any scemu failure by category;
 * catch the module's subclass to handle its codes. Messages start with the code and carry the
 * values involved (lba, counts, device, ids).
 */
public abstract class ScemuException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorCategory category;

    /**
     * @param code the module's error code, printed first in the message
     * @param category the code's category (the module's {@code categoryOf(code)})
     */
    protected ScemuException(Enum<?> code, ErrorCategory category, String message) {
        super(code + ": " + message);
        this.category = java.util.Objects.requireNonNull(category, "category");
    }

    /**
     * @param code the module's error code, printed first in the message
     * @param category the code's category (the module's {@code categoryOf(code)})
     */
    protected ScemuException(Enum<?> code, ErrorCategory category, String message, Throwable cause) {
        super(code + ": " + message, cause);
        this.category = java.util.Objects.requireNonNull(category, "category");
    }

    /** The module's error code (each subclass narrows the type to its own enum). */
    public abstract Enum<?> code();

    /** The kind of failure, the same across modules. */
    public final ErrorCategory category() {
        return category;
    }
}
