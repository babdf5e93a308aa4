package dev.scemu.snapshot.internal;

import dev.scemu.core.Allocation;
import dev.scemu.core.AllocationSink;
import dev.scemu.core.BlockDevice;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The allocation maps of a snapshot volume ({@link BlockDevice#mapAllocation}) and of its
 * snapshot views, computed from what the volume knows and what its
 * data device answers; nothing is read.
 *
 * <ul>
 *   <li><b>Live volume:</b> the data device's map (a RAID array maps its members' holes), except
 *       that a block whose new contents still wait in the COW batch is {@link Allocation#DATA}
 *       (the data device still holds the old block). The volume keeps no record of its own of
 *       written or trimmed blocks: a trim writes zeros through the diff path (so snapshots keep the
 *       old data), then passes the trim down for the blocks no snapshot needs and no batch holds,
 *       and those are a hole again where the layers below make them one (a RAID-5 array on whole
 *       stripe rows, sparse member files by punching).</li>
 *   <li><b>Snapshot {@code s}:</b> a block with a mapping entry holding {@code s} is what was
 *       preserved: {@link Allocation#DATA} when the copy is in the COW store,
 *       {@link Allocation#ZERO} when the entry is the zero block (preserved as zeros, no copy).
 *       Every other block is, by the volume's invariant, unchanged on the data device since
 *       {@code s} was created, so it has the data device's state: the snapshot's answer does not
 *       follow what the live volume writes afterwards.</li>
 * </ul>
 *
 * <p>The exceptions are looked up per block in the mapping table when the range is small, else by
 * one pass over the table's lbas; the result is collected under the lock and handed to the
 * caller's sink after it is released ({@link #deliver}), so a slow sink never holds writers off.
 * The volume collects the exceptions under its {@code meta} monitor and asks the data device
 * after releasing it: no I/O runs under the monitor.
 */
final class SnapshotAllocation {

    /** Ranges up to this many blocks look their blocks up one by one; larger ones scan the table. */
    private static final long LOOKUP_BLOCKS = 1 << 16;

    /** One extent of a collected map. */
    record Run(long lba, long blockCount, Allocation allocation) {
    }

    private SnapshotAllocation() {
    }

    /** The live volume's map of {@code [lba, lba + blockCount)}; {@code pending} (ascending) wait in a COW batch. */
    static List<Run> live(BlockDevice data, long[] pending, long lba, long blockCount) {
        LongStates exceptions = new LongStates();
        for (long pendingLba : pending) {
            exceptions.add(pendingLba, Allocation.DATA);
        }
        return merge(data, lba, blockCount, exceptions);
    }

    /** The blocks of a range snapshot {@code epoch} preserved, with their states, ascending. */
    static final class Preserved {
        private final LongStates states;

        private Preserved(LongStates states) {
            this.states = states;
        }
    }

    /** What snapshot {@code epoch} preserved in {@code [lba, lba + blockCount)}. Caller holds the volume's {@code meta}. */
    static Preserved preserved(MappingIndex index, long epoch, long lba, long blockCount) {
        long end = lba + blockCount;
        LongStates preserved = new LongStates();
        if (blockCount <= LOOKUP_BLOCKS) {
            for (long b = lba; b < end; b++) {
                addPreserved(index, epoch, b, preserved);
            }
        } else {
            index.forEachLba(b -> {
                if (b >= lba && b < end) {
                    addPreserved(index, epoch, b, preserved);
                }
            });
        }
        return new Preserved(sortedWithStates(preserved.lbas, preserved.states, preserved.size));
    }

    /** Snapshot's map of {@code [lba, lba + blockCount)}: the data device's map with the preserved blocks laid over it. */
    static List<Run> snapshot(BlockDevice data, Preserved preserved, long lba, long blockCount) {
        return merge(data, lba, blockCount, preserved.states);
    }

    /** Hands the collected map to {@code sink} until it stops. */
    static void deliver(List<Run> runs, AllocationSink sink) {
        for (Run run : runs) {
            if (!sink.extent(run.lba(), run.blockCount(), run.allocation())) {
                return;
            }
        }
    }

    private static void addPreserved(MappingIndex index, long epoch, long lba, LongStates into) {
        int entry = index.find(lba, epoch);
        if (entry != MappingIndex.NONE) {
            into.add(lba, index.storeBlock(entry) == MappingIndex.ZERO_BLOCK ? Allocation.ZERO : Allocation.DATA);
        }
    }

    /** The data device's map with single-block exceptions ({@code exceptions.lbas} ascending) laid over it. */
    private static List<Run> merge(BlockDevice data, long lba, long blockCount, LongStates exceptions) {
        List<Run> runs = new ArrayList<>();
        int[] next = {0};
        data.mapAllocation(lba, blockCount, (at, count, allocation) -> {
            long pos = at;
            long end = at + count;
            while (next[0] < exceptions.size && exceptions.lbas[next[0]] < end) {
                long exception = exceptions.lbas[next[0]];
                add(runs, pos, exception - pos, allocation);
                add(runs, exception, 1, exceptions.states[next[0]]);
                pos = exception + 1;
                next[0]++;
            }
            add(runs, pos, end - pos, allocation);
            return true;
        });
        return runs;
    }

    private static void add(List<Run> runs, long lba, long blockCount, Allocation allocation) {
        if (blockCount <= 0) {
            return;
        }
        int last = runs.size() - 1;
        if (last >= 0 && runs.get(last).allocation() == allocation
                && runs.get(last).lba() + runs.get(last).blockCount() == lba) {
            runs.set(last, new Run(runs.get(last).lba(), runs.get(last).blockCount() + blockCount, allocation));
        } else {
            runs.add(new Run(lba, blockCount, allocation));
        }
    }

    private static LongStates sortedWithStates(long[] lbas, Allocation[] states, int size) {
        Integer[] order = new Integer[size];
        for (int i = 0; i < size; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (x, y) -> Long.compare(lbas[x], lbas[y]));
        LongStates sorted = new LongStates();
        for (Integer i : order) {
            if (sorted.size == 0 || sorted.lbas[sorted.size - 1] != lbas[i]) {
                sorted.add(lbas[i], states[i]);
            }
        }
        return sorted;
    }

    /** A growable list of (lba, state). */
    private static final class LongStates {
        long[] lbas = new long[16];
        Allocation[] states = new Allocation[16];
        int size;

        void add(long lba, Allocation state) {
            if (size == lbas.length) {
                lbas = Arrays.copyOf(lbas, size * 2);
                states = Arrays.copyOf(states, size * 2);
            }
            lbas[size] = lba;
            states[size++] = state;
        }
    }
}
