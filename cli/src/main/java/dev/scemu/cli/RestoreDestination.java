package dev.scemu.cli;

import dev.scemu.core.AllocationSink;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.IoMeter;
import dev.scemu.core.PhaseTrace;
import dev.scemu.snapshot.SnapshotVolume;
import dev.scemu.unit.StorageControlUnit;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The destination of {@code backup restore}: the volume of the unit in a directory, opened
 * read-write only when the restore first writes, trims or asks it for its allocation, so an image
 * refused before that (wrong password, damaged or forged chunk, truncated image, too small a
 * volume) changes no byte of the unit's files: even opening a unit read-write writes metadata (md
 * superblock events, bitmap, the snapshot store's checkpoint at close). What the restore needs
 * before (name, geometry) comes from a read-only look ({@link StorageControlUnit#openReadOnly}),
 * and the read-write open must find the same. Before the first block is written or trimmed the
 * volume is durably marked "restore incomplete" ({@link SnapshotVolume#markRestoreIncomplete}); an
 * interrupted restore leaves the mark until {@link #finish()} (flush, then clear) runs.
 */
final class RestoreDestination implements BlockDevice {

    private final String name;
    private final BlockGeometry geometry;
    private final boolean markedBefore;
    private final String note;
    private final String where;
    private final Supplier<StorageControlUnit> opener;
    private final boolean ownsUnit;
    /** The unit opened read-write at the first access; null until then. */
    private volatile StorageControlUnit unit;
    private volatile boolean marked;
    private boolean closed;

    private RestoreDestination(String name, BlockGeometry geometry, boolean markedBefore, String note, String where,
                               Supplier<StorageControlUnit> opener, boolean ownsUnit) {
        this.name = name;
        this.geometry = geometry;
        this.markedBefore = markedBefore;
        this.note = note;
        this.where = where;
        this.opener = opener;
        this.ownsUnit = ownsUnit;
    }

    /** The volume of a unit already open (a library caller, a test): not closed by {@link #close()}. */
    static RestoreDestination of(StorageControlUnit unit, String note) {
        RestoreDestination destination = new RestoreDestination(unit.host().name(), unit.host().geometry(), false, note,
                unit.host().name(), () -> unit, false);
        destination.host();
        return destination;
    }

    /**
     * Looks at the unit in {@code dir} read-only (nothing reaches its files) for the restore's
     * checks; {@code err} gets a note if the volume is marked restore incomplete.
     */
    static RestoreDestination look(Path dir, String note, String imageId, PrintWriter err) {
        Units.checkUnitDirectory(dir);
        try (PhaseTrace.Span span = PhaseTrace.begin("cli: read-only look at the unit (open, close)");
             StorageControlUnit look = StorageControlUnit.openReadOnly(dir)) {
            Optional<String> incomplete = look.snapshots().restoreIncomplete();
            incomplete.ifPresent(mark -> err.printf("scemu: note: the volume is marked restore incomplete (%s); restoring %s"
                    + " from the start%n", mark, imageId));
            return new RestoreDestination(look.host().name(), look.host().geometry(), incomplete.isPresent(), note,
                    dir.toString(), () -> Units.open(dir), true);
        }
    }

    /** The unit's host device, opened read-write at the first call. */
    private BlockDevice host() {
        StorageControlUnit opened = unit;
        if (opened != null) {
            return opened.host();
        }
        synchronized (this) {
            if (unit == null) {
                if (closed) {
                    throw new CliException("restore destination " + where + " is closed");
                }
                StorageControlUnit rw = opener.get();
                BlockDevice device = rw.host();
                if (!device.name().equals(name) || !device.geometry().equals(geometry)) {
                    if (ownsUnit) {
                        rw.close();
                    }
                    throw new CliException("the volume of " + where + " changed while the image was checked: "
                            + name + " " + geometry + " became " + device.name() + " " + device.geometry());
                }
                unit = rw;
            }
            return unit.host();
        }
    }

    private void markOnce() {
        if (!marked) {
            synchronized (this) {
                if (!marked) {
                    host();
                    unit.snapshots().markRestoreIncomplete(note);
                    marked = true;
                }
            }
        }
    }

    /**
     * After the restore returned: every block durable, then the mark cleared. A restore that wrote
     * nothing leaves the files alone, unless an earlier interrupted restore left its mark.
     */
    void finish() {
        if (unit == null && !markedBefore) {
            return;
        }
        host().flush();
        unit.snapshots().clearRestoreIncomplete();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public BlockGeometry geometry() {
        return geometry;
    }

    @Override
    public void read(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        host().read(lba, blockCount, buffer, bufferOffset);
    }

    @Override
    public void write(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        markOnce();
        host().write(lba, blockCount, buffer, bufferOffset, fua);
    }

    @Override
    public void flush() {
        StorageControlUnit opened = unit;
        if (opened != null) {
            opened.host().flush();
        }
    }

    @Override
    public void trim(long lba, long blockCount) {
        markOnce();
        host().trim(lba, blockCount);
    }

    @Override
    public IoMeter meter() {
        return host().meter();
    }

    /**
     * Where the volume may hold data, asked of the unit (which this opens): the restore trims an
     * image's zero runs only there, so a volume that already reads zeros (a fresh unit, holes) is
     * left alone.
     */
    @Override
    public void mapAllocation(long lba, long blockCount, AllocationSink sink) {
        host().mapAllocation(lba, blockCount, sink);
    }

    /** Closes the unit if this destination opened it; idempotent. */
    @Override
    public synchronized void close() {
        closed = true;
        StorageControlUnit opened = unit;
        unit = null;
        if (opened != null && ownsUnit) {
            try (PhaseTrace.Span span = PhaseTrace.begin("cli: unit close")) {
                opened.close();
            }
        }
    }
}
