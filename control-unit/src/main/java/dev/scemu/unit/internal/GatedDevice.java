package dev.scemu.unit.internal;

import dev.scemu.core.AbstractBlockDevice;
import dev.scemu.core.AllocationSink;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.IoCause;
import dev.scemu.flash.HostIoGate;
import java.nio.ByteBuffer;

/**
 * The host's view of the volume: every request holds a shared permit of the firmware's
 * {@link HostIoGate}, so a firmware switch pauses host I/O exactly for its own duration and
 * nothing else does. Does not own the volume.
 */
public final class GatedDevice extends AbstractBlockDevice {

    private final BlockDevice volume;
    private final HostIoGate gate;

    public GatedDevice(String name, BlockDevice volume, HostIoGate gate) {
        super(name, volume.geometry());
        this.volume = volume;
        this.gate = gate;
    }

    @Override
    protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        try (HostIoGate.Permit permit = gate.enter()) {
            volume.read(lba, blockCount, buffer, bufferOffset);
        }
        meter().issuedRead(IoCause.HOST, geometry().lengthOf(blockCount));
    }

    @Override
    protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        try (HostIoGate.Permit permit = gate.enter()) {
            volume.write(lba, blockCount, buffer, bufferOffset, fua);
        }
        meter().issuedWrite(IoCause.HOST, geometry().lengthOf(blockCount));
    }

    @Override
    protected void doFlush() {
        try (HostIoGate.Permit permit = gate.enter()) {
            volume.flush();
        }
    }

    @Override
    protected void doTrim(long lba, long blockCount) {
        try (HostIoGate.Permit permit = gate.enter()) {
            volume.trim(lba, blockCount);
        }
    }

    /** The volume's allocation map (NBD block status, backup), under a permit like any request. */
    @Override
    public void mapAllocation(long lba, long blockCount, AllocationSink sink) {
        geometry().checkRange(lba, blockCount);
        checkOpen();
        try (HostIoGate.Permit permit = gate.enter()) {
            volume.mapAllocation(lba, blockCount, sink);
        }
    }

    @Override
    protected void doClose() {
        // the volume belongs to the control unit
    }
}
