package dev.scemu.core.internal;

import dev.scemu.core.AbstractBlockDevice;
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
 * lazily in chunks of {@code chunkBytes} (default {@link #DEFAULT_CHUNK_BYTES}); reads and writes
 * are address arithmetic plus one memory copy per chunk touched.
 *
 * <h2>File</h2>
 * A new file is created sparse ({@code setLength}, no zeros written) with the geometry's exact
 * capacity; an existing file is opened only if its length equals the capacity. Contents persist
 * across close and reopen.
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
 * other mappings or file descriptors of the file. {@link #flush()} msyncs every chunk dirtied since
 * the previous flush (a dirty flag per chunk, set after the copy), so every write and trim completed
 * before the flush call is durable when it returns. A {@code fua} write msyncs its own byte range
 * before returning. Close unmaps without syncing: the kernel still writes dirty pages back
 * eventually, but only flushed or fua data is guaranteed after a power cut.
 *
 * <h2>Trim</h2>
 * Trim writes zeros into the mapping (it does not punch holes: that would need a second file
 * descriptor and an {@code fdatasync} on flush; {@link DirectFileBlockDevice} punches holes).
 *
 * <h2>Threads</h2>
 * I/O takes no lock: chunk addresses live in an {@link AtomicLongArray}; only mapping a chunk for
 * the first time synchronises. Close waits for I/O in progress ({@link InFlightIo}) before unmapping.
 */
public final class MappedFileBlockDevice extends AbstractBlockDevice {

    /** Default bytes per mapped chunk. */
    public static final int DEFAULT_CHUNK_BYTES = 64 << 20;
    private static final int MIN_CHUNK_BYTES = 4096;
    private static final int MAX_CHUNK_BYTES = 1 << 30;

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
    private final Object mapLock = new Object();
    private final InFlightIo inFlight = new InFlightIo();

    private MappedFileBlockDevice(String name, Path path, BlockGeometry geometry, int chunkBytes,
                                  RandomAccessFile file) {
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
            return new MappedFileBlockDevice(name, path, geometry, chunkBytes, file);
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

    @Override
    protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        long offset = geometry().offsetOf(lba);
        int totalLength = geometry().bufferLengthOf(blockCount);
        inFlight.enter();
        try {
            checkOpen();
            int done = 0;
            while (done < totalLength) {
                long position = offset + done;
                int chunk = (int) (position >>> chunkShift);
                int within = (int) (position & chunkMask);
                int length = (int) Math.min(totalLength - done, chunkMask + 1 - within);
                NativeMemory.copyFromBuffer(buffer, bufferOffset + done, chunkAddress(chunk) + within, length);
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
            for (int chunk = 0; chunk < dirtyChunks.length(); chunk++) {
                if (dirtyChunks.get(chunk) != 0 && dirtyChunks.getAndSet(chunk, 0) != 0) {
                    try {
                        chunkBuffers[chunk].force();
                    } catch (UncheckedIOException e) {
                        dirtyChunks.set(chunk, 1);
                        throw MediaFiles.ioError("msync of chunk " + chunk + " of " + path + " failed", e);
                    }
                }
            }
        } finally {
            inFlight.exit();
        }
    }

    @Override
    protected void doTrim(long lba, long blockCount) {
        long offset = geometry().offsetOf(lba);
        long totalLength = geometry().lengthOf(blockCount);
        inFlight.enter();
        try {
            checkOpen();
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
        } finally {
            inFlight.exit();
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
        try {
            file.close();
        } catch (IOException e) {
            throw MediaFiles.ioError("closing " + path + " failed", e);
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
