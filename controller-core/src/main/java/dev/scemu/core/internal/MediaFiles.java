package dev.scemu.core.internal;

import dev.scemu.core.BlockGeometry;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** File checks and messages shared by the file-backed media. */
final class MediaFiles {

    private MediaFiles() {
    }

    /** Throws unless a file of {@code lengthBytes} bytes can back {@code geometry} exactly. */
    static void checkLength(Path path, long lengthBytes, BlockGeometry geometry) {
        if (lengthBytes != geometry.capacityBytes()) {
            throw new CoreException(CoreError.INVALID_ARGUMENT,
                    "file " + path + " has " + lengthBytes + " bytes but geometry " + geometry + " needs exactly "
                            + geometry.capacityBytes() + " bytes");
        }
    }

    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFBLK = 0060000;
    private static final int S_IFDIR = 0040000;
    private static final int S_IFCHR = 0020000;
    private static final int S_IFIFO = 0010000;

    /**
     * What {@code path} is, following symbolic links (as {@code stat(2)}'s {@code st_mode} says):
     * "regular file", "block device", "directory", "character device", "fifo", "socket", or null
     * if nothing is there.
     */
    static String fileType(Path path) {
        int mode;
        try {
            mode = (Integer) Files.getAttribute(path, "unix:mode");
        } catch (java.nio.file.NoSuchFileException e) {
            return null;
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            // no unix view (not Linux): only regular files and directories can be told apart
            return Files.isRegularFile(path) ? "regular file" : Files.isDirectory(path) ? "directory"
                    : Files.exists(path) ? "special file" : null;
        } catch (IOException e) {
            throw ioError("cannot stat " + path, e);
        }
        return switch (mode & S_IFMT) {
            case S_IFREG -> "regular file";
            case S_IFBLK -> "block device";
            case S_IFDIR -> "directory";
            case S_IFCHR -> "character device";
            case S_IFIFO -> "fifo";
            case S_IFSOCK -> "socket";
            default -> "special file";
        };
    }

    /** Whether {@code path} is a block special file (following symbolic links). */
    static boolean isBlockDevice(Path path) {
        return "block device".equals(fileType(path));
    }

    /**
     * Makes a newly created file's directory entry durable (fsync of the parent directory), so
     * that a device created and then flushed is still found after a power cut.
     */
    static void syncParentDirectory(Path path) {
        Path parent = path.toAbsolutePath().getParent();
        if (parent == null) {
            return;
        }
        try (FileChannel directory = FileChannel.open(parent, StandardOpenOption.READ)) {
            directory.force(true);
        } catch (IOException e) {
            throw ioError("fsync of directory " + parent + " failed", e);
        }
    }

    static void deleteQuietly(Path path, Throwable cause) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            cause.addSuppressed(e);
        }
    }

    static CoreException ioError(String message, Throwable cause) {
        return new CoreException(CoreError.IO_ERROR, message + ": " + cause, cause);
    }
}
