package dev.scemu.cli;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.IoMeter;
import dev.scemu.snapshot.SnapshotVolume;
import java.nio.ByteBuffer;

/**
 * The destination of {@code backup restore}: the unit's host device, which durably marks the
 * volume "restore incomplete" ({@link SnapshotVolume#markRestoreIncomplete}) just before the first
 * block is written or trimmed. A restore refused before its first write (wrong password, damaged
 * image, too small a volume) therefore leaves no mark and changes nothing; one interrupted after
 * it leaves the mark until {@link #finish()} (flush, then clear) runs.
 */
final class RestoreDestination implements BlockDevice {

    private final BlockDevice host;
    private final SnapshotVolume volume;
    private final String note;
    private volatile boolean marked;

    RestoreDestination(BlockDevice host, SnapshotVolume volume, String note) {
        this.host = host;
        this.volume = volume;
        this.note = note;
    }

    private void markOnce() {
        if (!marked) {
            synchronized (this) {
                if (!marked) {
                    volume.markRestoreIncomplete(note);
                    marked = true;
                }
            }
        }
    }

    /** After the restore returned: every block durable, then the mark cleared. */
    void finish() {
        host.flush();
        volume.clearRestoreIncomplete();
    }

    @Override
    public String name() {
        return host.name();
    }

    @Override
    public BlockGeometry geometry() {
        return host.geometry();
    }

    @Override
    public void read(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        host.read(lba, blockCount, buffer, bufferOffset);
    }

    @Override
    public void write(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        markOnce();
        host.write(lba, blockCount, buffer, bufferOffset, fua);
    }

    @Override
    public void flush() {
        host.flush();
    }

    @Override
    public void trim(long lba, long blockCount) {
        markOnce();
        host.trim(lba, blockCount);
    }

    @Override
    public IoMeter meter() {
        return host.meter();
    }

    /** The host device belongs to the unit: nothing to close here. */
    @Override
    public void close() {
    }
}
