package dev.scemu.core;

import dev.scemu.core.internal.LibC;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * A lock on a whole image file that lives exactly as long as this object: a Linux open file
 * description lock ({@code fcntl(F_OFD_SETLK)}), exclusive (a write lock) for a writer, shared (a
 * read lock) for a reader, taken on a descriptor of its own that {@link #close} closes.
 *
 * <p>Why not {@link java.nio.channels.FileChannel#tryLock()}: that is a process-associated POSIX
 * lock, which the kernel drops as soon as <em>any</em> descriptor of the file in the process is
 * closed (a member device reopening its file, a probe reading a superblock), so it guards nothing
 * for long. An OFD lock belongs to its open file description alone, conflicts with OFD and POSIX
 * locks of other descriptors (in this process too) and dies with the process, so a {@code kill -9}
 * never leaves an image locked.
 *
 * <p>QEMU locks the images it opens the same way (OFD read locks on single bytes from offset 100,
 * {@code block/file-posix.c}), so {@code qemu-img}, {@code qemu-io} and {@code qemu-nbd} cannot
 * open an image scemu holds exclusively ("Failed to get shared "write" lock"), and scemu refuses an
 * image such a tool has open; {@code qemu-img -U} (force share) reads it anyway, as it would read
 * one qemu holds.
 *
 * <p>A file system that refuses OFD locks ({@code ENOLCK}, {@code EINVAL}, {@code EOPNOTSUPP},
 * {@code ENOSYS}: some network and FUSE file systems) gives a lock that is not {@link #held()}: the
 * caller goes on and says so, as QEMU does, rather than refusing images it could serve.
 */
public final class ImageLock implements AutoCloseable {

    private static final int F_OFD_GETLK = 36;
    private static final int F_OFD_SETLK = 37;
    private static final short F_RDLCK = 0;
    private static final short F_WRLCK = 1;
    private static final short F_UNLCK = 2;
    private static final int EACCES = 13;
    private static final int EAGAIN = 11;
    private static final int EINVAL = 22;
    private static final int ENOLCK = 37;
    private static final int ENOSYS = 38;
    private static final int EOPNOTSUPP = 95;
    /** {@code struct flock} on 64-bit Linux: l_type (short), l_whence (short), l_start, l_len (off_t), l_pid (int). */
    private static final int FLOCK_BYTES = 32;

    private final Path file;
    private final boolean exclusive;
    /** Why the file is not locked (its file system refuses OFD locks), or null if it is. */
    private final String unheldReason;
    private int fd;

    private ImageLock(Path file, boolean exclusive, int fd, String unheldReason) {
        this.file = file;
        this.exclusive = exclusive;
        this.fd = fd;
        this.unheldReason = unheldReason;
    }

    /**
     * Locks all of {@code file}: exclusively for {@code exclusive} (a writer: no other reader or
     * writer may hold it), else shared (other readers may, a writer may not).
     *
     * @return the lock; not {@link #held()} where the file system refuses OFD locks
     * @throws CoreException {@link CoreError#IN_USE} if another open holds a lock that conflicts
     *         (naming the file and the tools that lock images), {@link CoreError#IO_ERROR} if the
     *         file cannot be opened or locking fails for another reason
     */
    public static ImageLock acquire(Path file, boolean exclusive) {
        if (!LibC.isAvailable()) {
            throw new CoreException(CoreError.IO_ERROR, "image locks need 64-bit Linux: cannot lock " + file);
        }
        int fd = LibC.open(file.toString(), (exclusive ? LibC.O_RDWR : LibC.O_RDONLY) | LibC.O_CLOEXEC, 0);
        if (fd < 0) {
            throw new CoreException(CoreError.IO_ERROR, "cannot open " + file + " to lock it: "
                    + LibC.describe(LibC.errno()));
        }
        ByteBuffer lock = flock(exclusive ? F_WRLCK : F_RDLCK);
        if (LibC.fcntl(fd, F_OFD_SETLK, NativeMemory.address(lock)) != 0) {
            int errno = LibC.errno();
            LibC.close(fd);
            if (refusesLocks(errno)) {
                return new ImageLock(file, exclusive, -1, "its file system refuses OFD locks: " + LibC.describe(errno));
            }
            if (errno == EAGAIN || errno == EACCES) {
                throw new CoreException(CoreError.IN_USE, file + " is in use: another process holds a"
                        + (exclusive ? "" : "n exclusive") + " lock on it (a scemu md serve, or qemu-img, qemu-io or"
                        + " qemu-nbd); stop it first");
            }
            throw new CoreException(CoreError.IO_ERROR, "cannot lock " + file + ": " + LibC.describe(errno));
        }
        return new ImageLock(file, exclusive, fd, null);
    }

    /** Whether {@code errno} of {@code F_OFD_SETLK} says the file system has no such locks (not a conflict). */
    static boolean refusesLocks(int errno) {
        return errno == ENOLCK || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS;
    }

    /**
     * Whether some open other than this process's own locks holds a lock on {@code file} that an
     * exclusive lock would conflict with (false if the file cannot be opened).
     */
    public static boolean isLocked(Path file) {
        if (!LibC.isAvailable()) {
            return false;
        }
        int fd = LibC.open(file.toString(), LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        if (fd < 0) {
            return false;
        }
        try {
            ByteBuffer probe = flock(F_WRLCK);
            return LibC.fcntl(fd, F_OFD_GETLK, NativeMemory.address(probe)) == 0 && probe.getShort(0) != F_UNLCK;
        } finally {
            LibC.close(fd);
        }
    }

    private static ByteBuffer flock(short type) {
        ByteBuffer lock = ByteBuffer.allocateDirect(FLOCK_BYTES).order(ByteOrder.nativeOrder());
        lock.putShort(0, type); // l_type; l_whence SEEK_SET (0), l_start 0, l_len 0 (to the end, growing), l_pid 0
        return lock;
    }

    public Path file() {
        return file;
    }

    public boolean exclusive() {
        return exclusive;
    }

    /** False where the file system refuses OFD locks: nothing keeps another opener off the file. */
    public boolean held() {
        return unheldReason == null;
    }

    /** Why the file is not locked, or null if it is. */
    public String unheldReason() {
        return unheldReason;
    }

    /** Releases the lock (closes its descriptor); idempotent. */
    @Override
    public synchronized void close() {
        if (fd >= 0) {
            LibC.close(fd);
            fd = -1;
        }
    }
}
