package dev.scemu.cli;

import dev.scemu.backup.CheckedImage;
import dev.scemu.backup.ZeroPolicy;
import dev.scemu.core.AllocationSink;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import dev.scemu.core.IoMeter;
import dev.scemu.core.PhaseTrace;
import dev.scemu.snapshot.SnapshotVolume;
import dev.scemu.unit.StorageControlUnit;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The destination of {@code backup restore}: the volume of a unit opened read-write. An image
 * refused before the restore's first write or trim (wrong password, damaged or forged chunk,
 * truncated image, too small a volume) changes no byte of the unit's files: a read-write open
 * writes nothing until the first change (md's read-auto, docs/control.md "A read-write open writes
 * nothing until the first change"), and this destination writes its first byte only when the restore first writes or
 * trims. Before that first block is written or trimmed the volume is durably marked "restore
 * incomplete" ({@link SnapshotVolume#markRestoreIncomplete}); an interrupted restore leaves the
 * mark until {@link #finish()} (flush, then clear) runs.
 */
final class RestoreDestination implements BlockDevice {

    private final StorageControlUnit unit;
    private final BlockDevice host;
    private final boolean markedBefore;
    private final String note;
    private final boolean ownsUnit;
    private volatile boolean marked;

    private RestoreDestination(StorageControlUnit unit, boolean markedBefore, String note, boolean ownsUnit) {
        this.unit = unit;
        this.host = unit.host();
        this.markedBefore = markedBefore;
        this.note = note;
        this.ownsUnit = ownsUnit;
    }

    /** The volume of a unit already open (a library caller, a test): not closed by {@link #close()}. */
    static RestoreDestination of(StorageControlUnit unit, String note) {
        return new RestoreDestination(unit, false, note, false);
    }

    /**
     * Opens the unit in {@code dir} read-write (which writes nothing yet); {@code err} gets a note
     * if the volume is marked restore incomplete.
     */
    static RestoreDestination open(Path dir, String note, String imageId, PrintWriter err) {
        StorageControlUnit unit = Units.open(dir);
        try {
            Optional<String> incomplete = unit.snapshots().restoreIncomplete();
            incomplete.ifPresent(mark -> err.printf("scemu: note: the volume is marked restore incomplete (%s); restoring %s"
                    + " from the start%n", mark, imageId));
            return new RestoreDestination(unit, incomplete.isPresent(), note, true);
        } catch (RuntimeException e) {
            unit.close();
            throw e;
        }
    }

    /**
     * Refuses, before the restore's first write, a restore of {@code image} whose overwrites the
     * unit's snapshot store cannot hold while snapshots need the old contents
     * ({@link SnapshotVolume#requireRoomToOverwrite}: {@code STORE_FULL} with the figures, nothing
     * written, no mark), where it used to stop once the store ran out, half restored. The image's
     * stored extents are written; its zero runs (unless {@link ZeroPolicy#SKIP}) are zeroed, which
     * costs nothing where the volume holds zeros already (a sparse volume's holes). Both are clipped
     * to the volume; an image of another block size is left to the engine's own refusal
     * ({@code GEOMETRY_MISMATCH}).
     */
    void requireRoomFor(CheckedImage image, ZeroPolicy zeroPolicy, String what) {
        BlockGeometry geometry = host.geometry();
        if (image.chain().get(image.chain().size() - 1).blockSize() != geometry.blockSize()) {
            return;
        }
        Extent volume = new Extent(0, geometry.blockCount());
        List<Extent> written = clip(image.restoreExtents(ZeroPolicy.SKIP), volume);
        List<Extent> zeroed = zeroPolicy == ZeroPolicy.SKIP ? List.of() : clip(image.restoreExtents(zeroPolicy), volume);
        unit.snapshots().requireRoomToOverwrite(written, zeroed, what);
    }

    private static List<Extent> clip(List<Extent> extents, Extent volume) {
        List<Extent> clipped = new ArrayList<>();
        for (Extent e : extents) {
            Extent inside = e.intersection(volume);
            if (!inside.isEmpty()) {
                clipped.add(inside);
            }
        }
        return clipped;
    }

    private void markOnce() {
        if (!marked) {
            synchronized (this) {
                if (!marked) {
                    unit.snapshots().markRestoreIncomplete(note);
                    marked = true;
                }
            }
        }
    }

    /** Whether the volume is marked restore incomplete now: this restore wrote or trimmed, or an earlier one did. */
    boolean isMarked() {
        return marked || markedBefore;
    }

    /**
     * After the restore returned: every block durable, then the mark cleared. A restore that wrote
     * nothing leaves the files alone, unless an earlier interrupted restore left its mark.
     */
    void finish() {
        if (!marked && !markedBefore) {
            return;
        }
        host.flush();
        unit.snapshots().clearRestoreIncomplete();
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

    /**
     * Where the volume may hold data, asked of the unit: the restore trims an image's zero runs
     * only there, so a volume that already reads zeros (a fresh unit, holes) is left alone.
     */
    @Override
    public void mapAllocation(long lba, long blockCount, AllocationSink sink) {
        host.mapAllocation(lba, blockCount, sink);
    }

    /** Closes the unit if this destination opened it (idempotent: the unit's close is). */
    @Override
    public void close() {
        if (ownsUnit) {
            try (PhaseTrace.Span span = PhaseTrace.begin("cli: unit close")) {
                unit.close();
            }
        }
    }
}
