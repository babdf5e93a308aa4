package dev.scemu.core;

import dev.scemu.core.internal.LibC;
import java.nio.file.Path;

/**
 * Starts the writeback of ranges of a file that is being appended, without waiting for it
 * ({@code sync_file_range(SYNC_FILE_RANGE_WRITE)} on Linux): the disk writes what was appended
 * while the caller prepares the next bytes, and a later fsync waits only for what is left. Makes
 * nothing durable (only fsync does), and is advisory: a failure to open or start is silent, the
 * fsync reports errors. Holds a read-only descriptor of the file; {@link #close()} is idempotent.
 * Elsewhere than 64-bit Linux it does nothing.
 */
public final class FileWriteback implements AutoCloseable {

    private int fd;

    private FileWriteback(int fd) {
        this.fd = fd;
    }

    /** Opens {@code file} (which must exist) for starting writeback of its ranges. */
    public static FileWriteback open(Path file) {
        return new FileWriteback(LibC.isAvailable() ? LibC.open(file.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC, 0) : -1);
    }

    /** Starts writeback of the dirty pages of bytes {@code [offset, offset + length)} and returns. */
    public void start(long offset, long length) {
        if (fd >= 0 && length > 0) {
            LibC.sync_file_range(fd, offset, length, LibC.SYNC_FILE_RANGE_WRITE);
        }
    }

    @Override
    public void close() {
        if (fd >= 0) {
            LibC.close(fd);
            fd = -1;
        }
    }
}
