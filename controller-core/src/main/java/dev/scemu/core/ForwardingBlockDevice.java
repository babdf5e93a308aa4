package dev.scemu.core;

import java.nio.ByteBuffer;

/**
 * A device that passes every request to an inner device: the base of wrappers that change one
 * thing (stall a request, count writes, inject a fault) and forward the rest. Subclasses override
 * the {@code do*} methods they change and call {@code super} (or {@link #inner()}) for the rest.
 * Ranges, buffers and closed state are checked by {@link AbstractBlockDevice} before anything is
 * forwarded; the geometry and read-only state are the inner device's. A
 * {@link BlockDevice#writeOver} reaches {@link #doWrite} as a plain write (the inner device reads
 * the old contents itself if it needs them), so a subclass sees every write in one place.
 *
 * <p>Ordering: exactly the inner device's.
 */
public class ForwardingBlockDevice extends AbstractBlockDevice {

    private final BlockDevice inner;
    private final boolean ownsInner;

    /**
     * @param ownsInner whether {@link #close()} closes {@code inner} too
     */
    public ForwardingBlockDevice(String name, BlockDevice inner, boolean ownsInner) {
        super(name, inner.geometry());
        this.inner = inner;
        this.ownsInner = ownsInner;
    }

    /** The device requests are forwarded to. */
    protected final BlockDevice inner() {
        return inner;
    }

    @Override
    public boolean isReadOnly() {
        return inner.isReadOnly();
    }

    @Override
    public OptimalWrite optimalWrite() {
        return inner.optimalWrite();
    }

    @Override
    protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        inner.read(lba, blockCount, buffer, bufferOffset);
    }

    @Override
    protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        inner.write(lba, blockCount, buffer, bufferOffset, fua);
    }

    @Override
    protected void doFlush() {
        inner.flush();
    }

    @Override
    protected void doTrim(long lba, long blockCount) {
        inner.trim(lba, blockCount);
    }

    @Override
    public void mapAllocation(long lba, long blockCount, AllocationSink sink) {
        checkOpen();
        inner.mapAllocation(lba, blockCount, sink);
    }

    @Override
    public int redundantCopies() {
        return inner.redundantCopies();
    }

    @Override
    public boolean readCopy(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, int copy) {
        checkOpen();
        return inner.readCopy(lba, blockCount, buffer, bufferOffset, copy);
    }

    @Override
    public void repairFromCopy(long lba, int blockCount, int copy) {
        checkOpen();
        inner.repairFromCopy(lba, blockCount, copy);
    }

    @Override
    public AnnouncedWrites announceWrites(long[] lbas, int[] counts, int n) {
        checkOpen();
        return inner.announceWrites(lbas, counts, n);
    }

    @Override
    protected void doClose() {
        if (ownsInner) {
            inner.close();
        }
    }
}
