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
