package dev.scemu.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;

/** Ed25519 keys as PEM files (PKCS#8 private keys, as written by {@code openssl genpkey -algorithm ed25519}). */
final class KeyFiles {

    private KeyFiles() {
    }

    static PrivateKey readPrivate(Path file) {
        byte[] der = readPem(file, "PRIVATE KEY");
        try {
            return KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(der));
        } catch (GeneralSecurityException e) {
            throw new CliException(file + " is not an Ed25519 private key: " + e.getMessage());
        }
    }

    static PublicKey readPublic(Path file) {
        byte[] der = readPem(file, "PUBLIC KEY");
        try {
            return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(der));
        } catch (GeneralSecurityException e) {
            throw new CliException(file + " is not an Ed25519 public key: " + e.getMessage());
        }
    }

    /** Writes a private key readable by its owner only (mode 0600 from the moment the file exists). */
    static void writePrivate(Path file, PrivateKey key) {
        try {
            Files.deleteIfExists(file);
            if (file.toAbsolutePath().getFileSystem().supportedFileAttributeViews().contains("posix")) {
                Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            }
        } catch (IOException e) {
            throw new CliException("cannot write " + file + ": " + e.getMessage());
        }
        write(file, "PRIVATE KEY", key.getEncoded());
    }

    static void writePublic(Path file, PublicKey key) {
        write(file, "PUBLIC KEY", key.getEncoded());
    }

    private static void write(Path file, String type, byte[] der) {
        String pem = "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
        try {
            Files.writeString(file, pem);
        } catch (IOException e) {
            throw new CliException("cannot write " + file + ": " + e.getMessage());
        }
    }

    private static byte[] readPem(Path file, String type) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new CliException("cannot read key file " + file + ": " + CliException.reason(e));
        }
        String body = text.replaceAll("-----(BEGIN|END) [A-Z ]+-----", "").replaceAll("\\s", "");
        if (!text.contains("BEGIN " + type) && text.contains("-----BEGIN")) {
            throw new CliException(file + " does not hold a " + type.toLowerCase());
        }
        try {
            return Base64.getDecoder().decode(body);
        } catch (IllegalArgumentException e) {
            throw new CliException(file + " is not a PEM " + type.toLowerCase() + " file");
        }
    }
}
