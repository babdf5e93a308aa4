package dev.scemu.unit;

/** The one unchecked exception of the control-unit module; the message carries the values. */
public class UnitException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final UnitError code;

    public UnitException(UnitError code, String message) {
        super(code + ": " + message);
        this.code = code;
    }

    /** With the lower layer's exception that made this one, for its stack. */
    public UnitException(UnitError code, String message, Throwable cause) {
        super(code + ": " + message, cause);
        this.code = code;
    }

    public UnitError code() {
        return code;
    }
}
