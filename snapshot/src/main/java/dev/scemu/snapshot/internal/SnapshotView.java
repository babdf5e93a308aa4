package dev.scemu.snapshot.internal;

import dev.scemu.core.AbstractBlockDevice;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import java.nio.ByteBuffer;

/** Read-only block device of one snapshot; reads go through the volume's mapping table. */
final class SnapshotView extends AbstractBlockDevice {

    private final SnapshotVolumeImpl volume;
    private final long snapshotId;

    SnapshotView(SnapshotVolumeImpl volume, long snapshotId, String name) {
        super(volume.name() + "@" + name, volume.geometry());
        this.volume = volume;
        this.snapshotId = snapshotId;
    }

    long snapshotId() {
        return snapshotId;
    }

    @Override
    public boolean isReadOnly() {
        return true;
    }

    @Override
    protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        volume.readSnapshot(snapshotId, lba, blockCount, buffer, bufferOffset, meter());
    }

    @Override
    public void mapAllocation(long lba, long blockCount, dev.scemu.core.AllocationSink sink) {
        geometry().checkRange(lba, blockCount);
        checkOpen();
        volume.mapSnapshot(snapshotId, lba, blockCount, sink);
    }

    @Override
    protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        throw new CoreException(CoreError.READ_ONLY, "snapshot view " + name() + " is read-only");
    }

    @Override
    protected void doFlush() {
        // read-only
    }

    @Override
    protected void doTrim(long lba, long blockCount) {
        throw new CoreException(CoreError.READ_ONLY, "snapshot view " + name() + " is read-only");
    }

    @Override
    protected void doClose() {
        // the volume owns everything
    }
}
