package dev.scemu.raid.internal;

import dev.scemu.core.Allocation;
import dev.scemu.core.AllocationSink;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.CoreException;
import dev.scemu.raid.RaidLevel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The allocation map of an array ({@link BlockDevice#mapAllocation}), computed from its members'
 * maps and the level's address mapping. Nothing is read; every member is asked once per batch of
 * stripe rows for the member data range those rows cover, never past the row holding the query's
 * last block (a sparse member file answers with one {@code SEEK_DATA}/{@code SEEK_HOLE} pair per
 * data extent), and the array range is then walked chunk by chunk against those maps.
 *
 * <h2>Rules (all conservative: a block reported as a hole or zero reads as zeros)</h2>
 * <ul>
 *   <li><b>RAID-0:</b> array chunk {@code c} is where md's strip zones put it ({@link Raid0Zones};
 *       members of equal size: member {@code c % n}'s chunk {@code c / n}); its blocks have that
 *       member's state. A member that is missing or cannot answer makes its
 *       chunks {@link Allocation#DATA} (reading them fails, which the caller must see).</li>
 *   <li><b>RAID-1:</b> the array block at member block {@code b} is a hole (zero) if any mirror
 *       that is readable there says so: in-sync mirrors hold the same data, so one mirror's hole
 *       is the array's (a mirror rebuilt by copying holds written zeros where the other has holes;
 *       taking either keeps the holes). While a resync is pending (an unclean shutdown: the
 *       mirrors may differ where writes were in flight) every readable mirror must agree.</li>
 *   <li><b>RAID-5:</b> a range is a hole (zero) only if the same member blocks of its stripe row
 *       are holes (zeros) on every member that is present, parity included. Then the data reads
 *       as zeros whether it is read directly or reconstructed from the others with one member
 *       missing. The price: a block written anywhere in a row makes the same offset of every
 *       other chunk of that row data (parity is written there). Two members missing, or one
 *       missing while a resync is pending (parity may not match the data yet): data.</li>
 * </ul>
 *
 * <p>A member that fails while asked is not failed by this query (only I/O fails members); its
 * part is treated as missing. States: every member says {@link Allocation#HOLE} → hole; every
 * member reads as zeros, some allocated → {@link Allocation#ZERO}; otherwise data.
 */
final class ArrayAllocation {

    /** Member data blocks' bytes asked per member and batch: bounds the maps held at once. */
    private static final long BATCH_MEMBER_BYTES = 256L << 20;

    private final MdRaidArray a;
    private final Emitter out;
    private final long chunkBlocks;

    private ArrayAllocation(MdRaidArray array, AllocationSink sink) {
        this.a = array;
        this.out = new Emitter(sink);
        this.chunkBlocks = array.chunkBlocks;
    }

    /** Walks the map of array blocks {@code [lba, lba + blockCount)} (range already checked). */
    static void map(MdRaidArray array, long lba, long blockCount, AllocationSink sink) {
        ArrayAllocation walk = new ArrayAllocation(array, sink);
        if (array.level == RaidLevel.RAID1) {
            walk.mapMirrors(lba, lba + blockCount);
        } else if (array.level == RaidLevel.RAID0) {
            walk.mapZones(lba, lba + blockCount);
        } else {
            walk.mapStriped(lba, lba + blockCount);
        }
        walk.out.finish();
    }

    private void mapMirrors(long lba, long end) {
        long batch = Math.max(chunkBlocks, BATCH_MEMBER_BYTES / a.blockSize);
        boolean pendingSync = pendingSync();
        for (long pos = lba; pos < end && !out.stopped; ) {
            long batchEnd = Math.min(end, pos + batch);
            List<Runs> mirrors = new ArrayList<>();
            for (int role = 0; role < a.raidDisks; role++) {
                if (a.readable(role, batchEnd)) {
                    Runs runs = memberRuns(role, pos, batchEnd);
                    if (runs != null) {
                        mirrors.add(runs);
                    } else if (pendingSync) {
                        mirrors.clear(); // one mirror unknown and they may differ: data
                        break;
                    }
                }
            }
            piece(mirrors.isEmpty() ? null : Runs.combine(mirrors, pos, batchEnd, !pendingSync), pos, batchEnd - pos, pos);
            pos = batchEnd;
        }
    }

    /**
     * RAID-0: zone by zone, each member of the zone asked once per batch of the zone's rows (a
     * row: one chunk of each of its members), then every chunk piece takes its member's state.
     */
    private void mapZones(long lba, long end) {
        Raid0Zones zones = ((Raid0Engine) a.engine).zones();
        long rowsPerBatch = Math.max(1, BATCH_MEMBER_BYTES / a.blockSize / chunkBlocks);
        long pos = lba;
        while (pos < end && !out.stopped) {
            Raid0Zones.Zone zone = zones.zoneOf(pos);
            long rowBlocks = zone.width() * chunkBlocks;
            long row = (pos - zone.arrayStart()) / rowBlocks;
            long zoneRows = (zone.arrayEnd() - zone.arrayStart()) / rowBlocks;
            // never past the row holding the range's last block: a small query asks the members for little
            long rangeRows = (end - zone.arrayStart() + rowBlocks - 1) / rowBlocks;
            long endRow = Math.min(Math.min(zoneRows, rangeRows), row + rowsPerBatch);
            long batchEnd = Math.min(end, zone.arrayStart() + endRow * rowBlocks);
            long memberStart = zone.devStart() + row * chunkBlocks;
            long memberEnd = zone.devStart() + endRow * chunkBlocks;
            Runs[] members = new Runs[a.raidDisks];
            for (int role : zone.roles()) {
                members[role] = a.readable(role, memberEnd) ? memberRuns(role, memberStart, memberEnd) : null;
            }
            while (pos < batchEnd && !out.stopped) {
                Raid0Zones.Piece p = zones.map(pos, batchEnd - pos);
                piece(members[p.role()], p.memberLba(), p.blocks(), pos);
                pos += p.blocks();
            }
        }
    }

    /** RAID-5: array chunk {@code c} sits in stripe row {@code c / chunksPerRow}, at member chunk = row. */
    private void mapStriped(long lba, long end) {
        int chunksPerRow = a.raidDisks - 1;
        long rowsPerBatch = Math.max(1, BATCH_MEMBER_BYTES / a.blockSize / chunkBlocks);
        long pos = lba;
        while (pos < end && !out.stopped) {
            long row = pos / chunkBlocks / chunksPerRow;
            // never past the row holding the range's last block: a small query asks the members for little
            long endRow = Math.min(row + rowsPerBatch, (end + chunkBlocks * chunksPerRow - 1) / (chunkBlocks * chunksPerRow));
            long batchEnd = Math.min(end, endRow * chunksPerRow * chunkBlocks);
            long memberStart = row * chunkBlocks;
            long memberEnd = Math.min(endRow * chunkBlocks, a.memberDataBlocks);
            Runs[] members = new Runs[a.raidDisks];
            int missing = 0;
            for (int role = 0; role < a.raidDisks; role++) {
                members[role] = a.readable(role, memberEnd) ? memberRuns(role, memberStart, memberEnd) : null;
                missing += members[role] == null ? 1 : 0;
            }
            Runs row5 = null;
            // one member left out is read around through parity, which holds only while no resync is pending
            if (missing == 0 || (missing == 1 && !pendingSync())) {
                List<Runs> present = new ArrayList<>(Arrays.asList(members));
                present.removeIf(r -> r == null);
                row5 = Runs.combine(present, memberStart, memberEnd, false);
            }
            while (pos < batchEnd && !out.stopped) {
                long chunk = pos / chunkBlocks;
                long inChunk = pos % chunkBlocks;
                long count = Math.min(chunkBlocks - inChunk, batchEnd - pos);
                long memberLba = chunk / chunksPerRow * chunkBlocks + inChunk;
                piece(row5, memberLba, count, pos);
                pos += count;
            }
        }
    }

    private boolean pendingSync() {
        return a.resyncCursorUnit >= 0 || (a.bitmap != null && a.bitmap.needsSyncCount() > 0);
    }

    /** Member {@code role}'s map of member data blocks {@code [start, end)}, or null if it cannot answer. */
    private Runs memberRuns(int role, long start, long end) {
        BlockDevice device = a.slots[role].device;
        if (device == null) {
            return null;
        }
        Runs runs = new Runs(start);
        long offset = a.dataOffsetBlocks;
        try {
            device.mapAllocation(offset + start, end - start, (at, count, allocation) -> {
                runs.add(at - offset + count, allocation);
                return true;
            });
        } catch (CoreException e) {
            return null;
        }
        return runs.end() == end ? runs : null;
    }

    /** Emits {@code count} array blocks from {@code arrayLba} whose member blocks start at {@code memberLba} in {@code runs}. */
    private void piece(Runs runs, long memberLba, long count, long arrayLba) {
        if (runs == null) {
            out.add(arrayLba, count, Allocation.DATA);
            return;
        }
        int i = runs.indexOf(memberLba);
        long member = memberLba;
        long array = arrayLba;
        long left = count;
        while (left > 0) {
            long take = Math.min(left, runs.ends[i] - member);
            out.add(array, take, runs.states[i]);
            member += take;
            array += take;
            left -= take;
            i++;
        }
    }

    /** A map of member blocks from {@code start}: run {@code i} ends (exclusively) at {@code ends[i]}. */
    static final class Runs {
        final long start;
        long[] ends = new long[8];
        Allocation[] states = new Allocation[8];
        int size;

        Runs(long start) {
            this.start = start;
        }

        void add(long end, Allocation state) {
            if (size > 0 && states[size - 1] == state) {
                ends[size - 1] = end;
                return;
            }
            if (size == ends.length) {
                ends = Arrays.copyOf(ends, size * 2);
                states = Arrays.copyOf(states, size * 2);
            }
            ends[size] = end;
            states[size++] = state;
        }

        long end() {
            return size == 0 ? start : ends[size - 1];
        }

        /** Index of the run holding {@code lba}. */
        int indexOf(long lba) {
            int i = Arrays.binarySearch(ends, 0, size, lba);
            return i >= 0 ? i + 1 : -i - 1;
        }

        /**
         * The maps combined over {@code [start, end)}: with {@code any}, a block is the "best"
         * zero state any map gives it; otherwise a hole only where all are holes, zero where all
         * read as zeros. No maps: all data.
         */
        static Runs combine(List<Runs> maps, long start, long end, boolean any) {
            Runs combined = new Runs(start);
            if (maps.isEmpty()) {
                combined.add(end, Allocation.DATA);
                return combined;
            }
            int[] at = new int[maps.size()];
            for (int m = 0; m < at.length; m++) {
                at[m] = maps.get(m).indexOf(start);
            }
            long pos = start;
            while (pos < end) {
                long next = end;
                boolean allHole = true;
                boolean allZero = true;
                boolean anyHole = false;
                boolean anyZero = false;
                for (int m = 0; m < at.length; m++) {
                    Runs r = maps.get(m);
                    while (r.ends[at[m]] <= pos) {
                        at[m]++;
                    }
                    Allocation state = r.states[at[m]];
                    next = Math.min(next, r.ends[at[m]]);
                    allHole &= state == Allocation.HOLE;
                    allZero &= state.readsAsZeros();
                    anyHole |= state == Allocation.HOLE;
                    anyZero |= state.readsAsZeros();
                }
                Allocation state = any ? (anyHole ? Allocation.HOLE : anyZero ? Allocation.ZERO : Allocation.DATA)
                        : (allHole ? Allocation.HOLE : allZero ? Allocation.ZERO : Allocation.DATA);
                combined.add(next, state);
                pos = next;
            }
            return combined;
        }
    }

    /** Merges adjacent extents of one state before handing them to the caller's sink; remembers a stop. */
    private static final class Emitter {
        private final AllocationSink sink;
        private long lba;
        private long count;
        private Allocation state;
        boolean stopped;

        Emitter(AllocationSink sink) {
            this.sink = sink;
        }

        void add(long at, long blocks, Allocation allocation) {
            if (stopped || blocks == 0) {
                return;
            }
            if (allocation == state && lba + count == at) {
                count += blocks;
                return;
            }
            finish();
            lba = at;
            count = blocks;
            state = allocation;
        }

        void finish() {
            if (!stopped && count > 0 && !sink.extent(lba, count, state)) {
                stopped = true;
            }
            count = 0;
        }
    }
}
