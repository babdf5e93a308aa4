package dev.scemu.core;

/**
 * A contiguous run of blocks: {@code blockCount} blocks starting at {@code lba}.
 *
 * @param lba first block
 * @param blockCount number of blocks, zero or more
 */
public record Extent(long lba, long blockCount) implements Comparable<Extent> {

    public Extent {
        if (lba < 0 || blockCount < 0 || lba + blockCount < lba) {
            throw new CoreException(CoreError.INVALID_ARGUMENT,
                    "extent lba=" + lba + " blockCount=" + blockCount + " is not valid");
        }
    }

    public static Extent of(long lba, long blockCount) {
        return new Extent(lba, blockCount);
    }

    /** One past the last block. */
    public long endLba() {
        return lba + blockCount;
    }

    public boolean isEmpty() {
        return blockCount == 0;
    }

    public boolean contains(long blockLba) {
        return blockLba >= lba && blockLba < endLba();
    }

    public boolean contains(Extent other) {
        return other.lba >= lba && other.endLba() <= endLba();
    }

    public boolean overlaps(long otherLba, long otherBlockCount) {
        return otherLba < endLba() && lba < otherLba + otherBlockCount && otherBlockCount > 0 && blockCount > 0;
    }

    public boolean overlaps(Extent other) {
        return overlaps(other.lba, other.blockCount);
    }

    /** The blocks both extents cover; empty if they do not overlap. */
    public Extent intersection(Extent other) {
        long start = Math.max(lba, other.lba);
        long end = Math.min(endLba(), other.endLba());
        return end > start ? new Extent(start, end - start) : new Extent(start, 0);
    }

    /**
     * The blocks any of {@code extents} covers, as increasing, disjoint extents with a gap between
     * each two (overlapping and adjacent extents merged; empty ones dropped).
     */
    public static java.util.List<Extent> union(java.util.Collection<Extent> extents) {
        Extent[] sorted = extents.toArray(Extent[]::new);
        java.util.Arrays.sort(sorted);
        java.util.List<Extent> union = new java.util.ArrayList<>();
        long start = -1;
        long end = -1;
        for (Extent e : sorted) {
            if (e.isEmpty()) {
                continue;
            }
            if (start >= 0 && e.lba <= end) {
                end = Math.max(end, e.endLba());
                continue;
            }
            if (start >= 0) {
                union.add(new Extent(start, end - start));
            }
            start = e.lba;
            end = e.endLba();
        }
        if (start >= 0) {
            union.add(new Extent(start, end - start));
        }
        return union;
    }

    /**
     * The blocks of {@code from} that {@code removed} does not cover; both as {@link #union} returns
     * them (increasing, disjoint), and so is the result.
     */
    public static java.util.List<Extent> difference(java.util.List<Extent> from, java.util.List<Extent> removed) {
        java.util.List<Extent> left = new java.util.ArrayList<>();
        int first = 0;
        for (Extent e : from) {
            long cursor = e.lba;
            while (first < removed.size() && removed.get(first).endLba() <= cursor) {
                first++;
            }
            for (int k = first; k < removed.size() && removed.get(k).lba < e.endLba(); k++) {
                Extent cut = removed.get(k);
                if (cut.lba > cursor) {
                    left.add(new Extent(cursor, cut.lba - cursor));
                }
                cursor = Math.max(cursor, cut.endLba());
            }
            if (cursor < e.endLba()) {
                left.add(new Extent(cursor, e.endLba() - cursor));
            }
        }
        return left;
    }

    @Override
    public int compareTo(Extent o) {
        int c = Long.compare(lba, o.lba);
        return c != 0 ? c : Long.compare(blockCount, o.blockCount);
    }

    @Override
    public String toString() {
        return "[" + lba + ", +" + blockCount + ")";
    }
}
