package dev.scemu.backup;

/**
 * The key of a new encrypted image, derived before the backup starts
 * ({@link BackupEngine#deriveImageKey}): a random salt and the Argon2id master key of
 * {@link BackupOptions#password()} with {@link BackupOptions#kdf()}, so a caller can run the
 * derivation on another thread while it does other start-up work (the CLI opens the unit
 * meanwhile). The derivation and its parameters are exactly those of a backup that derives the key
 * itself; only the moment changes.
 *
 * <p>One key per image: {@link BackupEngine#backup(BackupSource, BackupTarget, BackupOptions, ImageKey)}
 * refuses a key already used (a salt is never shared by two images). {@link #close()} wipes the
 * master key; idempotent. Thread-safe.
 */
public interface ImageKey extends AutoCloseable {

    /** The Argon2id parameters the key was derived with. */
    KdfParameters kdf();

    /** Wipes the master key; a backup given the key afterwards fails with {@link BackupError#INVALID_ARGUMENT}. */
    @Override
    void close();
}
