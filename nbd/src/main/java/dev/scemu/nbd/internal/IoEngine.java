package dev.scemu.nbd.internal;

import static dev.scemu.nbd.internal.NbdProtocol.BASE_ALLOCATION_ID;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_BLOCK_STATUS;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_CACHE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_FLAG_FAST_ZERO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_FLAG_FUA;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_FLAG_REQ_ONE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_FLAG_NO_HOLE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_FLUSH;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_READ;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_TRIM;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_WRITE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_WRITE_ZEROES;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_EINVAL;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_EIO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_ENOSPC;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_ENOTSUP;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_EPERM;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_ESHUTDOWN;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_STATE_HOLE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_STATE_ZERO;

import dev.scemu.core.Allocation;
import dev.scemu.core.AllocationSink;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.ScemuException;
import java.nio.ByteBuffer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Executes transmission requests of one connection against its export's device, translating byte
 * ranges into blocks. Requests not aligned to the device's block size are served at byte
 * granularity: reads read the covering blocks and return the requested bytes; writes and
 * write-zeroes read the partial first/last block, patch it and write it back while holding the
 * block's stripe lock exclusively (see {@link BlockLocks}). Trim discards only the blocks it
 * covers completely (the protocol allows rounding a trim inwards).
 *
 * <p>{@code NBD_CMD_BLOCK_STATUS} (only once {@code base:allocation} was selected for this export)
 * answers from {@link BlockDevice#mapAllocation} in the device's blocks: a block's state holds for
 * each of its bytes, the first and last descriptors are clipped to the request, adjacent extents
 * of one state are merged, and the descriptors never reach past the request. At most
 * {@link #MAX_DESCRIPTORS} descriptors (one with {@code NBD_CMD_FLAG_REQ_ONE}); the spec lets a
 * reply describe less than the whole range, and the client asks again from where it ends.
 * {@code NBD_CMD_CACHE} is validated and answered without device I/O. {@code NBD_CMD_FLAG_FAST_ZERO}
 * is refused with {@code ENOTSUP} before anything is done: no layer promises zeroing faster than
 * writing (a snapshot volume's trim writes zeros through its diff path before it trims below, a
 * RAID array's trim writes zeros on partial stripe rows to keep parity), which tells the client not
 * to pre-zero.
 *
 * <p>Data buffers belong to the {@link RequestSlot}; a WRITE payload is placed by the reader at
 * {@link #headPaddingBytes(long)} in a buffer of {@link #spanBytes(long, long)} so the covering
 * blocks can be written from it in one device call.
 */
final class IoEngine {

    private static final Logger LOG = LoggerFactory.getLogger(IoEngine.class);
    /** Shared source of zeros; never written. */
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(1 << 20);
    /** Most descriptors in one block status reply (64 KiB of payload). */
    static final int MAX_DESCRIPTORS = 8192;

    private final ExportHandle export;
    private final BlockDevice device;
    private final BlockLocks locks;
    private final int blockBytes;
    private final int blockShift;
    private final long blockMask;
    private final long sizeBytes;
    private final int maxRequestBytes;
    /** Whether base:allocation was selected for this export (NBD_CMD_BLOCK_STATUS allowed). */
    private final boolean allocationContext;
    /** Why the connection answers ESHUTDOWN (evicted); null while it is served. */
    private final Supplier<String> connectionShutdown;

    IoEngine(ExportHandle export, int maxRequestBytes, boolean allocationContext, Supplier<String> connectionShutdown) {
        this.export = export;
        this.allocationContext = allocationContext;
        this.connectionShutdown = connectionShutdown;
        this.device = export.device();
        this.locks = export.locks();
        this.blockBytes = device.blockSize();
        this.blockShift = Integer.numberOfTrailingZeros(blockBytes);
        this.blockMask = blockBytes - 1L;
        this.sizeBytes = export.sizeBytes();
        this.maxRequestBytes = maxRequestBytes;
    }

    /** Offset of byte {@code offsetBytes} within its block. */
    int headPaddingBytes(long offsetBytes) {
        return (int) (offsetBytes & blockMask);
    }

    /** Bytes of the whole blocks covering {@code [offsetBytes, offsetBytes + lengthBytes)}. */
    int spanBytes(long offsetBytes, long lengthBytes) {
        long end = headPaddingBytes(offsetBytes) + lengthBytes;
        return (int) ((end + blockMask) & ~blockMask);
    }

    /**
     * Checks a request before its payload is read; sets the slot's error if it must be refused.
     * Order: export removed or connection shut down, unknown command, invalid flags, read-only export, oversized payload,
     * range.
     */
    void validate(RequestSlot slot) {
        if (export.removed() || connectionShutdown.get() != null) {
            failShutDown(slot);
            return;
        }
        int type = slot.type;
        if (type != NBD_CMD_READ && type != NBD_CMD_WRITE && type != NBD_CMD_FLUSH && type != NBD_CMD_TRIM
                && type != NBD_CMD_WRITE_ZEROES && type != NBD_CMD_CACHE && type != NBD_CMD_BLOCK_STATUS) {
            slot.fail(NBD_EINVAL, "request type " + type + " is not supported");
            return;
        }
        int allowedFlags = NBD_CMD_FLAG_FUA
                | (type == NBD_CMD_WRITE_ZEROES ? NBD_CMD_FLAG_NO_HOLE | NBD_CMD_FLAG_FAST_ZERO : 0)
                | (type == NBD_CMD_BLOCK_STATUS ? NBD_CMD_FLAG_REQ_ONE : 0);
        if ((slot.flags & ~allowedFlags) != 0) {
            slot.fail(NBD_EINVAL, "command flags 0x" + Integer.toHexString(slot.flags) + " are not valid for "
                    + slot.command);
            return;
        }
        if (type == NBD_CMD_BLOCK_STATUS && !allocationContext) {
            slot.fail(NBD_EINVAL, "NBD_CMD_BLOCK_STATUS without a metadata context: select " + NbdProtocol.BASE_ALLOCATION
                    + " for export '" + export.name() + "' with NBD_OPT_SET_META_CONTEXT first");
            return;
        }
        if (type == NBD_CMD_BLOCK_STATUS && slot.lengthBytes == 0) {
            slot.fail(NBD_EINVAL, "NBD_CMD_BLOCK_STATUS of length 0");
            return;
        }
        boolean modifies = type == NBD_CMD_WRITE || type == NBD_CMD_TRIM || type == NBD_CMD_WRITE_ZEROES;
        if (modifies && export.readOnly()) {
            slot.fail(NBD_EPERM, "export '" + export.name() + "' is read-only");
            return;
        }
        if ((type == NBD_CMD_READ || type == NBD_CMD_WRITE) && slot.lengthBytes > maxRequestBytes) {
            slot.fail(NBD_EINVAL, "length " + slot.lengthBytes + " exceeds the maximum block size "
                    + maxRequestBytes);
            return;
        }
        if (type != NBD_CMD_FLUSH
                && (slot.offsetBytes < 0 || slot.lengthBytes > sizeBytes - slot.offsetBytes)) {
            boolean writes = type == NBD_CMD_WRITE || type == NBD_CMD_WRITE_ZEROES;
            slot.fail(writes ? NBD_ENOSPC : NBD_EINVAL, "range offset " + Long.toUnsignedString(slot.offsetBytes)
                    + " length " + slot.lengthBytes + " exceeds the export size " + sizeBytes);
            return;
        }
        if (type == NBD_CMD_WRITE_ZEROES && slot.has(NBD_CMD_FLAG_FAST_ZERO)) {
            slot.fail(NBD_ENOTSUP, "export '" + export.name() + "' cannot zero faster than it writes");
        }
    }

    /**
     * Executes a validated request; sets the slot's error (EIO, EPERM, ...) if the device fails, or
     * ESHUTDOWN without touching the device if the export has been removed meanwhile.
     */
    void execute(RequestSlot slot) {
        if (connectionShutdown.get() != null || !export.enter()) {
            failShutDown(slot);
            return;
        }
        try {
            switch (slot.type) {
                case NBD_CMD_READ -> read(slot);
                case NBD_CMD_WRITE -> write(slot);
                case NBD_CMD_FLUSH -> device.flush();
                case NBD_CMD_TRIM -> trim(slot);
                case NBD_CMD_WRITE_ZEROES -> writeZeroes(slot);
                case NBD_CMD_CACHE -> {
                    // no cache to fill: every request reaches the device anyway
                }
                case NBD_CMD_BLOCK_STATUS -> blockStatus(slot);
                default -> slot.fail(NBD_EINVAL, "request type " + slot.type + " is not supported");
            }
        } catch (ScemuException e) {
            // any layer's error, by category (ErrorMapping); a full snapshot store is ENOSPC
            slot.fail(ErrorMapping.errorOf(e), e.getMessage());
        } catch (RuntimeException e) {
            LOG.warn("export '{}': {} failed unexpectedly", export.name(), slot.command, e);
            slot.fail(NBD_EIO, String.valueOf(e));
        } finally {
            export.exit();
        }
    }

    private void failShutDown(RequestSlot slot) {
        String reason = connectionShutdown.get();
        slot.fail(NBD_ESHUTDOWN, (reason != null && !export.removed() ? reason
                : "export '" + export.name() + "' has been removed from the server") + ": disconnect");
    }

    private void read(RequestSlot slot) {
        int length = (int) slot.lengthBytes;
        if (length == 0) {
            return;
        }
        int span = spanBytes(slot.offsetBytes, length);
        ByteBuffer buffer = slot.data(span);
        device.read(slot.offsetBytes >>> blockShift, span >>> blockShift, buffer, 0);
        slot.dataOffset = headPaddingBytes(slot.offsetBytes);
        slot.dataLength = length;
    }

    private void write(RequestSlot slot) {
        long length = slot.lengthBytes;
        if (length == 0) {
            return;
        }
        long offset = slot.offsetBytes;
        boolean fua = slot.has(NBD_CMD_FLAG_FUA);
        ByteBuffer buffer = slot.data();
        long firstLba = offset >>> blockShift;
        long lastLba = (offset + length - 1) >>> blockShift;
        int blocks = (int) (lastLba - firstLba + 1);
        int headPad = headPaddingBytes(offset);
        int tailEnd = (int) ((offset + length) & blockMask);
        long exclusive = (headPad != 0 ? BlockLocks.blockMask(firstLba) : 0L)
                | (tailEnd != 0 ? BlockLocks.blockMask(lastLba) : 0L);
        long shared = BlockLocks.rangeMask(firstLba, blocks) & ~exclusive;
        locks.lock(shared, exclusive);
        try {
            if (headPad != 0 || tailEnd != 0) {
                fillPartialEdges(slot, buffer, firstLba, lastLba, headPad, tailEnd);
            }
            device.write(firstLba, blocks, buffer, 0, fua);
        } finally {
            locks.unlock(shared, exclusive);
        }
    }

    /** Copies the bytes of the partial first/last block that the write does not cover from the device into the span buffer. */
    private void fillPartialEdges(RequestSlot slot, ByteBuffer span, long firstLba, long lastLba, int headPad,
                                  int tailEnd) {
        ByteBuffer scratch = slot.scratch(blockBytes);
        boolean scratchHoldsFirst = false;
        if (headPad != 0) {
            device.read(firstLba, 1, scratch, 0);
            span.put(0, scratch, 0, headPad);
            scratchHoldsFirst = true;
        }
        if (tailEnd != 0) {
            if (!(scratchHoldsFirst && lastLba == firstLba)) {
                device.read(lastLba, 1, scratch, 0);
            }
            int lastBlockStart = (int) ((lastLba - firstLba) << blockShift);
            span.put(lastBlockStart + tailEnd, scratch, tailEnd, blockBytes - tailEnd);
        }
    }

    private void trim(RequestSlot slot) {
        long startLba = (slot.offsetBytes + blockMask) >>> blockShift;
        long endLba = (slot.offsetBytes + slot.lengthBytes) >>> blockShift;
        if (endLba > startLba) {
            long shared = BlockLocks.rangeMask(startLba, endLba - startLba);
            locks.lock(shared, 0L);
            try {
                device.trim(startLba, endLba - startLba);
            } finally {
                locks.unlock(shared, 0L);
            }
        }
        if (slot.has(NBD_CMD_FLAG_FUA)) {
            device.flush();
        }
    }

    private void writeZeroes(RequestSlot slot) {
        long offset = slot.offsetBytes;
        long end = offset + slot.lengthBytes;
        if (slot.lengthBytes == 0) {
            return;
        }
        long firstLba = offset >>> blockShift;
        long lastLba = (end - 1) >>> blockShift;
        int headPad = headPaddingBytes(offset);
        int tailEnd = (int) (end & blockMask);
        long fullStart = (offset + blockMask) >>> blockShift;
        long fullEnd = end >>> blockShift;
        long exclusive = (headPad != 0 ? BlockLocks.blockMask(firstLba) : 0L)
                | (tailEnd != 0 ? BlockLocks.blockMask(lastLba) : 0L);
        long shared = fullEnd > fullStart ? BlockLocks.rangeMask(fullStart, fullEnd - fullStart) & ~exclusive : 0L;
        locks.lock(shared, exclusive);
        try {
            if (firstLba == lastLba && (headPad != 0 || tailEnd != 0)) {
                zeroWithinBlock(slot, firstLba, headPad, tailEnd == 0 ? blockBytes : tailEnd);
            } else {
                if (headPad != 0) {
                    zeroWithinBlock(slot, firstLba, headPad, blockBytes);
                }
                if (tailEnd != 0) {
                    zeroWithinBlock(slot, lastLba, 0, tailEnd);
                }
            }
            if (fullEnd > fullStart) {
                if (slot.has(NBD_CMD_FLAG_NO_HOLE)) {
                    writeZeroBlocks(fullStart, fullEnd - fullStart);
                } else {
                    device.trim(fullStart, fullEnd - fullStart); // reads as zeros afterwards
                }
            }
        } finally {
            locks.unlock(shared, exclusive);
        }
        if (slot.has(NBD_CMD_FLAG_FUA)) {
            device.flush();
        }
    }

    private void zeroWithinBlock(RequestSlot slot, long lba, int fromByte, int toByte) {
        ByteBuffer scratch = slot.scratch(blockBytes);
        device.read(lba, 1, scratch, 0);
        for (int at = fromByte; at < toByte; ) {
            int n = Math.min(toByte - at, ZEROS.capacity());
            scratch.put(at, ZEROS, 0, n);
            at += n;
        }
        device.write(lba, 1, scratch, 0, false);
    }

    private void writeZeroBlocks(long lba, long blockCount) {
        int chunkBlocks = Math.max(1, ZEROS.capacity() >>> blockShift);
        ByteBuffer source = chunkBlocks << blockShift <= ZEROS.capacity() ? ZEROS
                : ByteBuffer.allocateDirect(blockBytes);
        long done = 0;
        while (done < blockCount) {
            int n = (int) Math.min(chunkBlocks, blockCount - done);
            device.write(lba + done, n, source, 0, false);
            done += n;
        }
    }

    private void blockStatus(RequestSlot slot) {
        long offset = slot.offsetBytes;
        long end = offset + slot.lengthBytes;
        long firstLba = offset >>> blockShift;
        long endLba = (end + blockMask) >>> blockShift;
        int limit = slot.has(NBD_CMD_FLAG_REQ_ONE) ? 1 : MAX_DESCRIPTORS;
        Descriptors descriptors = new Descriptors(slot.data(4 + 8 * limit), limit, offset, end, blockShift);
        device.mapAllocation(firstLba, endLba - firstLba, descriptors);
        descriptors.finish();
        slot.dataOffset = 0;
        slot.dataLength = 4 + 8 * descriptors.count;
    }

    /**
     * Writes a block status payload: the context id, then (length, flags) descriptors in bytes,
     * clipped to the request and merged while the flags stay the same, at most {@code limit}.
     */
    private static final class Descriptors implements AllocationSink {
        private final ByteBuffer out;
        private final int limit;
        private final long offset;
        private final long end;
        private final int blockShift;
        private long pendingLength;
        private int pendingFlags;
        int count;

        Descriptors(ByteBuffer out, int limit, long offset, long end, int blockShift) {
            this.out = out;
            this.limit = limit;
            this.offset = offset;
            this.end = end;
            this.blockShift = blockShift;
            out.putInt(0, BASE_ALLOCATION_ID);
        }

        @Override
        public boolean extent(long lba, long blockCount, Allocation allocation) {
            long from = Math.max(lba << blockShift, offset);
            long to = Math.min((lba + blockCount) << blockShift, end);
            int flags = switch (allocation) {
                case HOLE -> NBD_STATE_HOLE | NBD_STATE_ZERO;
                case ZERO -> NBD_STATE_ZERO;
                case DATA -> 0;
            };
            if (pendingLength > 0 && flags == pendingFlags) {
                pendingLength += to - from;
                return true;
            }
            if (pendingLength > 0) {
                emit();
                if (count == limit) {
                    return false;
                }
            }
            pendingFlags = flags;
            pendingLength = to - from;
            return true;
        }

        void finish() {
            if (pendingLength > 0 && count < limit) {
                emit();
            }
        }

        private void emit() {
            int at = 4 + 8 * count;
            out.putInt(at, (int) pendingLength).putInt(at + 4, pendingFlags); // length <= request length < 2^32
            count++;
            pendingLength = 0;
        }
    }
}
