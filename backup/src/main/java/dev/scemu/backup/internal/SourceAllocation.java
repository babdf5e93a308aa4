package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.core.Allocation;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.CoreException;
import dev.scemu.core.Extent;
import java.util.List;

/**
 * Narrows the extents a backup must read to those the source device reports as
 * {@link Allocation#DATA} ({@link BlockDevice#mapAllocation}): ranges it reports as
 * {@link Allocation#ZERO} or {@link Allocation#HOLE} read as zeros by the device's contract, so
 * the backup records them as zero runs of the extent map without reading them. A device that knows
 * nothing reports everything as DATA, and every block is read as before.
 *
 * <p>Holes shorter than {@code bridgeBlocks} between two DATA extents are read anyway (and their
 * zero blocks dropped by the codec as always): a few zero blocks cost less than splitting a large
 * sequential read. Every count here is in blocks.
 */
final class SourceAllocation {

    /** Holes shorter than this many bytes between data are read rather than skipped. */
    static final int BRIDGE_BYTES = 128 << 10;

    private SourceAllocation() {
    }

    /**
     * The parts of {@code scan} (normalized) that {@code device} reports as DATA, holes shorter
     * than {@code bridgeBlocks} between them filled in; normalized.
     */
    static List<Extent> dataExtents(BlockDevice device, List<Extent> scan, long bridgeBlocks) {
        ExtentRuns.Builder data = new ExtentRuns.Builder();
        long[] pending = {-1, -1}; // [start, end) of the DATA run being built
        for (Extent e : scan) {
            try {
                device.mapAllocation(e.lba(), e.blockCount(), (lba, blockCount, allocation) -> {
                    if (allocation != Allocation.DATA) {
                        return true;
                    }
                    if (pending[0] >= 0 && lba - pending[1] < bridgeBlocks && lba >= pending[1]) {
                        long gapStart = pending[1];
                        // fill the gap only inside scan: it lies in this extent if the run does
                        if (gapStart >= e.lba()) {
                            pending[1] = lba + blockCount;
                            return true;
                        }
                    }
                    if (pending[0] >= 0) {
                        data.add(pending[0], pending[1] - pending[0]);
                    }
                    pending[0] = lba;
                    pending[1] = lba + blockCount;
                    return true;
                });
            } catch (CoreException ex) {
                throw new BackupException(BackupError.SOURCE_IO, "asking source " + device.name()
                        + " which blocks of " + e + " hold data failed: " + ex.getMessage(), ex);
            } catch (IllegalArgumentException ex) { // extents out of order (ExtentRuns.Builder)
                throw new BackupException(BackupError.SOURCE_IO, "source " + device.name()
                        + " reported the allocation of " + e + " out of order: " + ex.getMessage(), ex);
            }
        }
        if (pending[0] >= 0) {
            data.add(pending[0], pending[1] - pending[0]);
        }
        List<Extent> result = data.build();
        if (!ExtentRuns.containsAll(scan, result)) {
            throw new BackupException(BackupError.SOURCE_IO, "source " + device.name()
                    + " reported allocation outside the requested blocks");
        }
        return result;
    }
}
