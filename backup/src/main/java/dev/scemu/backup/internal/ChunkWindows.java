package dev.scemu.backup.internal;

import dev.scemu.core.Extent;
import java.util.ArrayList;
import java.util.List;

/**
 * Walks the extents to scan in chunk windows: window {@code s} is blocks
 * {@code [s × chunkBlocks, (s + 1) × chunkBlocks)}; each non-empty window yields the pieces of the
 * scan list inside it, in LBA order. Windows without any piece are skipped.
 */
final class ChunkWindows {

    /** One window to read. */
    record Window(long sequence, List<Extent> pieces, long blockCount) {
    }

    private final List<Extent> scan;
    private final long chunkBlocks;
    private int extentIndex;
    private long cursor;

    /** @param scan normalized extents; {@code startSequence}: first window to yield */
    ChunkWindows(List<Extent> scan, long chunkBlocks, long startSequence) {
        this.scan = scan;
        this.chunkBlocks = chunkBlocks;
        this.cursor = startSequence * chunkBlocks;
        while (extentIndex < scan.size() && scan.get(extentIndex).endLba() <= cursor) {
            extentIndex++;
        }
    }

    /** The next non-empty window, or null at the end. */
    Window next() {
        if (extentIndex >= scan.size()) {
            return null;
        }
        long start = Math.max(cursor, scan.get(extentIndex).lba());
        long sequence = start / chunkBlocks;
        long windowEnd = (sequence + 1) * chunkBlocks;
        List<Extent> pieces = new ArrayList<>(2);
        long blocks = 0;
        while (extentIndex < scan.size()) {
            Extent e = scan.get(extentIndex);
            long from = Math.max(e.lba(), Math.max(cursor, sequence * chunkBlocks));
            if (from >= windowEnd) {
                break;
            }
            long to = Math.min(e.endLba(), windowEnd);
            pieces.add(new Extent(from, to - from));
            blocks += to - from;
            cursor = to;
            if (to == e.endLba()) {
                extentIndex++;
            } else {
                break;
            }
        }
        cursor = Math.max(cursor, windowEnd);
        while (extentIndex < scan.size() && scan.get(extentIndex).endLba() <= cursor) {
            extentIndex++;
        }
        return new Window(sequence, pieces, blocks);
    }

    static long totalBlocks(List<Extent> scan) {
        return ExtentRuns.blocks(scan);
    }
}
