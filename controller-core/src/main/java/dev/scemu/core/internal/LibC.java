package dev.scemu.core.internal;

import com.sun.jna.Native;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import com.sun.jna.Platform;

/**
 * The few Linux libc calls the file media need, direct-mapped through JNA ({@link Native#register}).
 * Native addresses are passed as {@code long} (64-bit Linux only: {@code size_t}, {@code ssize_t}
 * and {@code off_t} are 64-bit there). On failure a call returns -1 and {@link #errno()} tells why.
 *
 * <p>Flag values are those of Linux on x86-64 and AArch64; {@link #O_DIRECT} differs between the
 * two and is 0 (unsupported) on any other architecture.
 */
public final class LibC {

    public static final int O_RDONLY = 0;
    public static final int O_RDWR = 2;
    public static final int O_CREAT = 0100;
    public static final int O_EXCL = 0200;
    public static final int O_CLOEXEC = 02000000;
    /** 0 when this architecture's value is not known: then direct I/O is never attempted. */
    public static final int O_DIRECT = oDirect();

    public static final int FALLOC_FL_KEEP_SIZE = 0x01;
    public static final int FALLOC_FL_PUNCH_HOLE = 0x02;

    /** {@code madvise(2)} advice: expect random access (no read-around on page faults). */
    public static final int MADV_RANDOM = 1;
    /** {@code madvise(2)} advice: start reading the range now (one readahead of exactly it). */
    public static final int MADV_WILLNEED = 3;

    public static final int SEEK_END = 2;
    /** {@code lseek} to the next byte that holds data; fails with {@link #ENXIO} if there is none. */
    public static final int SEEK_DATA = 3;
    /** {@code lseek} to the next hole at or after the offset (end of file counts as a hole). */
    public static final int SEEK_HOLE = 4;

    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int ENXIO = 6;
    public static final int EAGAIN = 11;
    public static final int EACCES = 13;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int EINVAL = 22;
    public static final int ENOLCK = 37;
    public static final int ENOSYS = 38;
    public static final int EOPNOTSUPP = 95;

    private static final boolean AVAILABLE;

    static {
        boolean available = false;
        if (Platform.isLinux() && Platform.is64Bit()) {
            Native.register(LibC.class, Platform.C_LIBRARY_NAME);
            available = true;
        }
        AVAILABLE = available;
    }

    private LibC() {
    }

    /** Whether the calls are bound (64-bit Linux); calling them elsewhere throws {@link UnsatisfiedLinkError}. */
    public static boolean isAvailable() {
        return AVAILABLE;
    }

    private static int oDirect() {
        if (!Platform.isLinux()) {
            return 0;
        }
        if (Platform.isIntel()) {
            return 040000;
        }
        if (Platform.isARM()) {
            return 0200000;
        }
        return 0;
    }

    /** errno of the last failed call on this thread (JNA preserves it per thread). */
    public static int errno() {
        return Native.getLastError();
    }

    /** "errno=N (text)" for messages. */
    public static String describe(int errno) {
        String text;
        try {
            text = strerror(errno);
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            text = null;
        }
        return "errno=" + errno + " (" + (text == null ? "unknown" : text) + ")";
    }

    public static native int open(String path, int flags, int mode);

    public static native int close(int fd);

    /** Reads up to {@code count} bytes at file {@code offset} into native {@code address}. */
    public static native long pread(int fd, long address, long count, long offset);

    /** Writes up to {@code count} bytes from native {@code address} at file {@code offset}. */
    public static native long pwrite(int fd, long address, long count, long offset);

    public static native int fdatasync(int fd);

    public static native int fsync(int fd);

    /**
     * {@code sync_file_range(2)} with {@link #SYNC_FILE_RANGE_WRITE}: starts writeback of the dirty
     * pages of {@code [offset, offset + nbytes)} and returns without waiting for it (durability still
     * needs {@link #fsync}/{@link #fdatasync}, which then has less left to wait for).
     */
    public static native int sync_file_range(int fd, long offset, long nbytes, int flags);

    /** {@code sync_file_range} flag: initiate writeback of the range's dirty pages, do not wait. */
    public static final int SYNC_FILE_RANGE_WRITE = 2;

    public static native int ftruncate(int fd, long length);

    public static native int fallocate(int fd, int mode, long offset, long length);

    public static native long lseek(int fd, long offset, int whence);

    public static native String strerror(int errnum);

    /** {@code fcntl(2)} whose argument is a pointer (a {@code struct flock} at native {@code address}). */
    public static native int fcntl(int fd, int cmd, long address);

    /** {@code fcntl} commands of open file description locks (Linux 3.15+). */
    public static final int F_OFD_GETLK = 36;
    public static final int F_OFD_SETLK = 37;

    /** {@code ioctl(fd, BLKROGET, int *)}: 1 if the block device is read-only (write-protected). */
    public static final long BLKROGET = 0x125e;

    /** {@code ioctl(2)} whose argument is a pointer to {@code int} (JNA passes the array's address). */
    public static native int ioctl(int fd, long request, int[] value);

    /** Advises the kernel about {@code [address, address + length)} of a mapping; {@code address} page-aligned. */
    public static native int madvise(long address, long length, int advice);

    /**
     * {@code mmap(2)}: returns the mapping's address, or -1 ({@code MAP_FAILED}) with {@link #errno()}
     * set. {@code fd} -1 and {@code offset} 0 with {@link #MAP_ANONYMOUS}.
     */
    public static native long mmap(long address, long length, int protection, int flags, int fd, long offset);

    /** {@code munmap(2)}: unmaps {@code [address, address + length)}; 0, or -1 with {@link #errno()} set. */
    public static native int munmap(long address, long length);

    public static final int PROT_READ = 0x1;
    public static final int PROT_WRITE = 0x2;
    public static final int MAP_PRIVATE = 0x02;
    /** Not backed by a file; the kernel gives zeroed pages (same value on x86-64 and AArch64). */
    public static final int MAP_ANONYMOUS = 0x20;
    /** {@code madvise} advice: back the range with transparent huge pages where the kernel can. */
    public static final int MADV_HUGEPAGE = 14;

    /** {@code posix_fadvise(2)}: advice for an open file (returns 0 or the error number itself, not -1). */
    public static native int posix_fadvise(int fd, long offset, long length, int advice);

    /** {@code POSIX_FADV_RANDOM}: no readahead for reads through this open file. */
    public static final int POSIX_FADV_RANDOM = 1;

    /**
     * Reads exactly {@code length} bytes at file {@code offset} into native memory at
     * {@code address}, retrying short reads and {@code EINTR}.
     *
     * @throws CoreException {@code IO_ERROR} naming the call, errno, offset, length and {@code file},
     *     or the end of the file if it is shorter
     */
    public static void preadFully(int fd, long address, int length, long offset, String file) {
        int done = 0;
        while (done < length) {
            long n = pread(fd, address + done, length - done, offset + done);
            if (n > 0) {
                done += (int) n;
            } else if (n == 0) {
                throw new CoreException(CoreError.IO_ERROR, "pread hit end of file at offset " + (offset + done)
                        + " reading length " + length + " at offset " + offset + " of " + file
                        + " (file shorter than the device?)");
            } else if (errno() != EINTR) {
                throw ioError("pread", errno(), offset, length, file);
            }
        }
    }

    /** Writes exactly {@code length} bytes from native memory at {@code address} to file {@code offset}; as {@link #preadFully}. */
    public static void pwriteFully(int fd, long address, int length, long offset, String file) {
        int done = 0;
        while (done < length) {
            long n = pwrite(fd, address + done, length - done, offset + done);
            if (n > 0) {
                done += (int) n;
            } else if (n == 0) {
                throw new CoreException(CoreError.IO_ERROR, "pwrite wrote nothing at offset " + (offset + done)
                        + " writing length " + length + " at offset " + offset + " of " + file);
            } else if (errno() != EINTR) {
                throw ioError("pwrite", errno(), offset, length, file);
            }
        }
    }

    /** {@code IO_ERROR: call failed: <errno> at offset O length L of FILE}. */
    public static CoreException ioError(String call, int errno, long offset, long length, String file) {
        return new CoreException(CoreError.IO_ERROR, call + " failed: " + describe(errno) + " at offset "
                + offset + " length " + length + " of " + file);
    }
}
