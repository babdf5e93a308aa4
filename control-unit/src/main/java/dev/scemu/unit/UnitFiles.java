package dev.scemu.unit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The small files of a unit directory ({@code unit.properties}, {@code trusted-keys}, the test
 * signing key), written so that a crash leaves the old or the new file, never a torn one.
 *
 * <p>Ordering of {@link #writeAtomically}: write a temporary file in the same directory (created
 * with its final permissions — 0600 for a secret, so it is never readable by others, not even for
 * a moment; 0644 less the umask otherwise),
 * {@code fsync} it, rename it over the target, {@code fsync} the directory.
 */
final class UnitFiles {

    /** Owner read/write only: the mode of a private key file. */
    static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
    /** What other files of a unit get (less what the umask removes): readable by all, like the disk images. */
    static final Set<PosixFilePermission> SHARED = PosixFilePermissions.fromString("rw-r--r--");

    private UnitFiles() {
    }

    /** Replaces {@code file} with {@code content}; {@code ownerOnly} gives it mode 0600. */
    static void writeAtomically(Path file, byte[] content, boolean ownerOnly) {
        Path dir = file.toAbsolutePath().getParent();
        Path temp = null;
        try {
            temp = isPosix(dir)
                    ? Files.createTempFile(dir, "." + file.getFileName(), ".tmp", permissions(ownerOnly ? OWNER_ONLY : SHARED))
                    : Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(content);
                while (buffer.hasRemaining()) {
                    channel.write(buffer);
                }
                channel.force(true);
            }
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            temp = null;
            syncDirectory(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        } finally {
            if (temp != null) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException ignored) {
                    // the write already failed; that error is the one to report
                }
            }
        }
    }

    /** Replaces {@code file} with {@code properties} in Java properties format ({@link #writeAtomically}, mode 0644 less the umask). */
    static void writeProperties(Path file, java.util.Properties properties, String comment) {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try {
            properties.store(bytes, comment);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + file + ": " + e.getMessage(), e); // a byte array never fails
        }
        writeAtomically(file, bytes.toByteArray(), false);
    }

    /** {@code fsync} of a directory, so that a rename or a new entry in it is durable. */
    static void syncDirectory(Path dir) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException e) {
            // some file systems cannot open a directory for reading; the rename itself happened
        }
    }

    static boolean isPosix(Path path) {
        return path.getFileSystem().supportedFileAttributeViews().contains("posix");
    }

    private static FileAttribute<Set<PosixFilePermission>> permissions(Set<PosixFilePermission> permissions) {
        return PosixFilePermissions.asFileAttribute(permissions);
    }

    /** Deletes {@code root} and everything below it; a missing root is fine. */
    static void deleteTree(Path root) {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + root + ": " + e.getMessage(), e);
        }
    }
}
