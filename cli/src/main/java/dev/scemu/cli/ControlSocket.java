package dev.scemu.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Set;

/**
 * Where the control socket of a unit lives. {@code DIR/control.sock} when that path fits a unix
 * socket address (the kernel's {@code sun_path} holds 108 bytes with its NUL; we stop at
 * {@value #MAX_PATH_BYTES}); else {@code $TMPDIR/scemu-<user>/<first 32 hex of sha256(real DIR)>.sock}
 * in a directory that must be the user's own with mode 0700. Client and server derive the same
 * path from the real path of DIR, so nothing else records it.
 */
final class ControlSocket {

    static final String NAME = "control.sock";
    static final int MAX_PATH_BYTES = 100;

    private ControlSocket() {
    }

    /** The socket path of the unit in {@code realDir} (a real path: {@link Path#toRealPath}). */
    static Path path(Path realDir) {
        Path inDir = realDir.resolve(NAME);
        if (fits(inDir)) {
            return inDir;
        }
        Path fallback = fallbackDirectory().resolve(hash(realDir.toString()) + ".sock");
        if (!fits(fallback)) {
            throw new CliException("control socket paths " + inDir + " and " + fallback + " are longer than "
                    + MAX_PATH_BYTES + " bytes (a unix socket limit); set TMPDIR (java.io.tmpdir) to a shorter directory");
        }
        return fallback;
    }

    /** Creates the fallback directory (mode 0700) if needed and checks it is private to this user. */
    static void preparePrivateParent(Path socket) {
        Path parent = socket.getParent();
        if (parent.equals(fallbackDirectory())) {
            try {
                if (!Files.isDirectory(parent, LinkOption.NOFOLLOW_LINKS)) {
                    Files.createDirectories(parent, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                }
                Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(parent, LinkOption.NOFOLLOW_LINKS);
                String owner = Files.getOwner(parent, LinkOption.NOFOLLOW_LINKS).getName();
                if (!owner.equals(System.getProperty("user.name")) || !permissions.equals(PosixFilePermissions.fromString("rwx------"))) {
                    throw new CliException("control socket directory " + parent + " is owned by " + owner + " with mode "
                            + PosixFilePermissions.toString(permissions) + "; it must be yours with rwx------");
                }
            } catch (IOException e) {
                throw new CliException("cannot prepare control socket directory " + parent + ": " + e.getMessage());
            }
        }
    }

    private static Path fallbackDirectory() {
        return Path.of(System.getProperty("java.io.tmpdir"), "scemu-" + System.getProperty("user.name"));
    }

    private static boolean fits(Path path) {
        return path.toString().getBytes(StandardCharsets.UTF_8).length <= MAX_PATH_BYTES;
    }

    private static String hash(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
