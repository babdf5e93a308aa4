package dev.scemu.backup.internal;

import dev.scemu.core.Extent;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** Operations on sorted, disjoint, coalesced extent lists. */
final class ExtentRuns {

    private ExtentRuns() {
    }

    /** Sorts, clips to {@code [0, blockCount)}, merges overlapping and adjacent extents. */
    static List<Extent> normalize(Collection<Extent> extents, long blockCount) {
        List<Extent> sorted = new ArrayList<>(extents);
        sorted.sort(null);
        Builder builder = new Builder();
        for (Extent e : sorted) {
            long start = Math.max(0, e.lba());
            long end = Math.min(blockCount, e.endLba());
            if (end > start) {
                builder.addUnordered(start, end - start);
            }
        }
        return builder.build();
    }

    /** {@code covered} minus {@code removed}; both normalized ({@link Extent#difference}). */
    static List<Extent> subtract(List<Extent> covered, List<Extent> removed) {
        return Extent.difference(covered, removed);
    }

    /** Whether every extent of {@code inner} lies inside {@code outer} (both normalized). */
    static boolean containsAll(List<Extent> outer, List<Extent> inner) {
        return subtract(inner, outer).isEmpty();
    }

    static long blocks(List<Extent> extents) {
        long sum = 0;
        for (Extent e : extents) {
            sum += e.blockCount();
        }
        return sum;
    }

    /** Appends extents in increasing order, merging adjacent ones. */
    static final class Builder {
        private final List<Extent> extents = new ArrayList<>();
        private long start = -1;
        private long end = -1;

        /** Appends {@code [lba, lba+count)}; must not start before the end of the previous one. */
        void add(long lba, long count) {
            if (count <= 0) {
                return;
            }
            if (lba < end) {
                throw new IllegalArgumentException("extent " + lba + "+" + count + " is not after " + end);
            }
            addUnordered(lba, count);
        }

        private void addUnordered(long lba, long count) {
            if (start >= 0 && lba <= end) {
                end = Math.max(end, lba + count);
                return;
            }
            flush();
            start = lba;
            end = lba + count;
        }

        void addAll(List<Extent> more) {
            for (Extent e : more) {
                add(e.lba(), e.blockCount());
            }
        }

        private void flush() {
            if (start >= 0) {
                extents.add(new Extent(start, end - start));
            }
        }

        List<Extent> build() {
            flush();
            start = -1;
            end = -1;
            List<Extent> result = List.copyOf(extents);
            extents.clear();
            extents.addAll(result);
            // keep the builder usable: re-open the last extent for merging
            if (!extents.isEmpty()) {
                Extent last = extents.remove(extents.size() - 1);
                start = last.lba();
                end = last.endLba();
            }
            return result;
        }
    }
}
