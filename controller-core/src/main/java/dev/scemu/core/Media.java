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
 * {@link #openExisting} takes the geometry from an existing file's length. {@link #openDisk} opens
 * a disk that already exists, an image file or a Linux block device (a real disk, partition or
 * loop device), read-write or strictly read-only ({@code O_RDONLY}), with the {@code FILE} backend.
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

    /**
     * Opens the existing disk {@code path}, a regular (image) file or a block device, as a
     * {@link MediaKind#FILE} device of {@code blockSize}-byte blocks: the block count is
     * {@link #diskLengthBytes} ÷ {@code blockSize}, which must divide exactly. {@code readOnly}
     * opens it {@code O_RDONLY}: writes and trims are refused with {@link CoreError#READ_ONLY} and
     * nothing is ever written. A block device opened for writing is claimed exclusively
     * ({@code O_EXCL}): refused while mounted or held by the kernel's md or device-mapper.
     *
     * @throws CoreException {@link CoreError#INVALID_ARGUMENT} naming the path when nothing is
     *         there or it is neither a regular file nor a block device (a directory, a character
     *         device, ...); {@link CoreError#IO_ERROR} naming the errno when it cannot be opened
     */
    public static BlockDevice openDisk(Path path, int blockSize, boolean readOnly) {
        return DirectFileBlockDevice.openDisk(nameOf(path), path, blockSize, readOnly);
    }

    /**
     * The length in bytes of the disk {@code path}: a regular file's size, or a block device's
     * size ({@code lseek(SEEK_END)}; {@code Files.size} says 0 for a block device).
     *
     * @throws CoreException as {@link #openDisk}
     */
    public static long diskLengthBytes(Path path) {
        return DirectFileBlockDevice.diskLengthBytes(path);
    }

    private static String nameOf(Path path) {
        Path fileName = path.getFileName();
        return fileName != null ? fileName.toString() : path.toString();
    }
}
