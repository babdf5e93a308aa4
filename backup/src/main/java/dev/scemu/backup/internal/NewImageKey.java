package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.backup.ImageKey;
import dev.scemu.backup.KdfParameters;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * The {@link ImageKey} of a new image: a {@code SecureRandom} salt and {@code Argon2id(password,
 * salt, kdf)}. Taken once by a backup ({@link #take}); wiped at {@link #close()}.
 */
public final class NewImageKey implements ImageKey {

    private final KdfParameters kdf;
    private final byte[] salt;
    private byte[] master; // guarded by this; null once taken or closed
    private boolean taken;

    private NewImageKey(KdfParameters kdf, byte[] salt, byte[] master) {
        this.kdf = kdf;
        this.salt = salt;
        this.master = master;
    }

    /** Derives the key of a new image (one Argon2id run with {@code kdf}). */
    public static NewImageKey derive(char[] password, KdfParameters kdf) {
        if (password == null || password.length == 0) {
            throw new BackupException(BackupError.INVALID_ARGUMENT, "an image key needs a password");
        }
        byte[] salt = new byte[ArchiveLayout.SALT_BYTES];
        new SecureRandom().nextBytes(salt);
        return new NewImageKey(kdf, salt, ImageKeys.master(password, kdf, salt));
    }

    @Override
    public KdfParameters kdf() {
        return kdf;
    }

    /** The salt the key was derived with (recorded in the image header). */
    byte[] salt() {
        return salt.clone();
    }

    /**
     * The keys of image {@code imageId}, once: the master key is wiped after, so no second image
     * shares this salt. {@code INVALID_ARGUMENT} if the key was taken or closed, or was derived with
     * other parameters than {@code expected}.
     */
    synchronized ImageKeys take(String imageId, KdfParameters expected) {
        if (!kdf.equals(expected)) {
            throw new BackupException(BackupError.INVALID_ARGUMENT, "the image key was derived with " + kdf
                    + " but the backup asks for " + expected);
        }
        if (master == null) {
            throw new BackupException(BackupError.INVALID_ARGUMENT, "the image key was " + (taken ? "used by a backup"
                    + " already (one key per image: derive a new one)" : "closed"));
        }
        try {
            return ImageKeys.fromMaster(master, imageId);
        } finally {
            Arrays.fill(master, (byte) 0);
            master = null;
            taken = true;
        }
    }

    @Override
    public synchronized void close() {
        if (master != null) {
            Arrays.fill(master, (byte) 0);
            master = null;
        }
    }
}
