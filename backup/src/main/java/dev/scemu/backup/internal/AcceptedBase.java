package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.backup.CheckedBase;
import dev.scemu.backup.ImageInfo;
import dev.scemu.core.BlockGeometry;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;

/**
 * A base {@link BackupRun#openBase} opened with a password and checked: what an incremental records
 * of it (its info and whole-image hash), and a tag of the password it was opened with.
 *
 * <p>The tag ({@code HMAC-SHA256(random per-check key, password UTF-8)}, or none without a password)
 * lets the backup refuse options whose password differs from the one the base was checked with: the
 * chain is restored with one password, so an incremental whose base opens only with another would
 * make an image no restore can read. The tag is kept in memory only and its key is random per check.
 */
final class AcceptedBase implements CheckedBase {

    private final ImageInfo info;
    private final byte[] imageSha256;
    private final byte[] tagKey;
    private final byte[] passwordTag;

    AcceptedBase(ImageInfo info, byte[] imageSha256, char[] password) {
        this.info = info;
        this.imageSha256 = imageSha256.clone();
        this.tagKey = new byte[32];
        new SecureRandom().nextBytes(tagKey);
        this.passwordTag = tag(tagKey, password);
    }

    @Override
    public ImageInfo info() {
        return info;
    }

    byte[] imageSha256() {
        return imageSha256.clone();
    }

    @Override
    public void checkVolume(String volumeId, BlockGeometry geometry) {
        if (!info.sourceVolumeId().equals(volumeId) || info.blockSize() != geometry.blockSize()
                || info.blockCount() != geometry.blockCount()) {
            throw new BackupException(BackupError.BASE_MISMATCH, "base image " + info.imageId() + " is of volume "
                    + info.sourceVolumeId() + " (" + info.blockCount() + " x " + info.blockSize() + " B), the source is "
                    + volumeId + " (" + geometry + "): an incremental must be made on a base of the same volume");
        }
    }

    /** Whether {@code password} is the one this base was opened with (both null counts as the same). */
    boolean openedWith(char[] password) {
        return MessageDigest.isEqual(passwordTag, tag(tagKey, password));
    }

    private static byte[] tag(byte[] key, char[] password) {
        if (password == null) {
            return new byte[0];
        }
        ByteBuffer utf8 = StandardCharsets.UTF_8.encode(CharBuffer.wrap(password));
        byte[] bytes = new byte[utf8.remaining()];
        utf8.get(bytes);
        try {
            return ImageKeys.hmac(key, bytes);
        } finally {
            Arrays.fill(bytes, (byte) 0);
            if (utf8.hasArray()) {
                Arrays.fill(utf8.array(), (byte) 0);
            }
        }
    }
}
