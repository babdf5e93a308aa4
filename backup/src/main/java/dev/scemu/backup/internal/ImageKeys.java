package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.backup.KdfParameters;
import dev.scemu.core.PhaseTrace;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Keys of one encrypted image. {@code master = Argon2id(password, salt, memory, iterations,
 * parallelism)}, 32 bytes; then, with HMAC-SHA256 keyed by the master:
 * <ul>
 *   <li>AES-256-GCM key = HMAC(master, "scemu-backup aes-256-gcm")</li>
 *   <li>MAC key = HMAC(master, "scemu-backup image mac")</li>
 *   <li>header key = HMAC(master, "scemu-backup header mac"): the header MAC of version 2 images</li>
 *   <li>key check = HMAC(master, "scemu-backup key check" || imageId UTF-8), stored in the header:
 *       a wrong password is detected before any chunk is touched</li>
 * </ul>
 */
final class ImageKeys {

    private final SecretKeySpec aesKey;
    private final byte[] macKey;
    private final byte[] headerKey;
    private final byte[] keyCheck;

    private ImageKeys(SecretKeySpec aesKey, byte[] macKey, byte[] headerKey, byte[] keyCheck) {
        this.aesKey = aesKey;
        this.macKey = macKey;
        this.headerKey = headerKey;
        this.keyCheck = keyCheck;
    }

    static ImageKeys derive(char[] password, KdfParameters kdf, byte[] salt, String imageId) {
        byte[] master = master(password, kdf, salt);
        try {
            return fromMaster(master, imageId);
        } finally {
            Arrays.fill(master, (byte) 0);
        }
    }

    /** {@code Argon2id(password, salt, kdf)}: the 32-byte master key (the caller wipes it). */
    static byte[] master(char[] password, KdfParameters kdf, byte[] salt) {
        try (PhaseTrace.Span span = PhaseTrace.begin("backup: key derivation (Argon2id " + kdf + ")")) {
            return Argon2id.derive(password, salt, kdf); // libargon2 or BouncyCastle: same bytes
        }
    }

    /** The keys of image {@code imageId} from its master key (not wiped here). */
    static ImageKeys fromMaster(byte[] master, String imageId) {
        byte[] aes = hmac(master, "scemu-backup aes-256-gcm".getBytes(StandardCharsets.US_ASCII));
        byte[] mac = hmac(master, "scemu-backup image mac".getBytes(StandardCharsets.US_ASCII));
        byte[] header = hmac(master, "scemu-backup header mac".getBytes(StandardCharsets.US_ASCII));
        byte[] check = hmac(master, concat("scemu-backup key check".getBytes(StandardCharsets.US_ASCII),
                imageId.getBytes(StandardCharsets.UTF_8)));
        ImageKeys keys = new ImageKeys(new SecretKeySpec(aes, "AES"), mac, header, check);
        Arrays.fill(aes, (byte) 0);
        return keys;
    }

    /** Derives the keys of an existing image and checks the password against its key check. */
    static ImageKeys open(char[] password, ImageHeader header) {
        if (password == null) {
            throw new BackupException(BackupError.PASSWORD_REQUIRED, "image " + header.imageId() + " is encrypted: a password is required");
        }
        KdfParameters kdf;
        try {
            kdf = new KdfParameters(header.kdfMemoryKiB(), header.kdfIterations(), header.kdfParallelism());
        } catch (BackupException e) {
            throw new BackupException(BackupError.CORRUPT_IMAGE, "image " + header.imageId() + ": " + e.getMessage(), e);
        }
        ImageKeys keys = derive(password, kdf, header.salt(), header.imageId());
        if (!MessageDigest.isEqual(keys.keyCheck, header.keyCheck())) {
            throw new BackupException(BackupError.WRONG_PASSWORD, "the password does not match image "
                    + header.imageId() + " (key check differs; a changed salt or KDF parameter in the header has the "
                    + "same effect)");
        }
        return keys;
    }

    SecretKeySpec aesKey() {
        return aesKey;
    }

    byte[] keyCheck() {
        return keyCheck.clone();
    }

    /** HMAC-SHA256(headerKey, what {@link ImageHeader#macInput} selects of the header record). */
    byte[] headerMac(byte[] macInput) {
        return hmac(headerKey, macInput);
    }

    /** HMAC-SHA256(macKey, imageSha256 || u64 chunkCount). */
    byte[] imageMac(byte[] imageSha256, long chunkCount) {
        return hmac(macKey, new Bin.Writer(40).bytes(imageSha256).u64(chunkCount).toArray());
    }

    /** HMAC-SHA256(key, data). */
    static byte[] hmac(byte[] key, byte[] data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is not available", e);
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
