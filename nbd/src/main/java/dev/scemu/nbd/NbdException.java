package dev.scemu.nbd;

/** The one unchecked exception of the nbd module; {@link #code()} says what went wrong. */
public class NbdException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final NbdError code;

    public NbdException(NbdError code, String message) {
        super(code + ": " + message);
        this.code = code;
    }

    public NbdException(NbdError code, String message, Throwable cause) {
        super(code + ": " + message, cause);
        this.code = code;
    }

    public NbdError code() {
        return code;
    }
}
