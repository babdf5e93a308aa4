package dev.scemu.core.internal;

import dev.scemu.core.AbstractBlockDevice;
import dev.scemu.core.Allocation;
import dev.scemu.core.AllocationSink;
import dev.scemu.core.BlockFill;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.IoCause;
import dev.scemu.core.LargeBuffers;
import dev.scemu.core.NativeMemory;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLongArray;
import net.openhft.chronicle.bytes.BytesStore;

/**
 * Off-heap memory medium. Storage is split into chunks of {@link #CHUNK_BYTES} allocated lazily
 * on first write, so an unwritten device costs no memory (sparse); unallocated chunks read as zeros.
 * A chunk is one transparent huge page where the kernel has them ({@link LargeBuffers#mapHugePages}:
 * an anonymous mapping the kernel zeroes, one page fault per chunk; a fresh 4 KiB page costs a
 * ~12 µs fault on the VMs of docs/benchmarks.md, and the chunks were 256 such faults per MiB, most of
 * the page faults of {@code scemu demo}); elsewhere a Chronicle native store, zeroed here. Trim zeroes the blocks (memory is kept until close).
 * {@link #mapAllocation} reports blocks of unallocated chunks as {@link Allocation#HOLE} and every
 * other block (trimmed ones included) as {@link Allocation#DATA}.
 *
 * <p>Volatile: contents live as long as the object. Flush has nothing to do; a power cut is
 * modelled by {@link dev.scemu.core.FaultInjectingDevice} above it.
 */
public final class MemoryBlockDevice extends AbstractBlockDevice {

    /** Bytes per lazily allocated chunk (or the block size, if larger): one huge page. */
    public static final int CHUNK_BYTES = (int) LargeBuffers.HUGE_PAGE_BYTES;

    /**
     * Alignment of every chunk's first byte. malloc hands out a 1 MiB chunk 16 bytes past a page
     * boundary, which put every block across two pages and every member buffer off the 32-byte
     * alignment ISA-L's parity kernel takes ({@link #doWriteComputed}); the chunk is allocated
     * this much larger and its start rounded up.
     */
    static final int CHUNK_ALIGNMENT = 4096;

    private final int chunkShift;
    private final long chunkMask;
    private final AtomicLongArray chunkAddresses;
    private final BytesStore<?, ?>[] chunkStores; // the chunks that are not mappings (null for a mapped chunk)
    private final Object allocationLock = new Object();

    public MemoryBlockDevice(String name, BlockGeometry geometry) {
        super(name, geometry);
        dev.scemu.core.JvmFlags.require();
        int chunkBytes = Math.max(CHUNK_BYTES, geometry.blockSize());
        this.chunkShift = Integer.numberOfTrailingZeros(chunkBytes);
        this.chunkMask = chunkBytes - 1L;
        long chunkCount = (geometry.capacityBytes() + chunkMask) >>> chunkShift;
        if (chunkCount > Integer.MAX_VALUE - 8) {
            throw new dev.scemu.core.CoreException(dev.scemu.core.CoreError.INVALID_ARGUMENT,
                    "memory device " + name + " of " + geometry + " is too large");
        }
        this.chunkAddresses = new AtomicLongArray((int) chunkCount);
        this.chunkStores = new BytesStore<?, ?>[(int) chunkCount];
    }

    @Override
    protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        long offset = geometry().offsetOf(lba);
        long remaining = geometry().lengthOf(blockCount);
        int bufferPos = bufferOffset;
        while (remaining > 0) {
            int chunk = (int) (offset >>> chunkShift);
            long within = offset & chunkMask;
            int length = (int) Math.min(remaining, chunkMask + 1 - within);
            long address = chunkAddresses.get(chunk);
            if (address == 0) {
                NativeMemory.zero(buffer, bufferPos, length);
            } else {
                NativeMemory.copyToBuffer(address + within, buffer, bufferPos, length);
            }
            offset += length;
            bufferPos += length;
            remaining -= length;
        }
        meter().issuedRead(IoCause.HOST, geometry().lengthOf(blockCount));
    }

    @Override
    protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        long offset = geometry().offsetOf(lba);
        long remaining = geometry().lengthOf(blockCount);
        int bufferPos = bufferOffset;
        while (remaining > 0) {
            int chunk = (int) (offset >>> chunkShift);
            long within = offset & chunkMask;
            int length = (int) Math.min(remaining, chunkMask + 1 - within);
            NativeMemory.copyFromBuffer(buffer, bufferPos, chunkAddress(chunk) + within, length);
            offset += length;
            bufferPos += length;
            remaining -= length;
        }
        meter().issuedWrite(IoCause.HOST, geometry().lengthOf(blockCount));
    }

    /**
     * A computed write whose range lies in one chunk runs {@code fill} on the chunk's memory (no
     * copy); a range across chunks takes the default path (scratch, then {@link #doWrite}).
     */
    @Override
    protected void doWriteComputed(long lba, int blockCount, BlockFill fill, ByteBuffer scratch, boolean fua) {
        long offset = geometry().offsetOf(lba);
        long length = geometry().lengthOf(blockCount);
        long within = offset & chunkMask;
        if (within + length > chunkMask + 1) {
            super.doWriteComputed(lba, blockCount, fill, scratch, fua);
            return;
        }
        fill.fill(chunkAddress((int) (offset >>> chunkShift)) + within, (int) length);
        meter().issuedWrite(IoCause.HOST, length);
    }

    @Override
    protected void doFlush() {
        // memory has no volatile cache of its own
    }

    @Override
    protected void doTrim(long lba, long blockCount) {
        long offset = geometry().offsetOf(lba);
        long remaining = geometry().lengthOf(blockCount);
        while (remaining > 0) {
            int chunk = (int) (offset >>> chunkShift);
            long within = offset & chunkMask;
            long length = Math.min(remaining, chunkMask + 1 - within);
            long address = chunkAddresses.get(chunk);
            if (address != 0) {
                NativeMemory.zero(address + within, length);
            }
            offset += length;
            remaining -= length;
        }
    }

    @Override
    public void mapAllocation(long lba, long blockCount, AllocationSink sink) {
        geometry().checkRange(lba, blockCount);
        checkOpen();
        int blockSize = geometry().blockSize();
        long end = lba + blockCount;
        long runStart = lba;
        Allocation runState = null;
        long pos = lba;
        while (pos < end) {
            int chunk = (int) (geometry().offsetOf(pos) >>> chunkShift);
            long chunkEndBlock = Math.min(end, (((long) chunk + 1) << chunkShift) / blockSize);
            Allocation state = chunkAddresses.get(chunk) == 0 ? Allocation.HOLE : Allocation.DATA;
            if (state != runState) {
                if (runState != null && !sink.extent(runStart, pos - runStart, runState)) {
                    return;
                }
                runStart = pos;
                runState = state;
            }
            pos = chunkEndBlock;
        }
        if (runState != null) {
            sink.extent(runStart, end - runStart, runState);
        }
    }

    /** Bytes of off-heap memory allocated so far (chunks touched by writes). */
    public long allocatedBytes() {
        long count = 0;
        for (int i = 0; i < chunkAddresses.length(); i++) {
            if (chunkAddresses.get(i) != 0) {
                count++;
            }
        }
        return count << chunkShift;
    }

    private long chunkAddress(int chunk) {
        long address = chunkAddresses.get(chunk);
        if (address != 0) {
            return address;
        }
        synchronized (allocationLock) {
            checkOpen();
            address = chunkAddresses.get(chunk);
            if (address == 0) {
                long chunkBytes = chunkMask + 1;
                address = chunkBytes % LargeBuffers.HUGE_PAGE_BYTES == 0 ? LargeBuffers.mapHugePages(chunkBytes) : 0;
                if (address == 0) { // not 64-bit Linux (or no address space left): a native store
                    BytesStore<?, ?> store = BytesStore.nativeStoreWithFixedCapacity(chunkBytes + CHUNK_ALIGNMENT);
                    address = (store.addressForWrite(0) + CHUNK_ALIGNMENT - 1) & -CHUNK_ALIGNMENT;
                    NativeMemory.zero(address, chunkBytes);
                    chunkStores[chunk] = store;
                }
                chunkAddresses.set(chunk, address);
            }
            return address;
        }
    }

    @Override
    protected void doClose() {
        synchronized (allocationLock) {
            for (int i = 0; i < chunkStores.length; i++) {
                long address = chunkAddresses.getAndSet(i, 0);
                if (chunkStores[i] != null) {
                    chunkStores[i].releaseLast();
                    chunkStores[i] = null;
                } else if (address != 0) {
                    LargeBuffers.unmapHugePages(address, chunkMask + 1);
                }
            }
        }
    }
}
