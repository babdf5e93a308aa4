package dev.scemu.core;

/**
 * The one unchecked exception of controller-core. Its {@link #code()} says what went wrong; the
 * message carries the values involved (lba, lengths, device name).
 */
public class CoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final CoreError code;

    public CoreException(CoreError code, String message) {
        super(code + ": " + message);
        this.code = code;
    }

    public CoreException(CoreError code, String message, Throwable cause) {
        super(code + ": " + message, cause);
        this.code = code;
    }

    public CoreError code() {
        return code;
    }
}
