package dev.scemu.core.internal;

import dev.scemu.core.AbstractBlockDevice;
import dev.scemu.core.AllocationSink;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.IoCause;
import dev.scemu.core.NativeMemory;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;
import net.openhft.chronicle.core.UnsafeMemory;

/**
 * Memory-mapped file medium: the device is a file of exactly {@code capacityBytes} bytes, mapped
 * lazily in chunks of {@code chunkBytes} (default {@link #DEFAULT_CHUNK_BYTES}) and synced with
 * {@code msync}; data moves through the file's page cache.
 *
 * <h2>File</h2>
 * A new file is created sparse ({@code setLength}, no zeros written) with the geometry's exact
 * capacity; an existing file is opened only if its length equals the capacity. Contents persist
 * across close and reopen.
 *
 * <h2>Data path: pread/pwrite into the page cache, the mapping for msync</h2>
 * On 64-bit Linux ({@link LibC}) reads and writes are {@code pread}/{@code pwrite} on a second
 * descriptor of the file (trims punch holes there); a heap buffer's bytes pass through a direct
 * buffer of the calling thread ({@link #WRITE_PIECE_BYTES}, one copy per piece). Until the
 * eleventh session heap buffers copied through the mapping and paid its page faults: 4 KiB random
 * I/O spread over a sparse 64 GiB file cost 40–134 µs a write and 31–103 µs a read with a heap
 * buffer, against 7.5–79 µs and 5–6.6 µs with a direct one (a library user's
 * {@code ByteBuffer.wrap(bytes)}). Without libc, I/O copies through the mapping. Every path reaches
 * the same page cache (Linux has one), so every path sees every other's data. Why not copy through
 * the mapping, as this class first did: a store to a page this process has not mapped yet is a
 * page fault, and on a sparse member most writes spread over a large volume touch such a page.
 * Measured on the 2-vCPU VM of {@code docs/benchmarks.md} (4 sparse 256 GiB members, RAID-0,
 * 4 KiB random writes over the whole volume, single thread):
 * <ul>
 *   <li>with the default read-around, each such fault zero-filled the device's {@code read_ahead_kb}
 *       (8 MiB there) of the hole into the page cache: 6.0 ms of CPU per 4 KiB write, 56 writes/s
 *       (perf: {@code __pi_memset} under {@code zero_user_segments} / {@code ext4_mpage_readpages} /
 *       {@code page_cache_ra_order} / {@code filemap_fault}, 51 % of samples);</li>
 *   <li>with {@code madvise(MADV_RANDOM)} (one page per fault) still 124 us of CPU per write (the
 *       fault, a major fault for a hole page, and page-table updates that trap to the hypervisor);</li>
 *   <li>with {@code pwrite}: 24 us, no page fault (the kernel fills the page cache without mapping
 *       the page).</li>
 * </ul>
 * Confined to 100 MiB the mapping was faster only until every page was faulted in once; the
 * syscall costs about a microsecond more per I/O after that. Each chunk is still advised
 * {@code MADV_RANDOM} when mapped, for the copies that go through it.
 *
 * <h2>Why not Chronicle {@code MappedFile}</h2>
 * Chronicle Bytes 2026.4 {@code ChunkedMappedFile.acquireByteStore} grows the file to
 * {@code (chunk + 1) * chunkSize + overlapSize} before mapping a chunk ({@code resizeRafIfTooSmall}),
 * so mapping the last chunk of a device whose capacity is not a multiple of the chunk size
 * lengthens the file (3 MiB + 4 KiB became 4 MiB in a check), and a chunk size dividing every
 * capacity would have to be a single block. Its stores also default to {@code SyncMode.ASYNC}
 * ({@code MS_ASYNC}), which does not make data durable. This class therefore maps chunks with
 * {@link FileChannel#map} (the last chunk with its exact remaining length, so the file never
 * grows), syncs with {@link MappedByteBuffer#force(int, int)} ({@code msync(MS_SYNC)}) and unmaps
 * deterministically with {@code sun.misc.Unsafe.invokeCleaner}.
 *
 * <h2>Ordering</h2>
 * A completed write is in the shared page cache and visible to every later read, also through
 * other mappings or file descriptors of the file. {@link #flush()} makes every chunk dirtied since
 * the previous flush durable (a dirty flag per chunk, set after the copy): one dirty chunk is
 * {@code msync(MS_SYNC)}ed; several are written back by one {@code fdatasync} of the file, which
 * like {@code msync} writes back only dirty pages (Linux tracks them per page, whichever path
 * dirtied them) but waits for one device cache flush instead of one per chunk. A {@code fua} write
 * msyncs its own byte range before returning ({@code msync} syncs a file range, so it also covers
 * pages {@code pwrite} dirtied). Close unmaps without syncing: the kernel still writes dirty pages
 * back eventually, but only flushed or fua data is guaranteed after a power cut.
 *
 * <h2>Trim</h2>
 * Trim punches a hole ({@code fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)} on the
 * pread/pwrite descriptor) over the whole 4 KiB pages of the range; the kernel drops those pages
 * from the page cache and from every mapping, so reads through the mapping or {@code pread} see
 * zeros at once. The partial pages at either end (a block size below 4 KiB) are zeroed through the
 * mapping and marked dirty like a write. The punch is durable at the next {@link #flush()}, which
 * then syncs with one {@code fdatasync} of the file (flag {@code punchedSinceFlush}, set after the
 * punch and cleared before the sync): the hole is an extent change of the file, which
 * {@code fdatasync} commits and a ranged {@code msync} is not promised to. Before that flush a power
 * cut leaves the old data or zeros (the file system's journal commits the punch whole or not at
 * all), never anything else. Without libc, or once the file system refuses hole punching
 * ({@code EOPNOTSUPP}), trim writes zeros through the mapping as before.
 *
 * <h2>Allocation</h2>
 * {@link #mapAllocation} asks the file system through a read-only descriptor opened for the call
 * ({@link FileHoles}; the mapping has no descriptor of its own): pages never written or trimmed
 * (punched) are {@link dev.scemu.core.Allocation#HOLE}. Blocks a trim zeroed through the mapping
 * (partial pages, no hole punching) are {@link dev.scemu.core.Allocation#DATA}, which is what the
 * file holds. Without libc (not 64-bit Linux) the whole range is data.
 *
 * <h2>Threads</h2>
 * I/O takes no lock: chunk addresses live in an {@link AtomicLongArray}; only mapping a chunk for
 * the first time synchronises. Close waits for I/O in progress ({@link InFlightIo}) before unmapping
 * and closing the descriptor, so a racing I/O never reaches a reused descriptor number.
 */
public final class MappedFileBlockDevice extends AbstractBlockDevice {

    /** Default bytes per mapped chunk. */
    public static final int DEFAULT_CHUNK_BYTES = 64 << 20;
    private static final int MIN_CHUNK_BYTES = 4096;
    private static final int MAX_CHUNK_BYTES = 1 << 30;
    /** Page size for hole punching: whole pages are punched, partial ones zeroed through the mapping. */
    private static final long PAGE_BYTES = 4096;
    /** A ranged flush over more dirty chunks than this syncs the whole file (see {@link #doFlushRange}). */
    static final int MAX_RANGED_CHUNKS = 8;

    private final Path path;
    private final RandomAccessFile file;
    private final FileChannel channel;
    private final int chunkShift;
    private final long chunkMask;
    /** Native address of byte 0 of each mapped chunk; 0 until mapped. Published after {@link #chunkBuffers}. */
    private final AtomicLongArray chunkAddresses;
    private final MappedByteBuffer[] chunkBuffers;
    /** 1 for each chunk written or trimmed since the last flush. */
    private final AtomicIntegerArray dirtyChunks;
    /**
     * A second descriptor of the file for {@code pread}/{@code pwrite} (-1 without {@link LibC}):
     * data moves through the shared page cache without mapping pages into this process.
     */
    private final int fd;
    /** Set after a hole is punched, cleared by the flush that makes it durable ({@code fdatasync}). */
    private volatile boolean punchedSinceFlush;
    /** False once the file system refused {@code FALLOC_FL_PUNCH_HOLE}: trims then write zeros. */
    private volatile boolean punchHoleSupported = true;
    private final Object mapLock = new Object();
    private final InFlightIo inFlight = new InFlightIo();

    private MappedFileBlockDevice(String name, Path path, BlockGeometry geometry, int chunkBytes,
                                  RandomAccessFile file, int fd) {
        super(name, geometry);
        this.path = path;
        this.file = file;
        this.channel = file.getChannel();
        this.chunkShift = Integer.numberOfTrailingZeros(chunkBytes);
        this.chunkMask = chunkBytes - 1L;
        int chunkCount = (int) ((geometry.capacityBytes() + chunkMask) >>> chunkShift);
        this.chunkAddresses = new AtomicLongArray(chunkCount);
        this.chunkBuffers = new MappedByteBuffer[chunkCount];
        this.dirtyChunks = new AtomicIntegerArray(chunkCount);
        this.fd = fd;
    }

    /** Creates {@code path} (sparse, exact capacity) or opens it if it exists; chunks of {@link #DEFAULT_CHUNK_BYTES}. */
    public static MappedFileBlockDevice open(String name, Path path, BlockGeometry geometry) {
        return open(name, path, geometry, DEFAULT_CHUNK_BYTES);
    }

    /**
     * Creates {@code path} (sparse, exact capacity) or opens it if it exists, mapping it in chunks
     * of {@code chunkBytes}: a power of two between 4 KiB and 1 GiB, at least the block size.
     */
    public static MappedFileBlockDevice open(String name, Path path, BlockGeometry geometry, int chunkBytes) {
        dev.scemu.core.JvmFlags.require();
        checkChunkBytes(name, geometry, chunkBytes);
        boolean created = false;
        RandomAccessFile file = null;
        try {
            if (!Files.exists(path)) {
                Files.createFile(path);
                created = true;
            }
            file = new RandomAccessFile(path.toFile(), "rw");
            if (created) {
                file.setLength(geometry.capacityBytes()); // ftruncate: sparse, nothing written
                file.getFD().sync();
                MediaFiles.syncParentDirectory(path);
            } else {
                MediaFiles.checkLength(path, file.length(), geometry);
            }
            int fd = -1;
            if (LibC.isAvailable()) {
                fd = LibC.open(path.toString(), LibC.O_RDWR | LibC.O_CLOEXEC, 0);
                if (fd < 0) {
                    throw new CoreException(CoreError.IO_ERROR, "cannot open " + path + " for pread/pwrite: "
                            + LibC.describe(LibC.errno()));
                }
                // no readahead: a 4 KiB pread of an uncached block would fill up to read_ahead_kb (8 MiB
                // here) of page cache in large folios, and every later small pwrite into such a folio
                // walks all its buffer heads (see WRITE_PIECE_BYTES); advice only, so a refusal is ignored
                LibC.posix_fadvise(fd, 0, 0, LibC.POSIX_FADV_RANDOM);
            }
            return new MappedFileBlockDevice(name, path, geometry, chunkBytes, file, fd);
        } catch (IOException | RuntimeException e) {
            closeQuietly(file, e);
            if (created) {
                MediaFiles.deleteQuietly(path, e);
            }
            if (e instanceof CoreException core) {
                throw core;
            }
            throw MediaFiles.ioError("cannot open mapped file " + path + " for device " + name + " of " + geometry, e);
        }
    }

    private static void checkChunkBytes(String name, BlockGeometry geometry, int chunkBytes) {
        if (Integer.bitCount(chunkBytes) != 1 || chunkBytes < Math.max(MIN_CHUNK_BYTES, geometry.blockSize())
                || chunkBytes > MAX_CHUNK_BYTES) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, "device " + name + ": chunk of " + chunkBytes
                    + " bytes must be a power of two in [max(4096, block size " + geometry.blockSize() + "), 2^30]");
        }
        if (((geometry.capacityBytes() + chunkBytes - 1) >>> Integer.numberOfTrailingZeros(chunkBytes))
                > Integer.MAX_VALUE - 8) {
            throw new CoreException(CoreError.INVALID_ARGUMENT,
                    "device " + name + " of " + geometry + " has too many chunks of " + chunkBytes + " bytes");
        }
    }

    /** The backing file. */
    public Path path() {
        return path;
    }

    /** Bytes per mapped chunk. */
    public int chunkBytes() {
        return (int) (chunkMask + 1);
    }

    /** Chunks written or trimmed since they were last synced (observability, tests). */
    public int dirtyChunkCount() {
        return dirtyCount(0, dirtyChunks.length() - 1);
    }

    /** Number of chunks mapped so far. */
    public int mappedChunkCount() {
        int count = 0;
        for (int i = 0; i < chunkAddresses.length(); i++) {
            if (chunkAddresses.get(i) != 0) {
                count++;
            }
        }
        return count;
    }

    @Override
    protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        long offset = geometry().offsetOf(lba);
        int totalLength = geometry().bufferLengthOf(blockCount);
        inFlight.enter();
        try {
            checkOpen();
            if (fd >= 0 && buffer.isDirect()) {
                LibC.preadFully(fd, NativeMemory.address(buffer) + bufferOffset, totalLength, offset, path.toString());
                meter().issuedRead(IoCause.HOST, totalLength);
                return;
            }
            if (fd >= 0) {
                heapInPieces(buffer, bufferOffset, totalLength, offset, false);
                meter().issuedRead(IoCause.HOST, totalLength);
                return;
            }
            int done = 0;
            while (done < totalLength) {
                long position = offset + done;
                int chunk = (int) (position >>> chunkShift);
                long within = position & chunkMask;
                int length = (int) Math.min(totalLength - done, chunkMask + 1 - within);
                NativeMemory.copyToBuffer(chunkAddress(chunk) + within, buffer, bufferOffset + done, length);
                done += length;
            }
        } finally {
            inFlight.exit();
        }
        meter().issuedRead(IoCause.HOST, totalLength);
    }

    /**
     * Most bytes one {@code pwrite} carries, and the alignment of its pieces. Linux 6.x (ext4)
     * caches a buffered write in folios as large as the write, and a later 4 KiB write into a
     * large folio walks every buffer head of it ({@code ext4_block_write_begin}): measured on this
     * VM's ext4 (kernel 6.18), random 4 KiB pwrites after filling a file with 64 KiB writes cost
     * 7–9 µs, after 256 KiB writes 17 µs, after 1 MiB writes 50 µs (up to 300 µs under load),
     * while filling it in 64 KiB pieces was as fast as in 1 MiB ones. A RAID-0 of md's 512 KiB
     * chunks, a RAID-1 mirror or a rebuild writes members in large runs; in 64 KiB pieces their
     * later small writes stay cheap.
     */
    public static final int WRITE_PIECE_BYTES = 64 * 1024;

    private void pwriteInPieces(long address, int totalLength, long offset) {
        int done = 0;
        while (done < totalLength) {
            long position = offset + done;
            int length = pieceLength(totalLength - done, position);
            LibC.pwriteFully(fd, address + done, length, position, path.toString());
            done += length;
        }
    }

    /** Bytes of the next piece at file {@code position}, at most {@code left}: up to the next {@link #WRITE_PIECE_BYTES} boundary. */
    private static int pieceLength(int left, long position) {
        return (int) Math.min(left, WRITE_PIECE_BYTES - (position & (WRITE_PIECE_BYTES - 1)));
    }

    /** The calling thread's direct buffer for heap buffers' bytes (one piece). */
    private static final ThreadLocal<ByteBuffer> BOUNCE =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(WRITE_PIECE_BYTES));

    /**
     * Moves a heap buffer's bytes by {@code pwrite} ({@code write}) or {@code pread} through
     * {@link #BOUNCE}, a piece at a time, in the pieces {@link #pwriteInPieces} writes.
     */
    private void heapInPieces(ByteBuffer buffer, int bufferOffset, int totalLength, long offset, boolean write) {
        ByteBuffer bounce = BOUNCE.get();
        long address = NativeMemory.address(bounce);
        int done = 0;
        while (done < totalLength) {
            long position = offset + done;
            int length = pieceLength(totalLength - done, position);
            if (write) {
                bounce.put(0, buffer, bufferOffset + done, length);
                LibC.pwriteFully(fd, address, length, position, path.toString());
            } else {
                LibC.preadFully(fd, address, length, position, path.toString());
                buffer.put(bufferOffset + done, bounce, 0, length);
            }
            done += length;
        }
    }

    @Override
    protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        long offset = geometry().offsetOf(lba);
        int totalLength = geometry().bufferLengthOf(blockCount);
        inFlight.enter();
        try {
            checkOpen();
            boolean written = false;
            if (fd >= 0 && buffer.isDirect()) {
                pwriteInPieces(NativeMemory.address(buffer) + bufferOffset, totalLength, offset);
                written = true;
            } else if (fd >= 0) {
                heapInPieces(buffer, bufferOffset, totalLength, offset, true);
                written = true;
            }
            int done = 0;
            while (done < totalLength) {
                long position = offset + done;
                int chunk = (int) (position >>> chunkShift);
                int within = (int) (position & chunkMask);
                int length = (int) Math.min(totalLength - done, chunkMask + 1 - within);
                if (!written) {
                    NativeMemory.copyFromBuffer(buffer, bufferOffset + done, chunkAddress(chunk) + within, length);
                } else if (fua) {
                    chunkAddress(chunk); // msync needs the chunk mapped (a mapping costs no page faults)
                }
                markDirty(chunk); // after the copy: a flush that clears the flag syncs this data
                if (fua) {
                    sync(chunk, within, length, position);
                }
                done += length;
            }
        } finally {
            inFlight.exit();
        }
        meter().issuedWrite(IoCause.HOST, totalLength);
    }

    @Override
    protected void doFlush() {
        inFlight.enter();
        try {
            checkOpen();
            int[] taken = new int[Math.min(dirtyChunks.length(), 8)];
            int count = 0;
            for (int chunk = 0; chunk < dirtyChunks.length(); chunk++) {
                if (dirtyChunks.get(chunk) != 0 && dirtyChunks.getAndSet(chunk, 0) != 0) {
                    if (count == taken.length) {
                        taken = java.util.Arrays.copyOf(taken, Math.min(dirtyChunks.length(), 2 * count));
                    }
                    taken[count++] = chunk;
                }
            }
            boolean punched = punchedSinceFlush;
            if (punched) {
                punchedSinceFlush = false; // before the sync: a punch racing with it is synced by the next flush
                fdatasync(count, taken);
            } else if (count == 1) {
                try {
                    chunkAddress(taken[0]); // written by pwrite, maybe not mapped yet
                    chunkBuffers[taken[0]].force(); // msync(MS_SYNC) of the one dirty chunk
                } catch (UncheckedIOException e) {
                    dirtyChunks.set(taken[0], 1);
                    throw MediaFiles.ioError("msync of chunk " + taken[0] + " of " + path + " failed", e);
                }
            } else if (count > 1) {
                fdatasync(count, taken);
            }
        } finally {
            inFlight.exit();
        }
    }

    /**
     * Syncs only the dirty chunks' parts inside the range, each with one {@code msync(MS_SYNC)}
     * ({@code vfs_fsync_range}: writes back that byte range's dirty pages, commits the file
     * system's journal if the file's block map changed, and flushes the disk's cache). The other
     * dirty pages of the file stay in the page cache: a snapshot store's commit on one partition
     * of a member file no longer writes back the data partition's scattered pages (an
     * {@code fdatasync} of a sparse member written all over took 0.2 to 0.5 s). A chunk the range
     * covers whole loses its dirty flag (taken before the sync, as {@link #doFlush} does); a
     * chunk it covers in part keeps it, so the next full flush syncs the rest. Falls back to the
     * full flush when the range is the whole file, after a hole was punched (an extent change the
     * full flush's {@code fdatasync} commits), or when more than {@link #MAX_RANGED_CHUNKS} chunks
     * of the range are dirty (one {@code fdatasync} then costs less than one sync per chunk).
     */
    @Override
    protected void doFlushRange(long lba, long blockCount) {
        long offset = geometry().offsetOf(lba);
        long end = offset + geometry().lengthOf(blockCount);
        int first = (int) (offset >>> chunkShift);
        int last = (int) ((end - 1) >>> chunkShift);
        if (punchedSinceFlush || (offset == 0 && end == geometry().capacityBytes())
                || dirtyCount(first, last) > MAX_RANGED_CHUNKS) {
            doFlush();
            return;
        }
        inFlight.enter();
        try {
            checkOpen();
            for (int chunk = first; chunk <= last; chunk++) {
                if (dirtyChunks.get(chunk) == 0) {
                    continue;
                }
                long chunkStart = (long) chunk << chunkShift;
                long from = Math.max(offset, chunkStart);
                long to = Math.min(end, chunkStart + chunkMask + 1);
                boolean whole = from == chunkStart && (to == chunkStart + chunkMask + 1 || to == geometry().capacityBytes());
                if (whole && dirtyChunks.getAndSet(chunk, 0) == 0) {
                    continue; // a concurrent flush took it
                }
                try {
                    chunkAddress(chunk); // written by pwrite, maybe not mapped yet
                    sync(chunk, (int) (from - chunkStart), (int) (to - from), from);
                } catch (CoreException e) {
                    if (whole) {
                        dirtyChunks.set(chunk, 1);
                    }
                    throw e;
                }
            }
        } finally {
            inFlight.exit();
        }
    }

    private int dirtyCount(int first, int last) {
        int count = 0;
        for (int chunk = first; chunk <= last; chunk++) {
            count += dirtyChunks.get(chunk);
        }
        return count;
    }

    @Override
    protected void doTrim(long lba, long blockCount) {
        long offset = geometry().offsetOf(lba);
        long totalLength = geometry().lengthOf(blockCount);
        inFlight.enter();
        try {
            checkOpen();
            long first = (offset + PAGE_BYTES - 1) & -PAGE_BYTES;
            long last = (offset + totalLength) & -PAGE_BYTES;
            if (fd >= 0 && punchHoleSupported && last > first && punchHole(first, last - first)) {
                punchedSinceFlush = true; // after the punch: a flush that clears it syncs the punch
                zeroThroughMapping(offset, first - offset);
                zeroThroughMapping(last, offset + totalLength - last);
            } else {
                zeroThroughMapping(offset, totalLength);
            }
        } finally {
            inFlight.exit();
        }
    }

    /** Zeros {@code [offset, offset + length)} through the mapping and marks the chunks dirty. */
    private void zeroThroughMapping(long offset, long totalLength) {
        long done = 0;
        while (done < totalLength) {
            long position = offset + done;
            int chunk = (int) (position >>> chunkShift);
            long within = position & chunkMask;
            long length = Math.min(totalLength - done, chunkMask + 1 - within);
            NativeMemory.zero(chunkAddress(chunk) + within, length);
            markDirty(chunk);
            done += length;
        }
    }

    /**
     * {@code fallocate(PUNCH_HOLE | KEEP_SIZE)} of whole pages on {@link #fd}: the kernel drops the
     * pages from the page cache and from every mapping of them (later loads fault in zeros). True if
     * punched; false if the file system does not support it (remembered: later trims write zeros).
     */
    private boolean punchHole(long offset, long length) {
        while (true) {
            if (LibC.fallocate(fd, LibC.FALLOC_FL_PUNCH_HOLE | LibC.FALLOC_FL_KEEP_SIZE, offset, length) == 0) {
                return true;
            }
            int errno = LibC.errno();
            if (errno == LibC.EOPNOTSUPP || errno == LibC.ENOSYS) {
                punchHoleSupported = false;
                return false;
            }
            if (errno != LibC.EINTR) {
                throw new CoreException(CoreError.IO_ERROR, "fallocate(PUNCH_HOLE) failed: " + LibC.describe(errno)
                        + " at offset " + offset + " length " + length + " of " + path);
            }
        }
    }

    /** Whether trims punch holes: libc is bound and the file system has not refused {@code FALLOC_FL_PUNCH_HOLE}. */
    public boolean punchesHoles() {
        return fd >= 0 && punchHoleSupported;
    }

    @Override
    public void mapAllocation(long lba, long blockCount, AllocationSink sink) {
        geometry().checkRange(lba, blockCount);
        checkOpen();
        if (blockCount == 0) {
            return;
        }
        if (!LibC.isAvailable()) {
            sink.extent(lba, blockCount, dev.scemu.core.Allocation.DATA);
            return;
        }
        String file = path.toAbsolutePath().toString();
        int fd = LibC.open(file, LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        if (fd < 0) {
            throw new CoreException(CoreError.IO_ERROR, "device " + name() + ": open of " + file
                    + " for its allocation map failed: " + LibC.describe(LibC.errno()));
        }
        try {
            FileHoles.map(fd, file, geometry(), lba, blockCount, sink);
        } finally {
            LibC.close(fd);
        }
    }

    @Override
    protected void doClose() {
        inFlight.awaitIdle();
        synchronized (mapLock) {
            for (int chunk = 0; chunk < chunkBuffers.length; chunk++) {
                MappedByteBuffer mapped = chunkBuffers[chunk];
                if (mapped != null) {
                    chunkAddresses.set(chunk, 0);
                    chunkBuffers[chunk] = null;
                    UnsafeMemory.UNSAFE.invokeCleaner(mapped); // munmap now, not at GC
                }
            }
        }
        if (fd >= 0) {
            LibC.close(fd);
        }
        try {
            file.close();
        } catch (IOException e) {
            throw MediaFiles.ioError("closing " + path + " failed", e);
        }
    }



    /**
     * One {@code fdatasync} of the file: writes back the dirty pages of every chunk at once, and
     * commits punched holes (an extent change {@code msync} of a range is not promised to cover).
     * On failure the taken chunks are dirty again and a later flush syncs the punches again.
     */
    private void fdatasync(int count, int[] taken) {
        try {
            channel.force(false);
        } catch (IOException | UncheckedIOException e) {
            for (int i = 0; i < count; i++) {
                dirtyChunks.set(taken[i], 1);
            }
            punchedSinceFlush = true;
            throw MediaFiles.ioError("fdatasync of " + count + " dirty chunks of " + path + " failed", e);
        }
    }

    private void markDirty(int chunk) {
        if (dirtyChunks.get(chunk) == 0) {
            dirtyChunks.set(chunk, 1);
        }
    }

    private void sync(int chunk, int within, int length, long position) {
        try {
            chunkBuffers[chunk].force(within, length);
        } catch (UncheckedIOException e) {
            throw MediaFiles.ioError("msync of " + length + " bytes at offset " + position + " of " + path
                    + " failed", e);
        }
    }

    /**
     * {@code madvise(MADV_RANDOM)} on a freshly mapped chunk. Without it the first page fault in a
     * region of the file reads around the faulting page (the device's read_ahead_kb, 8 MiB on the
     * measured VM): a 4 KiB store into a hole of a sparse member zero-filled megabytes of page
     * cache. Advice only: if it fails the mapping still works, only slower.
     */
    private static void adviseRandom(long address, long size) {
        if (LibC.isAvailable()) {
            LibC.madvise(address, size, LibC.MADV_RANDOM);
        }
    }

    private long chunkAddress(int chunk) {
        long address = chunkAddresses.get(chunk);
        return address != 0 ? address : mapChunk(chunk);
    }

    private long mapChunk(int chunk) {
        synchronized (mapLock) {
            checkOpen();
            long address = chunkAddresses.get(chunk);
            if (address != 0) {
                return address;
            }
            long start = (long) chunk << chunkShift;
            long size = Math.min(chunkMask + 1, geometry().capacityBytes() - start); // never past the end: no growth
            try {
                MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_WRITE, start, size);
                chunkBuffers[chunk] = mapped;
                address = NativeMemory.address(mapped);
                adviseRandom(address, size);
                chunkAddresses.set(chunk, address); // publishes chunkBuffers[chunk]
                return address;
            } catch (IOException e) {
                throw MediaFiles.ioError("mapping " + size + " bytes at offset " + start + " of " + path + " failed", e);
            }
        }
    }

    private static void closeQuietly(RandomAccessFile file, Throwable cause) {
        if (file != null) {
            try {
                file.close();
            } catch (IOException e) {
                cause.addSuppressed(e);
            }
        }
    }
}
