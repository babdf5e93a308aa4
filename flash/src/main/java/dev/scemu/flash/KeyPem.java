package dev.scemu.flash;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;

/**
 * Ed25519 keys as PEM text: public keys as {@code PUBLIC KEY} (X.509 SubjectPublicKeyInfo), private
 * keys as {@code PRIVATE KEY} (PKCS#8), the forms {@code openssl genpkey -algorithm ed25519} and
 * {@code openssl pkey -pubout} write. Pure text conversion; files are the caller's business.
 * Malformed text fails with {@link FlashError#INVALID_ARGUMENT} naming {@code source}.
 */
public final class KeyPem {

    private static final String PUBLIC = "PUBLIC KEY";
    private static final String PRIVATE = "PRIVATE KEY";

    private KeyPem() {
    }

    public static String encode(PublicKey key) {
        return pem(PUBLIC, key.getEncoded());
    }

    public static String encode(PrivateKey key) {
        return pem(PRIVATE, key.getEncoded());
    }

    /** The Ed25519 public key in {@code text}; {@code source} names it in errors (a file name). */
    public static PublicKey decodePublic(String text, String source) {
        byte[] der = der(text, PUBLIC, source);
        try {
            return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(der));
        } catch (GeneralSecurityException e) {
            throw new FlashException(FlashError.INVALID_ARGUMENT, source + " is not an Ed25519 public key: " + e.getMessage());
        }
    }

    /** The Ed25519 private key in {@code text}; {@code source} names it in errors (a file name). */
    public static PrivateKey decodePrivate(String text, String source) {
        byte[] der = der(text, PRIVATE, source);
        try {
            return KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (GeneralSecurityException e) {
            throw new FlashException(FlashError.INVALID_ARGUMENT, source + " is not an Ed25519 private key: " + e.getMessage());
        }
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    private static byte[] der(String text, String type, String source) {
        if (!text.contains("-----BEGIN " + type + "-----")) {
            throw new FlashException(FlashError.INVALID_ARGUMENT, source + " does not hold a PEM "
                    + type.toLowerCase(java.util.Locale.ROOT) + (text.contains("-----BEGIN") ? " (it holds another PEM type)" : ""));
        }
        String body = text.replaceAll("-----(BEGIN|END) [A-Z ]+-----", "").replaceAll("\\s", "");
        try {
            return Base64.getDecoder().decode(body);
        } catch (IllegalArgumentException e) {
            throw new FlashException(FlashError.INVALID_ARGUMENT, source + " is not a valid PEM "
                    + type.toLowerCase(java.util.Locale.ROOT) + ": " + e.getMessage());
        }
    }
}
