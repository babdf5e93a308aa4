package dev.scemu.core.internal;

import dev.scemu.core.AbstractBlockDevice;
import dev.scemu.core.AllocationSink;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.IoCause;
import dev.scemu.core.NativeMemory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * File medium driven through libc ({@link LibC}, JNA direct mapping): {@code pread}/{@code pwrite}
 * of native addresses, with {@code O_DIRECT} when the file system accepts it, so the page cache is
 * bypassed and the device behaves like a disk.
 *
 * <h2>File</h2>
 * A new file is created with {@code ftruncate} to the geometry's exact capacity (sparse), or with
 * {@code fallocate} when {@link Options#preallocate()} asks for it; an existing file is opened only
 * if its length equals the capacity. {@link Options#readOnly()} opens an existing file
 * {@code O_RDONLY} (never creates one): writes and trims are refused with
 * {@link CoreError#READ_ONLY} and nothing reaches the file, flushes included.
 *
 * <h2>Block devices</h2>
 * {@code path} may also be a Linux block special file (a disk, partition or loop device): it is
 * never created, its length is {@code lseek(fd, 0, SEEK_END)} (the device's size, where
 * {@code FileChannel.size()} says 0) and must equal the capacity like a file's, and I/O is the
 * same {@code pread}/{@code pwrite}, direct when the probe below passes (the device's logical block
 * size decides the alignment, which the probe finds without {@code BLKSSZGET}). Opened for
 * writing it is claimed exclusively ({@code O_EXCL}, Linux's block-device meaning): the kernel
 * refuses with {@code EBUSY} while it is mounted or held by md or device-mapper, so scemu never
 * writes under a kernel that is using the disk; read-only it is opened shared, as
 * {@code mdadm --examine} does. A write-protected device ({@code BLKROGET}: a read-only loop
 * device, a locked card) is refused for writing with {@link CoreError#READ_ONLY} at open, where
 * Linux itself would open it and fail only the first write. {@link #flush()} is {@code fdatasync}, which on a block device
 * writes back its page cache and flushes the disk's volatile cache. Trim is the same
 * {@code fallocate(PUNCH_HOLE)}, which the kernel turns into a zeroing discard or write-zeroes
 * ({@code blkdev_fallocate}), else zeros are written. {@link #mapAllocation} reports every block
 * as data: a block device has no holes to ask about.
 *
 * <h2>Direct I/O</h2>
 * The file is opened with {@code O_DIRECT} if {@link Options#preferDirectIo()} and then probed
 * once: a read of one block at offset 0 into a 4 KiB-aligned buffer must succeed (else the file
 * system needs larger alignment than the block size, and the device reopens the file buffered), and
 * a read into a buffer at a 512-byte boundary decides whether caller buffers need 512- or
 * 4096-byte address alignment. If {@code open} refuses {@code O_DIRECT} with {@code EINVAL} (older
 * tmpfs, some FUSE file systems) the device uses buffered I/O; {@link #isDirectIo()} tells which.
 * File offsets and lengths are always whole blocks. A caller buffer that is on the heap, or direct
 * but not aligned, is copied through a per-thread aligned bounce buffer in pieces of at most
 * {@link #BOUNCE_BYTES} (or one block, if larger): no allocation per I/O.
 *
 * <h2>Ordering</h2>
 * A completed write has reached the device (direct I/O) or the page cache (buffered) and is visible
 * to every later read. {@link #flush()} calls {@code fdatasync}, so every write and trim completed
 * before the call is durable when it returns (including the volatile cache of the disk below). A
 * {@code fua} write is {@code pwrite} followed by {@code fdatasync} before returning: simpler than a
 * second {@code O_DSYNC} descriptor, at the price of also syncing other unflushed writes (which
 * the contract allows: they may survive, they are just not guaranteed). Close does not sync.
 *
 * <h2>Trim</h2>
 * {@code fallocate(PUNCH_HOLE | KEEP_SIZE)}: the range reads as zeros and stops using space. If
 * the file system does not support hole punching, zeros are written instead (metered as host
 * writes). Durable after the next flush like any write.
 *
 * <h2>Allocation</h2>
 * {@link #mapAllocation} asks the file system ({@link FileHoles}): blocks never written and blocks
 * trimmed by a punched hole are {@link dev.scemu.core.Allocation#HOLE}, the rest
 * {@link dev.scemu.core.Allocation#DATA}.
 *
 * <h2>Threads</h2>
 * {@code pread}/{@code pwrite} carry their own offsets, so I/O needs no lock. Close waits for I/O in
 * progress ({@link InFlightIo}) before closing the descriptor, so a racing I/O can never reach a
 * reused descriptor number.
 */
public final class DirectFileBlockDevice extends AbstractBlockDevice {

    /** Largest piece copied through the per-thread bounce buffer. */
    public static final int BOUNCE_BYTES = 1 << 20;
    private static final int PAGE_BYTES = 4096;
    private static final int SECTOR_BYTES = 512;
    private static final int FILE_MODE = 0644;

    private static final ThreadLocal<ByteBuffer> BOUNCE = new ThreadLocal<>();
    private static volatile ByteBuffer zeros;

    private final Path path;
    private final int fd;
    private final boolean directIo;
    private final boolean readOnly;
    /** A block special file: no holes to map, never created. */
    private final boolean blockDevice;
    /** Address alignment a caller's direct buffer needs to be used without a bounce copy. */
    private final int memoryAlignment;
    private final int bouncePieceBytes;
    private volatile boolean punchHoleSupported = true;
    private final InFlightIo inFlight = new InFlightIo();

    /**
     * How to open the file.
     *
     * @param preferDirectIo open with {@code O_DIRECT} if the file system accepts it
     * @param preallocate when creating, reserve the capacity with {@code fallocate} instead of a sparse {@code ftruncate}
     * @param readOnly open an existing file or block device {@code O_RDONLY}; writes and trims are refused
     */
    public record Options(boolean preferDirectIo, boolean preallocate, boolean readOnly) {
        /** Direct I/O when possible, sparse new files. */
        public static final Options DEFAULT = new Options(true, false, false);
        /** Buffered I/O through the page cache, sparse new files. */
        public static final Options BUFFERED = new Options(false, false, false);
        /** Direct I/O when possible, an existing file or block device opened {@code O_RDONLY}. */
        public static final Options READ_ONLY = new Options(true, false, true);

        /** Read-write options. */
        public Options(boolean preferDirectIo, boolean preallocate) {
            this(preferDirectIo, preallocate, false);
        }
    }

    private DirectFileBlockDevice(String name, Path path, BlockGeometry geometry, int fd, boolean directIo,
                                  int memoryAlignment, boolean readOnly, boolean blockDevice) {
        super(name, geometry);
        this.path = path;
        this.fd = fd;
        this.directIo = directIo;
        this.readOnly = readOnly;
        this.blockDevice = blockDevice;
        this.memoryAlignment = memoryAlignment;
        this.bouncePieceBytes = Math.max(BOUNCE_BYTES, geometry.blockSize());
    }

    /** Creates {@code path} or opens it if it exists, with {@link Options#DEFAULT}. */
    public static DirectFileBlockDevice open(String name, Path path, BlockGeometry geometry) {
        return open(name, path, geometry, Options.DEFAULT);
    }

    /**
     * Creates {@code path} (exact capacity) or opens it if it exists (its length must equal the
     * capacity); a block device or, with {@link Options#readOnly()}, any path must exist.
     */
    public static DirectFileBlockDevice open(String name, Path path, BlockGeometry geometry, Options options) {
        if (!LibC.isAvailable()) {
            throw new CoreException(CoreError.INVALID_ARGUMENT,
                    "device " + name + ": direct file I/O needs 64-bit Linux");
        }
        String file = path.toAbsolutePath().toString();
        if (!Files.exists(path)) {
            if (options.readOnly()) {
                throw new CoreException(CoreError.INVALID_ARGUMENT, "device " + name + ": no file at " + file
                        + " to open read-only");
            }
            createFile(file, geometry, options.preallocate());
        }
        boolean blockDevice = MediaFiles.isBlockDevice(path);
        int flags = LibC.O_CLOEXEC | (options.readOnly() ? LibC.O_RDONLY : LibC.O_RDWR)
                | (blockDevice && !options.readOnly() ? LibC.O_EXCL : 0);
        int fd = -1;
        boolean directIo = false;
        if (options.preferDirectIo() && LibC.O_DIRECT != 0) {
            fd = LibC.open(file, flags | LibC.O_DIRECT, 0);
            if (fd >= 0) {
                directIo = true;
            } else if (LibC.errno() != LibC.EINVAL) {
                throw openError("open(O_DIRECT)", LibC.errno(), file, blockDevice);
            }
        }
        int memoryAlignment = 1;
        try {
            if (directIo) {
                checkLength(fd, path, geometry);
                memoryAlignment = probeDirectIo(fd, geometry);
                if (memoryAlignment == 0) { // the file system needs more alignment than one block
                    LibC.close(fd);
                    fd = -1;
                    directIo = false;
                    memoryAlignment = 1;
                }
            }
            if (fd < 0) {
                fd = LibC.open(file, flags, 0);
                if (fd < 0) {
                    throw openError("open", LibC.errno(), file, blockDevice);
                }
                checkLength(fd, path, geometry);
            }
            if (blockDevice && !options.readOnly()) {
                checkWritable(fd, file);
            }
            return new DirectFileBlockDevice(name, path, geometry, fd, directIo, memoryAlignment,
                    options.readOnly(), blockDevice);
        } catch (RuntimeException e) {
            if (fd >= 0) {
                LibC.close(fd);
            }
            throw e;
        }
    }

    /**
     * Opens an existing disk {@code path}, a regular file or a block device, in blocks of
     * {@code blockSize} bytes: the block count is {@link #diskLengthBytes} ÷ {@code blockSize},
     * which must divide exactly. Read-only opens it {@code O_RDONLY}.
     *
     * @throws CoreException {@link CoreError#INVALID_ARGUMENT} naming the path if nothing is there
     *         or it is another kind of file (a directory, a character device, ...);
     *         {@link CoreError#IO_ERROR} naming the errno if it cannot be opened
     */
    public static DirectFileBlockDevice openDisk(String name, Path path, int blockSize, boolean readOnly) {
        long lengthBytes = diskLengthBytes(path);
        BlockGeometry geometry = BlockGeometry.ofBytes(blockSize, lengthBytes);
        return open(name, path, geometry, readOnly ? Options.READ_ONLY : Options.DEFAULT);
    }

    /**
     * The length of the disk {@code path}: a regular file's size, or a block device's size from
     * {@code lseek(fd, 0, SEEK_END)} on a read-only descriptor ({@code Files.size} says 0 for it).
     *
     * @throws CoreException {@link CoreError#INVALID_ARGUMENT} naming the path if it is neither
     *         a regular file nor a block device; {@link CoreError#IO_ERROR} naming the errno
     */
    public static long diskLengthBytes(Path path) {
        String type = MediaFiles.fileType(path);
        if (type == null) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, "no image file or block device at " + path);
        }
        if (type.equals("regular file")) {
            try {
                return Files.size(path);
            } catch (java.io.IOException e) {
                throw MediaFiles.ioError("cannot read the length of " + path, e);
            }
        }
        if (!type.equals("block device")) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, path + " is a " + type
                    + ", not an image file or a block device");
        }
        if (!LibC.isAvailable()) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, "block device " + path + ": needs 64-bit Linux");
        }
        String file = path.toAbsolutePath().toString();
        int fd = LibC.open(file, LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        if (fd < 0) {
            throw openError("open", LibC.errno(), file, true);
        }
        try {
            long length = LibC.lseek(fd, 0, LibC.SEEK_END);
            if (length < 0) {
                throw errnoError("lseek(SEEK_END)", LibC.errno(), 0, 0, file);
            }
            return length;
        } finally {
            LibC.close(fd);
        }
    }

    private static void createFile(String file, BlockGeometry geometry, boolean preallocate) {
        int fd = LibC.open(file, LibC.O_RDWR | LibC.O_CLOEXEC | LibC.O_CREAT | LibC.O_EXCL, FILE_MODE);
        if (fd < 0) {
            int errno = LibC.errno();
            if (errno == LibC.EEXIST) {
                return; // created concurrently: opened and length-checked like any existing file
            }
            throw errnoError("open(O_CREAT)", errno, 0, 0, file);
        }
        long capacity = geometry.capacityBytes();
        try {
            boolean sized = false;
            if (preallocate && capacity > 0) {
                if (LibC.fallocate(fd, 0, 0, capacity) == 0) {
                    sized = true;
                } else if (!isUnsupported(LibC.errno())) {
                    throw errnoError("fallocate", LibC.errno(), 0, capacity, file);
                }
            }
            if (!sized && LibC.ftruncate(fd, capacity) != 0) {
                throw errnoError("ftruncate", LibC.errno(), 0, capacity, file);
            }
            if (LibC.fsync(fd) != 0) {
                throw errnoError("fsync", LibC.errno(), 0, capacity, file);
            }
        } catch (RuntimeException e) {
            LibC.close(fd);
            MediaFiles.deleteQuietly(Path.of(file), e);
            throw e;
        }
        LibC.close(fd);
        MediaFiles.syncParentDirectory(Path.of(file));
    }

    /**
     * Refuses a write-protected block device (a read-only loop device, a locked card) up front:
     * Linux opens it {@code O_RDWR} and fails only the first write, with {@code EPERM}.
     */
    private static void checkWritable(int fd, String file) {
        int[] readOnly = new int[1];
        if (LibC.ioctl(fd, LibC.BLKROGET, readOnly) != 0) {
            throw new CoreException(CoreError.IO_ERROR, "ioctl(BLKROGET) of block device " + file + " failed: "
                    + LibC.describe(LibC.errno()));
        }
        if (readOnly[0] != 0) {
            throw new CoreException(CoreError.READ_ONLY, "block device " + file
                    + " is write-protected (BLKROGET): it can only be opened read-only");
        }
    }

    private static void checkLength(int fd, Path path, BlockGeometry geometry) {
        long length = LibC.lseek(fd, 0, LibC.SEEK_END);
        if (length < 0) {
            throw errnoError("lseek", LibC.errno(), 0, 0, path.toString());
        }
        MediaFiles.checkLength(path, length, geometry);
    }

    /**
     * Memory alignment that direct I/O needs on this file (512 or 4096), or 0 if a read of one
     * whole block at offset 0 is refused: then the block size is too small for this file system.
     */
    private static int probeDirectIo(int fd, BlockGeometry geometry) {
        if (geometry.blockCount() == 0) {
            return PAGE_BYTES;
        }
        int length = geometry.blockSize();
        // a whole number of pages: NativeMemory.allocateAligned can come up short for other capacities
        int probeBytes = (length + SECTOR_BYTES + PAGE_BYTES - 1) & -PAGE_BYTES;
        ByteBuffer probe = NativeMemory.allocateAligned(probeBytes, PAGE_BYTES);
        long address = NativeMemory.address(probe);
        if (probeRead(fd, address, length) != 0) {
            return 0;
        }
        return probeRead(fd, address + SECTOR_BYTES, length) == 0 ? SECTOR_BYTES : PAGE_BYTES;
    }

    /** 0 if the read works, else errno. */
    private static int probeRead(int fd, long address, int length) {
        long n;
        do {
            n = LibC.pread(fd, address, length, 0);
        } while (n < 0 && LibC.errno() == LibC.EINTR);
        return n >= 0 ? 0 : LibC.errno();
    }

    /** The backing file. */
    public Path path() {
        return path;
    }

    /** Whether the file is open with {@code O_DIRECT} (false: buffered through the page cache). */
    public boolean isDirectIo() {
        return directIo;
    }

    /** Whether the file is a block special file (a disk, partition or loop device). */
    public boolean isBlockDevice() {
        return blockDevice;
    }

    /** Whether the file is open {@code O_RDONLY}: writes and trims are refused, flushes do nothing. */
    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    /** Whether trims punch holes; false once the file system refused {@code FALLOC_FL_PUNCH_HOLE}. */
    public boolean punchesHoles() {
        return punchHoleSupported;
    }

    @Override
    protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        long offset = geometry().offsetOf(lba);
        int length = geometry().bufferLengthOf(blockCount);
        inFlight.enter();
        try {
            checkOpen();
            if (isUsableInPlace(buffer, bufferOffset)) {
                LibC.preadFully(fd, NativeMemory.address(buffer) + bufferOffset, length, offset, path.toString());
            } else {
                long bounce = bounceAddress();
                for (int done = 0; done < length; ) {
                    int piece = Math.min(length - done, bouncePieceBytes);
                    LibC.preadFully(fd, bounce, piece, offset + done, path.toString());
                    NativeMemory.copyToBuffer(bounce, buffer, bufferOffset + done, piece);
                    done += piece;
                }
            }
        } finally {
            inFlight.exit();
        }
        meter().issuedRead(IoCause.HOST, length);
    }

    @Override
    protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        long offset = geometry().offsetOf(lba);
        int length = geometry().bufferLengthOf(blockCount);
        inFlight.enter();
        try {
            checkOpen();
            if (isUsableInPlace(buffer, bufferOffset)) {
                LibC.pwriteFully(fd, NativeMemory.address(buffer) + bufferOffset, length, offset, path.toString());
            } else {
                long bounce = bounceAddress();
                for (int done = 0; done < length; ) {
                    int piece = Math.min(length - done, bouncePieceBytes);
                    NativeMemory.copyFromBuffer(buffer, bufferOffset + done, bounce, piece);
                    LibC.pwriteFully(fd, bounce, piece, offset + done, path.toString());
                    done += piece;
                }
            }
            meter().issuedWrite(IoCause.HOST, length);
            if (fua) {
                dataSync(offset, length);
            }
        } finally {
            inFlight.exit();
        }
    }

    @Override
    protected void doFlush() {
        inFlight.enter();
        try {
            checkOpen();
            dataSync(0, geometry().capacityBytes());
        } finally {
            inFlight.exit();
        }
    }

    @Override
    protected void doTrim(long lba, long blockCount) {
        long offset = geometry().offsetOf(lba);
        long length = geometry().lengthOf(blockCount);
        inFlight.enter();
        try {
            checkOpen();
            if (punchHoleSupported && punchHole(offset, length)) {
                return;
            }
            writeZeros(offset, length);
        } finally {
            inFlight.exit();
        }
    }

    @Override
    public void mapAllocation(long lba, long blockCount, AllocationSink sink) {
        if (blockDevice) {
            checkOpen();
            super.mapAllocation(lba, blockCount, sink); // all data
            return;
        }
        geometry().checkRange(lba, blockCount);
        inFlight.enter();
        try {
            checkOpen();
            if (blockCount > 0) {
                FileHoles.map(fd, path.toString(), geometry(), lba, blockCount, sink);
            }
        } finally {
            inFlight.exit();
        }
    }

    @Override
    protected void doClose() {
        inFlight.awaitIdle();
        if (LibC.close(fd) != 0) {
            throw errnoError("close", LibC.errno(), 0, 0, path.toString());
        }
    }

    private boolean isUsableInPlace(ByteBuffer buffer, int bufferOffset) {
        return buffer.isDirect() && ((NativeMemory.address(buffer) + bufferOffset) & (memoryAlignment - 1)) == 0;
    }

    /** True if punched; false if the file system does not support it (remembered). */
    private boolean punchHole(long offset, long length) {
        while (true) {
            if (LibC.fallocate(fd, LibC.FALLOC_FL_PUNCH_HOLE | LibC.FALLOC_FL_KEEP_SIZE, offset, length) == 0) {
                return true;
            }
            int errno = LibC.errno();
            if (isUnsupported(errno)) {
                punchHoleSupported = false;
                return false;
            }
            if (errno != LibC.EINTR) {
                throw errnoError("fallocate(PUNCH_HOLE)", errno, offset, length, path.toString());
            }
        }
    }

    private void writeZeros(long offset, long length) {
        long zeroAddress = NativeMemory.address(zeroBuffer());
        for (long done = 0; done < length; ) {
            int piece = (int) Math.min(length - done, BOUNCE_BYTES);
            LibC.pwriteFully(fd, zeroAddress, piece, offset + done, path.toString());
            done += piece;
        }
        meter().issuedWrite(IoCause.HOST, length);
    }



    private void dataSync(long offset, long length) {
        while (LibC.fdatasync(fd) != 0) {
            if (LibC.errno() != LibC.EINTR) {
                throw errnoError("fdatasync", LibC.errno(), offset, length, path.toString());
            }
        }
    }

    /** This thread's aligned bounce buffer, allocated once per thread (grown for blocks above 1 MiB). */
    private long bounceAddress() {
        ByteBuffer bounce = BOUNCE.get();
        if (bounce == null || bounce.capacity() < bouncePieceBytes) {
            bounce = NativeMemory.allocateAligned(bouncePieceBytes, PAGE_BYTES);
            BOUNCE.set(bounce);
        }
        return NativeMemory.address(bounce);
    }

    /** A shared, never-written, aligned buffer of {@link #BOUNCE_BYTES} zeros. */
    private static ByteBuffer zeroBuffer() {
        ByteBuffer buffer = zeros;
        if (buffer == null) {
            synchronized (DirectFileBlockDevice.class) {
                buffer = zeros;
                if (buffer == null) {
                    buffer = NativeMemory.allocateAligned(BOUNCE_BYTES, PAGE_BYTES);
                    zeros = buffer;
                }
            }
        }
        return buffer;
    }

    private static boolean isUnsupported(int errno) {
        return errno == LibC.EOPNOTSUPP || errno == LibC.ENOSYS;
    }

    /** An open refused: names the errno, and for a busy block device who may hold it. */
    private static CoreException openError(String call, int errno, String file, boolean blockDevice) {
        String holder = blockDevice && errno == LibC.EBUSY
                ? " (the block device is in use: mounted, or held by md or device-mapper)" : "";
        return new CoreException(CoreError.IO_ERROR, call + " of " + (blockDevice ? "block device " : "") + file
                + " failed: " + LibC.describe(errno) + holder);
    }

    private static CoreException errnoError(String call, int errno, long offset, long length, String file) {
        return LibC.ioError(call, errno, offset, length, file);
    }
}
