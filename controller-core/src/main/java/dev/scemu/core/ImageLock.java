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
 * <p>QEMU locks the images it opens the same way ({@code block/file-posix.c}): an OFD read lock
 * on byte {@code 100 + p} for each permission {@code p} it holds (consistent read 0, write 1, ...)
 * and on byte {@code 200 + p} for each it does not share, and it opens only where no other open
 * holds a lock on the bytes its wants conflict with. So {@code qemu-img}, {@code qemu-io} and
 * {@code qemu-nbd} cannot open an image scemu holds ("Failed to get shared "write" lock"): the
 * exclusive lock covers every byte, the shared one every byte but 101, which says to QEMU that scemu
 * shares no permission but write, which a reader does not hold. Both refuse an image such a tool
 * has open: a writer conflicts with any of QEMU's locks, and a reader looks for a lock on byte 101,
 * QEMU's "write" permission (a QEMU reader holds none there and may read beside it; other scemu
 * readers leave that byte out). {@code qemu-img -U} (force share) takes no locks and reads anyway.
 *
 * <p>A file system that refuses OFD locks ({@code ENOLCK}, {@code EINVAL}, {@code EOPNOTSUPP},
 * {@code ENOSYS}: some network and FUSE file systems) gives a lock that is not {@link #held()}: the
 * caller goes on and says so, as QEMU does, rather than refusing images it could serve.
 */
public final class ImageLock implements AutoCloseable {

    private static final short F_RDLCK = 0;
    private static final short F_WRLCK = 1;
    private static final short F_UNLCK = 2;
    /** QEMU's lock byte of the write permission ({@code QEMU_LOCK_BASE} 100 + bit 1 of {@code BLK_PERM_WRITE}). */
    private static final long QEMU_WRITE_PERMISSION_BYTE = 101;
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
        int failed = exclusive ? setLock(fd, F_WRLCK, 0, 0)
                : setLock(fd, F_RDLCK, 0, QEMU_WRITE_PERMISSION_BYTE);
        if (failed == 0 && !exclusive) {
            failed = setLock(fd, F_RDLCK, QEMU_WRITE_PERMISSION_BYTE + 1, 0);
            if (failed == 0 && heldByOthers(fd, F_WRLCK, QEMU_WRITE_PERMISSION_BYTE, 1)) {
                failed = LibC.EAGAIN; // a QEMU tool has the image open for writing
            }
        }
        if (failed != 0) {
            int errno = failed;
            LibC.close(fd);
            if (refusesLocks(errno)) {
                return new ImageLock(file, exclusive, -1, "its file system refuses OFD locks: " + LibC.describe(errno));
            }
            if (errno == LibC.EAGAIN || errno == LibC.EACCES) {
                throw new CoreException(CoreError.IN_USE, file + " is in use: another process holds a lock on it"
                        + " (a scemu md serve, or qemu-img, qemu-io or qemu-nbd); stop it first");
            }
            throw new CoreException(CoreError.IO_ERROR, "cannot lock " + file + ": " + LibC.describe(errno));
        }
        return new ImageLock(file, exclusive, fd, null);
    }

    /** Whether {@code errno} of {@code F_OFD_SETLK} says the file system has no such locks (not a conflict). */
    static boolean refusesLocks(int errno) {
        return errno == LibC.ENOLCK || errno == LibC.EINVAL || errno == LibC.EOPNOTSUPP || errno == LibC.ENOSYS;
    }

    /** {@code F_OFD_SETLK} of {@code [start, start + length)} ({@code length} 0: to the end); 0 or the errno. */
    private static int setLock(int fd, short type, long start, long length) {
        return LibC.fcntl(fd, LibC.F_OFD_SETLK, NativeMemory.address(flock(type, start, length))) == 0 ? 0 : LibC.errno();
    }

    /** Whether another open holds a lock on {@code [start, start + length)} that a {@code type} lock would conflict with. */
    private static boolean heldByOthers(int fd, short type, long start, long length) {
        ByteBuffer probe = flock(type, start, length);
        return LibC.fcntl(fd, LibC.F_OFD_GETLK, NativeMemory.address(probe)) == 0 && probe.getShort(0) != F_UNLCK;
    }

    private static ByteBuffer flock(short type, long start, long length) {
        ByteBuffer lock = ByteBuffer.allocateDirect(FLOCK_BYTES).order(ByteOrder.nativeOrder());
        lock.putShort(0, type); // l_type; l_whence SEEK_SET (0); l_pid 0
        lock.putLong(8, start); // l_start
        lock.putLong(16, length); // l_len (0: to the end of the file, however it grows)
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
