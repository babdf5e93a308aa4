package dev.scemu.core.internal;

import dev.scemu.core.Allocation;
import dev.scemu.core.AllocationSink;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;

/**
 * The allocation map of a file medium from the file system: {@code lseek(SEEK_DATA)} and
 * {@code lseek(SEEK_HOLE)} walk the holes of {@code [lba, lba + blockCount)} (one pair of calls
 * per data extent, whatever its length), and the byte ranges are rounded to the device's blocks
 * conservatively: a block is a {@link Allocation#HOLE} only if it lies entirely inside a hole,
 * every other block is {@link Allocation#DATA}. The device's block {@code b} is the file's bytes
 * {@code [b * blockSize, (b + 1) * blockSize)}.
 *
 * <p>A file system without hole reporting answers {@code SEEK_DATA} with the offset itself
 * (Linux's generic fallback: the whole file is data), or fails with {@code EINVAL} /
 * {@code EOPNOTSUPP}; either way the range is reported as data. A file system reports
 * preallocated but unwritten extents as holes or as data, as it likes; both read as zeros or
 * are read to know. Blocks trimmed by punching a hole ({@link DirectFileBlockDevice},
 * {@link MappedFileBlockDevice}: whole pages) are holes; blocks a medium trims by writing zeros
 * (partial pages, a file system without hole punching) are data, as they are in the file.
 */
final class FileHoles {

    private FileHoles() {
    }

    /** Walks the map of {@code [lba, lba + blockCount)} of the file open as {@code fd}. */
    static void map(int fd, String file, BlockGeometry geometry, long lba, long blockCount, AllocationSink sink) {
        int blockSize = geometry.blockSize();
        long end = lba + blockCount;
        long cursor = lba; // blocks before it have been reported
        long position = geometry.offsetOf(lba);
        long endBytes = geometry.offsetOf(end);
        while (position < endBytes) {
            long dataStart = seek(fd, position, LibC.SEEK_DATA, file);
            if (dataStart == -2) {
                break; // no hole reporting: the rest is data
            }
            long holeEnd = dataStart < 0 ? endBytes : Math.min(dataStart, endBytes);
            long firstHoleBlock = (position + blockSize - 1) / blockSize;
            long endHoleBlock = holeEnd / blockSize;
            if (endHoleBlock > firstHoleBlock) {
                if (firstHoleBlock > cursor && !sink.extent(cursor, firstHoleBlock - cursor, Allocation.DATA)) {
                    return;
                }
                if (!sink.extent(firstHoleBlock, endHoleBlock - firstHoleBlock, Allocation.HOLE)) {
                    return;
                }
                cursor = endHoleBlock;
            }
            if (dataStart < 0 || dataStart >= endBytes) {
                break;
            }
            long next = seek(fd, dataStart, LibC.SEEK_HOLE, file);
            if (next < 0) {
                break; // cannot happen for an offset inside the file; data to the end
            }
            position = next;
        }
        if (cursor < end) {
            sink.extent(cursor, end - cursor, Allocation.DATA);
        }
    }

    /** The offset {@code lseek} finds, -1 for ENXIO (no data at or after the offset), -2 when unsupported. */
    private static long seek(int fd, long offset, int whence, String file) {
        while (true) {
            long result = LibC.lseek(fd, offset, whence);
            if (result >= 0) {
                return result;
            }
            int errno = LibC.errno();
            if (errno == LibC.ENXIO) {
                return -1;
            }
            if (errno == LibC.EINVAL || errno == LibC.EOPNOTSUPP) {
                return -2;
            }
            if (errno != LibC.EINTR) {
                throw new CoreException(CoreError.IO_ERROR, "lseek(" + (whence == LibC.SEEK_DATA ? "SEEK_DATA"
                        : "SEEK_HOLE") + ") failed: " + LibC.describe(errno) + " at offset " + offset + " of " + file);
            }
        }
    }
}
