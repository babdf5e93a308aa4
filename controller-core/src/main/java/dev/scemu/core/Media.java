package dev.scemu.core;

import dev.scemu.core.internal.DirectFileBlockDevice;
import dev.scemu.core.internal.MappedFileBlockDevice;
import dev.scemu.core.internal.MemoryBlockDevice;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Factory of the media backends, the bottom of every stack:
 * <ul>
 *   <li>{@link #memory}: off-heap memory, sparse, volatile ({@link MediaKind#MEMORY});</li>
 *   <li>{@link #mappedFile}: memory-mapped file of exactly the capacity, sparse, persistent;
 *       flush and FUA msync ({@link MediaKind#MAPPED});</li>
 *   <li>{@link #directFile}: file driven by pread/pwrite with O_DIRECT where the file system
 *       supports it (buffered otherwise), sparse, persistent; flush and FUA fdatasync, trim punches
 *       holes ({@link MediaKind#FILE}).</li>
 * </ul>
 * File media create the file if it does not exist and otherwise open it, refusing a file whose
 * length is not the geometry's capacity. {@link #open} picks a backend by {@link MediaKind};
 * {@link #openExisting} takes the geometry from an existing file's length.
 */
public final class Media {

    private Media() {
    }

    /** An off-heap memory device, all zeros, allocated lazily as it is written. */
    public static BlockDevice memory(String name, BlockGeometry geometry) {
        JvmFlags.require(); // one clear error instead of Chronicle's IllegalAccessError
        return new MemoryBlockDevice(name, geometry);
    }

    /** A memory-mapped file device on {@code path}: created sparse if missing, else opened (length must match). */
    public static BlockDevice mappedFile(Path path, BlockGeometry geometry) {
        JvmFlags.require(); // one clear error instead of Chronicle's IllegalAccessError
        return MappedFileBlockDevice.open(nameOf(path), path, geometry);
    }

    /** A pread/pwrite file device on {@code path} (O_DIRECT if supported): created sparse if missing, else opened. */
    public static BlockDevice directFile(Path path, BlockGeometry geometry) {
        JvmFlags.require(); // one clear error instead of Chronicle's IllegalAccessError
        return DirectFileBlockDevice.open(nameOf(path), path, geometry);
    }

    /**
     * A device of {@code kind}. {@code pathOrNull} is required for file media and ignored for
     * {@link MediaKind#MEMORY}; {@code name} names the device in messages and meters.
     */
    public static BlockDevice open(MediaKind kind, String name, Path pathOrNull, BlockGeometry geometry) {
        JvmFlags.require(); // one clear error instead of Chronicle's IllegalAccessError
        if (kind == MediaKind.MEMORY) {
            return memory(name, geometry);
        }
        if (pathOrNull == null) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, "medium " + kind + " of device " + name
                    + " needs a file path");
        }
        return switch (kind) {
            case MAPPED -> MappedFileBlockDevice.open(name, pathOrNull, geometry);
            case FILE -> DirectFileBlockDevice.open(name, pathOrNull, geometry);
            case MEMORY -> throw new AssertionError(kind);
        };
    }

    /**
     * Opens the existing file {@code path} as a device of {@code kind} in blocks of
     * {@code blockSize} bytes; the block count is the file length ÷ block size, which must divide
     * exactly.
     */
    public static BlockDevice openExisting(MediaKind kind, Path path, int blockSize) {
        JvmFlags.require(); // one clear error instead of Chronicle's IllegalAccessError
        if (kind == MediaKind.MEMORY) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, "a memory medium has no existing file: " + path);
        }
        if (!Files.isRegularFile(path)) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, "no medium file at " + path);
        }
        long lengthBytes;
        try {
            lengthBytes = Files.size(path);
        } catch (IOException e) {
            throw new CoreException(CoreError.IO_ERROR, "cannot read the length of " + path + ": " + e, e);
        }
        return open(kind, nameOf(path), path, BlockGeometry.ofBytes(blockSize, lengthBytes));
    }

    private static String nameOf(Path path) {
        Path fileName = path.getFileName();
        return fileName != null ? fileName.toString() : path.toString();
    }
}
