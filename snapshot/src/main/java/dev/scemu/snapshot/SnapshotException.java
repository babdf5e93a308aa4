package dev.scemu.snapshot;

/**
 * The one unchecked exception of the snapshot layer. {@link #code()} says what went wrong; the
 * message carries the values involved (snapshot id, lba, block counts).
 */
public class SnapshotException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final SnapshotError code;

    public SnapshotException(SnapshotError code, String message) {
        super(code + ": " + message);
        this.code = code;
    }

    public SnapshotException(SnapshotError code, String message, Throwable cause) {
        super(code + ": " + message, cause);
        this.code = code;
    }

    public SnapshotError code() {
        return code;
    }
}
