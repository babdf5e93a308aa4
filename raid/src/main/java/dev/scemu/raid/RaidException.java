package dev.scemu.raid;

/**
 * The one unchecked exception of the raid module. Its {@link #code()} says what went wrong; the
 * message carries the values involved (array lba, member index, member lba, events).
 */
public class RaidException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final RaidError code;

    public RaidException(RaidError code, String message) {
        super(code + ": " + message);
        this.code = code;
    }

    public RaidException(RaidError code, String message, Throwable cause) {
        super(code + ": " + message, cause);
        this.code = code;
    }

    public RaidError code() {
        return code;
    }
}
