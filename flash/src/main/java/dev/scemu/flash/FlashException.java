package dev.scemu.flash;

/**
 * The one unchecked exception of the flash module. Its {@link #code()} says what went wrong; the
 * message carries the values involved (offsets, lengths, erase block, TLV type).
 */
public class FlashException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final FlashError code;

    public FlashException(FlashError code, String message) {
        super(code + ": " + message);
        this.code = code;
    }

    public FlashException(FlashError code, String message, Throwable cause) {
        super(code + ": " + message, cause);
        this.code = code;
    }

    public FlashError code() {
        return code;
    }
}
