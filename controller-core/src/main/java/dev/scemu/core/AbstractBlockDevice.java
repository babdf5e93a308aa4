package dev.scemu.core;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Base class of block devices: checks ranges, buffers, read-only and closed state once, meters the
 * I/O received, and hands implementations only valid requests. Subclasses implement the
 * {@code do*} methods and release their resources in {@link #doClose()}, which runs exactly once.
 */
public abstract class AbstractBlockDevice implements BlockDevice {

    private final String name;
    private final BlockGeometry geometry;
    private final IoMeter meter;
    private final AtomicBoolean closed = new AtomicBoolean();

    protected AbstractBlockDevice(String name, BlockGeometry geometry) {
        this.name = name;
        this.geometry = geometry;
        this.meter = new IoMeter(name);
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final BlockGeometry geometry() {
        return geometry;
    }

    @Override
    public final IoMeter meter() {
        return meter;
    }

    @Override
    public final void read(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        int length = checkIo(lba, blockCount, buffer, bufferOffset);
        meter.receivedRead(length);
        if (blockCount > 0) {
            doRead(lba, blockCount, buffer, bufferOffset);
        }
    }

    @Override
    public final void write(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        int length = checkIo(lba, blockCount, buffer, bufferOffset);
        checkWritable();
        meter.receivedWrite(length);
        if (blockCount > 0) {
            doWrite(lba, blockCount, buffer, bufferOffset, fua);
        }
    }

    @Override
    public final void writeOver(long lba, int blockCount, ByteBuffer buffer, int bufferOffset,
                                ByteBuffer oldBuffer, int oldOffset, boolean fua) {
        int length = checkIo(lba, blockCount, buffer, bufferOffset);
        checkBuffer(oldBuffer, oldOffset, length, blockCount);
        checkWritable();
        meter.receivedWrite(length);
        if (blockCount > 0) {
            doWriteOver(lba, blockCount, buffer, bufferOffset, oldBuffer, oldOffset, fua);
        }
    }

    @Override
    public final void writeComputed(long lba, int blockCount, BlockFill fill, ByteBuffer scratch, boolean fua) {
        checkOpen();
        geometry.checkRange(lba, blockCount);
        int length = geometry.bufferLengthOf(blockCount);
        checkScratch(name, scratch, length);
        checkWritable();
        meter.receivedWrite(length);
        if (blockCount > 0) {
            doWriteComputed(lba, blockCount, fill, scratch, fua);
        }
    }

    @Override
    public final void flush() {
        checkOpen();
        if (!isReadOnly()) {
            doFlush();
        }
    }

    @Override
    public final void flushRange(long lba, long blockCount) {
        checkOpen();
        geometry.checkRange(lba, blockCount);
        if (!isReadOnly() && blockCount > 0) {
            doFlushRange(lba, blockCount);
        }
    }

    @Override
    public final void trim(long lba, long blockCount) {
        checkOpen();
        geometry.checkRange(lba, blockCount);
        checkWritable();
        if (blockCount > 0) {
            doTrim(lba, blockCount);
        }
    }

    @Override
    public final void close() {
        if (closed.compareAndSet(false, true)) {
            doClose();
        }
    }

    public final boolean isClosed() {
        return closed.get();
    }

    protected abstract void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset);

    protected abstract void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua);

    /**
     * Writes blocks whose current contents the caller hands over (see
     * {@link BlockDevice#writeOver}); the default ignores them and calls {@link #doWrite}.
     */
    protected void doWriteOver(long lba, int blockCount, ByteBuffer buffer, int bufferOffset,
                               ByteBuffer oldBuffer, int oldOffset, boolean fua) {
        doWrite(lba, blockCount, buffer, bufferOffset, fua);
    }

    /**
     * A computed write (see {@link BlockDevice#writeComputed}), request checked; the default fills
     * {@code scratch} and calls {@link #doWrite}, so a subclass sees the bytes like any write.
     */
    protected void doWriteComputed(long lba, int blockCount, BlockFill fill, ByteBuffer scratch, boolean fua) {
        fill.fill(NativeMemory.address(scratch), geometry.bufferLengthOf(blockCount));
        doWrite(lba, blockCount, scratch, 0, fua);
    }

    protected abstract void doFlush();

    /**
     * A ranged flush (see {@link BlockDevice#flushRange}), request checked and not empty; the
     * default flushes the whole device, which is always correct.
     */
    protected void doFlushRange(long lba, long blockCount) {
        doFlush();
    }

    protected abstract void doTrim(long lba, long blockCount);

    protected abstract void doClose();

    protected final void checkOpen() {
        if (closed.get()) {
            throw new CoreException(CoreError.CLOSED, "device " + name + " is closed");
        }
    }

    private void checkWritable() {
        if (isReadOnly()) {
            throw new CoreException(CoreError.READ_ONLY, "device " + name + " is read-only");
        }
    }

    private int checkIo(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        checkOpen();
        geometry.checkRange(lba, blockCount);
        int length = geometry.bufferLengthOf(blockCount);
        checkBuffer(buffer, bufferOffset, length, blockCount);
        return length;
    }

    /** The check of {@link #writeComputed}'s scratch buffer (direct, limit at least {@code length}). */
    static void checkScratch(String device, ByteBuffer scratch, int length) {
        if (scratch == null || !scratch.isDirect()) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, "device " + device
                    + ": computed write needs a direct scratch buffer, got " + scratch);
        }
        if (scratch.limit() < length) {
            throw new CoreException(CoreError.BUFFER_TOO_SMALL, "device " + device + ": computed write of "
                    + length + " bytes does not fit a scratch buffer of limit " + scratch.limit());
        }
    }

    private void checkBuffer(ByteBuffer buffer, int bufferOffset, int length, int blockCount) {
        if (buffer == null) {
            throw new CoreException(CoreError.INVALID_ARGUMENT, "buffer is null for device " + name);
        }
        if (bufferOffset < 0 || bufferOffset > buffer.limit() - length) {
            throw new CoreException(CoreError.BUFFER_TOO_SMALL,
                    "device " + name + ": " + blockCount + " blocks (" + length + " bytes) at buffer offset "
                            + bufferOffset + " do not fit a buffer of limit " + buffer.limit());
        }
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + name + ", " + geometry + "]";
    }
}
