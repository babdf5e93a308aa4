package dev.scemu.core;

import java.nio.ByteBuffer;

/**
 * A window onto a contiguous extent of a parent device (a partition, a metadata region): block
 * {@code 0} of the slice is block {@code extent.lba()} of the parent. The slice does not own the
 * parent: closing the slice leaves the parent open. A flush of the slice is a ranged flush of its
 * extent of the parent ({@link BlockDevice#flushRange}): a partition's flush makes its own writes
 * durable, not its neighbours' (a parent that cannot flush a range flushes everything).
 *
 * <p>Ordering: exactly the parent's.
 */
public final class SliceDevice extends AbstractBlockDevice {

    private final BlockDevice parent;
    private final long firstLba;
    private final boolean readOnly;

    public SliceDevice(String name, BlockDevice parent, Extent extent, boolean readOnly) {
        super(name, new BlockGeometry(parent.blockSize(), extent.blockCount()));
        parent.geometry().checkRange(extent.lba(), extent.blockCount());
        this.parent = parent;
        this.firstLba = extent.lba();
        this.readOnly = readOnly || parent.isReadOnly();
    }

    /** A writable slice of {@code extent} of {@code parent}. */
    public static SliceDevice of(String name, BlockDevice parent, Extent extent) {
        return new SliceDevice(name, parent, extent, false);
    }

    public BlockDevice parent() {
        return parent;
    }

    /** The parent's blocks this slice covers. */
    public Extent extent() {
        return new Extent(firstLba, blockCount());
    }

    /** The parent's units, shifted by the slice's first block. */
    @Override
    public OptimalWrite optimalWrite() {
        return parent.optimalWrite().seenFrom(firstLba);
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        parent.read(firstLba + lba, blockCount, buffer, bufferOffset);
        meter().issuedRead(IoCause.HOST, geometry().lengthOf(blockCount));
    }

    @Override
    protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        parent.write(firstLba + lba, blockCount, buffer, bufferOffset, fua);
        meter().issuedWrite(IoCause.HOST, geometry().lengthOf(blockCount));
    }

    @Override
    protected void doWriteOver(long lba, int blockCount, ByteBuffer buffer, int bufferOffset,
                               ByteBuffer oldBuffer, int oldOffset, boolean fua) {
        parent.writeOver(firstLba + lba, blockCount, buffer, bufferOffset, oldBuffer, oldOffset, fua);
        meter().issuedWrite(IoCause.HOST, geometry().lengthOf(blockCount));
    }

    /** Forwarded to the parent, shifted by the slice's first block (a RAID array below sets its bits once). */
    @Override
    public AnnouncedWrites announceWrites(long[] lbas, int[] counts, int n) {
        checkOpen();
        long[] shifted = new long[n];
        for (int i = 0; i < n; i++) {
            geometry().checkRange(lbas[i], counts[i]);
            shifted[i] = firstLba + lbas[i];
        }
        return parent.announceWrites(shifted, counts, n);
    }

    @Override
    public int redundantCopies() {
        return parent.redundantCopies();
    }

    @Override
    public boolean readCopy(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, int copy) {
        geometry().checkRange(lba, blockCount);
        checkOpen();
        return parent.readCopy(firstLba + lba, blockCount, buffer, bufferOffset, copy);
    }

    @Override
    public void repairFromCopy(long lba, int blockCount, int copy) {
        geometry().checkRange(lba, blockCount);
        checkOpen();
        if (readOnly) {
            throw new CoreException(CoreError.READ_ONLY, name() + " is read-only: cannot repair");
        }
        parent.repairFromCopy(firstLba + lba, blockCount, copy);
    }

    @Override
    public void mapAllocation(long lba, long blockCount, AllocationSink sink) {
        geometry().checkRange(lba, blockCount);
        checkOpen();
        parent.mapAllocation(firstLba + lba, blockCount,
                (parentLba, count, allocation) -> sink.extent(parentLba - firstLba, count, allocation));
    }

    @Override
    protected void doFlush() {
        parent.flushRange(firstLba, blockCount());
    }

    @Override
    protected void doFlushRange(long lba, long blockCount) {
        parent.flushRange(firstLba + lba, blockCount);
    }

    @Override
    protected void doTrim(long lba, long blockCount) {
        parent.trim(firstLba + lba, blockCount);
    }

    @Override
    protected void doClose() {
        // the parent is not ours
    }
}
