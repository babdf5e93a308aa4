package dev.scemu.backup;

/**
 * The one unchecked exception of the backup module. Its {@link #code()} says what went wrong; the
 * message carries the values involved (image id, chunk, offsets, block counts).
 */
public class BackupException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final BackupError code;

    public BackupException(BackupError code, String message) {
        super(code + ": " + message);
        this.code = code;
    }

    public BackupException(BackupError code, String message, Throwable cause) {
        super(code + ": " + message, cause);
        this.code = code;
    }

    public BackupError code() {
        return code;
    }
}
