package dev.scemu.backup.internal;

import dev.scemu.core.Extent;
import java.util.List;

/**
 * The extent map record ('SCBM'). Payload, little-endian:
 * <pre>
 * u64 coveredCount, coveredCount × (u64 lba, u64 blockCount)   blocks this image describes:
 *                    the whole volume for a full image, the changed blocks for an incremental
 * u64 zeroCount,    zeroCount × (u64 lba, u64 blockCount)      covered blocks not stored: never
 *                    written, unused, trimmed or all-zero; a restore trims or zeroes them
 * </pre>
 * Both lists are increasing, disjoint and coalesced; stored extents (in chunks) plus zero runs
 * are exactly the covered extents. Blocks outside the covered extents of an incremental keep the
 * contents of its base.
 */
record ExtentMap(List<Extent> covered, List<Extent> zeros) {

    byte[] toRecord() {
        Bin.Writer w = new Bin.Writer(16 + 16 * (covered.size() + zeros.size()));
        w.extents(covered).extents(zeros);
        return RecordHeader.seal(ArchiveLayout.EXTENT_MAP_MAGIC, ArchiveLayout.FORMAT_VERSION, 0, w.toArray());
    }

    static ExtentMap fromPayload(byte[] payload) {
        Bin.Reader r = new Bin.Reader(payload, "extent map");
        List<Extent> covered = r.extents();
        List<Extent> zeros = r.extents();
        r.expectEnd();
        return new ExtentMap(covered, zeros);
    }
}
