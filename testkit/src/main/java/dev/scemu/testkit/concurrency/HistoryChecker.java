package dev.scemu.testkit.concurrency;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Checks a {@link History} block by block. The rules, with {@code W.start}/{@code W.end} the ticks
 * around a write W, and a write <em>completed before</em> an instant if its end tick is below it:
 *
 * <ol>
 *   <li><b>Reads.</b> A read R of block b returns a write W of b (or zeros if none completed before
 *       R began) that started before R ended and is not <em>superseded</em> when R began: no write
 *       W' of b completed before R began with {@code W'.start > W.end} (W' strictly after W), and no
 *       earlier read R1 of b (ended before R began) returned a write W1 with {@code W1.start > W.end}
 *       (reads never go back in time).</li>
 *   <li><b>Torn blocks.</b> Every block read, before or after a cut, from the volume or a snapshot,
 *       decodes to one whole {@link BlockStamp} of that lba, or to zeros.</li>
 *   <li><b>Durability.</b> After the cut and the reboot, block b holds a write W that is not older
 *       than any write of b that had to survive: acknowledged with FUA, or acknowledged before a
 *       <em>barrier</em> started that completed (a flush, or a snapshot creation: the snapshot
 *       volume makes every write the snapshot sees durable before the snapshot exists). "Older"
 *       means {@code W.end < D.start}. Writes in flight at the cut may or may not be there.</li>
 *   <li><b>Snapshots.</b> A snapshot S created by an operation C reads, at every block, a write W
 *       with {@code W.start < C.end}, not superseded when C began (as a read over C's interval);
 *       every read of the same block of S returns the same write, before and after the cut; and the
 *       blocks together are one instant: some tick t inside C's interval is after every block's
 *       write started and before any later write of that block completed. After a cut, a snapshot
 *       whose creation completed and whose deletion was never asked for exists; one whose deletion
 *       completed does not; those in flight at the cut may or may not.</li>
 * </ol>
 *
 * A value two writes carry (a rewrite of an earlier write's bytes) is explained if either write
 * satisfies the rule. Operations that failed count as concurrent with everything after their start
 * (they may have taken effect). The checker never assumes more than the device contract; anything it reports is a
 * broken promise, not a scheduling accident.
 */
public final class HistoryChecker {

    /** One broken rule at one block (block -1: not about one block). */
    public record Violation(String rule, long block, String message) {
        @Override
        public String toString() {
            return rule + (block >= 0 ? " at lba " + block : "") + ": " + message;
        }
    }

    private final History history;
    private final List<Op> ops;
    private final Map<Long, Op> creations = new HashMap<>();
    private final Map<String, Op> creationsByName = new HashMap<>();
    private final List<Violation> violations = new ArrayList<>();
    /** Start of the latest completed barrier (flush or snapshot creation), -1 if none. */
    private long lastBarrierStart = -1;
    private Op lastBarrier;

    private HistoryChecker(History history) {
        this.history = history;
        this.ops = history.ops();
        for (Op op : ops) {
            if (op.kind() == Op.Kind.SNAPSHOT_CREATE) {
                creationsByName.put(op.name(), op);
                if (op.snapshotId() >= 0) {
                    creations.put(op.snapshotId(), op);
                }
            }
            boolean barrier = op.kind() == Op.Kind.FLUSH || op.kind() == Op.Kind.SNAPSHOT_CREATE;
            if (barrier && op.completed() && op.start() > lastBarrierStart) {
                lastBarrierStart = op.start();
                lastBarrier = op;
            }
        }
    }

    /** Every violation of the rules in the class doc, in block order. */
    public static List<Violation> check(History history) {
        HistoryChecker checker = new HistoryChecker(history);
        checker.run();
        return checker.violations;
    }

    private void run() {
        Map<Long, List<Op>> writesByBlock = new HashMap<>();
        Map<Long, List<Op>> readsByBlock = new HashMap<>();
        Map<Long, List<Op>> snapshotReadsByBlock = new HashMap<>();
        for (Op op : ops) {
            Map<Long, List<Op>> target = switch (op.kind()) {
                case WRITE -> writesByBlock;
                case READ -> op.completed() ? readsByBlock : null;
                case SNAPSHOT_READ -> op.completed() ? snapshotReadsByBlock : null;
                default -> null;
            };
            if (target != null) {
                for (long b = op.lba(); b < op.lba() + op.blocks(); b++) {
                    if (b < history.regionBlocks()) {
                        target.computeIfAbsent(b, k -> new ArrayList<>()).add(op);
                    }
                }
            }
        }
        Map<Op, Long> instantLow = new HashMap<>();   // creation -> latest start of a write the snapshot holds
        Map<Op, Long> instantHigh = new HashMap<>();  // creation -> earliest end of a write that superseded one it holds
        Map<String, long[]> afterCutSnapshots = history.wasCut() ? history.snapshotContentsAfterCut() : Map.of();
        for (long b = 0; b < history.regionBlocks(); b++) {
            BlockHistory block = new BlockHistory(b, writesByBlock.getOrDefault(b, List.of()));
            checkReads(block, readsByBlock.getOrDefault(b, List.of()));
            Map<Op, Long> seenInSnapshot = new HashMap<>();
            for (Op read : snapshotReadsByBlock.getOrDefault(b, List.of())) {
                checkSnapshotBlock(block, creations.get(read.snapshotId()), read.snapshotId(),
                        read.observed()[(int) (b - read.lba())], "read " + read, seenInSnapshot, instantLow, instantHigh);
            }
            for (Map.Entry<String, long[]> entry : afterCutSnapshots.entrySet()) {
                Op creation = creationsByName.get(entry.getKey());
                checkSnapshotBlock(block, creation, history.snapshotsAfterCut().getOrDefault(entry.getKey(), -1L),
                        entry.getValue()[(int) b], "read after the reboot", seenInSnapshot, instantLow, instantHigh);
            }
            if (history.wasCut() && history.volumeAfterCut() != null) {
                checkDurable(block, history.volumeAfterCut()[(int) b]);
            }
        }
        for (Map.Entry<Op, Long> low : instantLow.entrySet()) {
            Op creation = low.getKey();
            long high = instantHigh.getOrDefault(creation, Op.UNKNOWN);
            long from = Math.max(low.getValue(), creation.start());
            long to = Math.min(high, creation.end());
            if (from >= to) {
                violations.add(new Violation("snapshot instant", -1, "snapshot '" + creation.name() + "' (" + creation
                        + ") is no single instant: its blocks hold writes that started as late as tick "
                        + low.getValue() + " beside older writes superseded by tick " + high));
            }
        }
        if (history.wasCut() && history.snapshotsAfterCut() != null) {
            checkSnapshotList();
        }
    }

    // ------------------------------------------------------------------ rule 1: reads

    private void checkReads(BlockHistory block, List<Op> reads) {
        if (reads.isEmpty()) {
            return;
        }
        // reads by end, with the latest start of the write each returned (reads never go back); a
        // value two writes carry (a rewrite) counts with the earlier start: the weaker bound
        List<Op> byEnd = new ArrayList<>(reads);
        byEnd.sort(Comparator.comparingLong(Op::end));
        long[] ends = new long[byEnd.size()];
        long[] observedStartMax = new long[byEnd.size()];
        long max = -1;
        for (int i = 0; i < byEnd.size(); i++) {
            Op read = byEnd.get(i);
            ends[i] = read.end();
            List<Op> carriers = block.carriers(read.observed()[(int) (block.lba - read.lba())]);
            if (!carriers.isEmpty()) {
                max = Math.max(max, carriers.stream().mapToLong(Op::start).min().getAsLong());
            }
            observedStartMax[i] = max;
        }
        for (Op read : reads) {
            long value = read.observed()[(int) (block.lba - read.lba())];
            List<Op> carriers = decodable(block, value, "read " + read);
            if (carriers.isEmpty()) {
                continue;
            }
            int i = lastBelow(ends, read.start());
            long floor = i >= 0 ? observedStartMax[i] : -1;
            String problem = null;
            for (Op w : carriers) {
                Op newer = block.supersedingBefore(w, read.start());
                if (w.start() > read.end()) {
                    problem = problem != null ? problem : "returned " + w + ", which started after the read ended";
                } else if (newer != null) {
                    problem = problem != null ? problem : "returned " + describe(w) + ", but " + newer
                            + " wrote this block after it and completed before the read began";
                } else if (floor > w.end()) {
                    problem = problem != null ? problem : "returned " + describe(w) + ", older than what "
                            + earlierRead(block, byEnd, i, w) + " had already returned";
                } else {
                    problem = null;
                    break; // this carrier explains the value
                }
            }
            if (problem != null) {
                String rule = problem.contains("started after") ? "read" : problem.contains("already returned")
                        ? "read went back in time" : "stale read";
                violations.add(new Violation(rule, block.lba, read + " " + problem));
            }
        }
    }

    private Op earlierRead(BlockHistory block, List<Op> byEnd, int last, Op w) {
        for (int k = 0; k <= last; k++) {
            for (Op seen : block.carriers(byEnd.get(k).observed()[(int) (block.lba - byEnd.get(k).lba())])) {
                if (seen.start() > w.end()) {
                    return byEnd.get(k);
                }
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ rule 3: durability

    private void checkDurable(BlockHistory block, long value) {
        List<Op> carriers = decodable(block, value, "the volume after the reboot (" + history.cutNote() + ")");
        if (carriers.isEmpty()) {
            return;
        }
        long newestEnd = carriers.stream().mapToLong(Op::end).max().getAsLong();
        Op required = null;
        for (Op candidate : block.writes) {
            boolean mustSurvive = candidate.completed() && candidate.id() != 0
                    && (candidate.fua() || candidate.end() < lastBarrierStart);
            if (mustSurvive && candidate.start() > newestEnd && (required == null || candidate.start() > required.start())) {
                required = candidate;
            }
        }
        if (required != null) {
            String why = required.fua() ? "acknowledged with FUA"
                    : "acknowledged before the barrier " + firstBarrierAfter(required.end()) + " completed";
            violations.add(new Violation("lost write", block.lba, "after the reboot (" + history.cutNote()
                    + ") the block holds " + describe(carriers.get(carriers.size() - 1)) + ", but " + required
                    + " was " + why));
        }
    }

    private Op firstBarrierAfter(long tick) {
        Op first = lastBarrier;
        for (Op op : ops) {
            boolean barrier = op.kind() == Op.Kind.FLUSH || op.kind() == Op.Kind.SNAPSHOT_CREATE;
            if (barrier && op.completed() && op.start() > tick && (first == null || op.start() < first.start())) {
                first = op;
            }
        }
        return first;
    }

    // ------------------------------------------------------------------ rule 4: snapshots

    private void checkSnapshotBlock(BlockHistory block, Op creation, long snapshotId, long value, String where,
                                    Map<Op, Long> seen, Map<Op, Long> instantLow, Map<Op, Long> instantHigh) {
        if (creation == null) {
            violations.add(new Violation("snapshot", block.lba, "snapshot " + snapshotId + " was " + where
                    + " but no creation of it was recorded"));
            return;
        }
        List<Op> carriers = decodable(block, value, "snapshot " + snapshotId + ", " + where);
        if (carriers.isEmpty()) {
            return;
        }
        Long first = seen.putIfAbsent(creation, value);
        if (first != null && first != value) {
            violations.add(new Violation("snapshot changed", block.lba, "snapshot " + snapshotId + " " + where + " holds "
                    + BlockStamp.describe(value) + ", an earlier read of it returned " + BlockStamp.describe(first)));
            return;
        }
        if (first != null) {
            return; // same value, already checked
        }
        String problem = null;
        long low = Op.UNKNOWN;
        long high = -1;
        for (Op w : carriers) {
            Op newer = block.supersedingBefore(w, creation.start());
            if (w.start() > creation.end()) {
                problem = problem != null ? problem : "holds " + w + ", which started after the creation returned";
            } else if (newer != null) {
                problem = problem != null ? problem : "holds " + describe(w) + ", but " + newer
                        + " overwrote it and completed before the creation began";
            } else {
                low = Math.min(low, w.start());
                high = Math.max(high, block.earliestEndOfWriteAfter(w));
            }
        }
        if (high < 0) {
            violations.add(new Violation("snapshot", block.lba, "snapshot " + snapshotId + " (" + creation + ") "
                    + where + " " + problem));
            return;
        }
        instantLow.merge(creation, low, Math::max);
        instantHigh.merge(creation, high, Math::min);
    }

    private void checkSnapshotList() {
        Map<String, Long> list = history.snapshotsAfterCut();
        Map<Long, Op> deletions = new HashMap<>();
        for (Op op : ops) {
            if (op.kind() == Op.Kind.SNAPSHOT_DELETE) {
                deletions.put(op.snapshotId(), op);
            }
        }
        for (Op creation : ops) {
            if (creation.kind() != Op.Kind.SNAPSHOT_CREATE) {
                continue;
            }
            boolean exists = list.containsKey(creation.name());
            Op deletion = creation.snapshotId() >= 0 ? deletions.get(creation.snapshotId()) : null;
            if (creation.completed() && deletion == null && !exists) {
                violations.add(new Violation("snapshot lost", -1, creation + " completed and was never deleted,"
                        + " but after the reboot (" + history.cutNote() + ") it is gone"));
            } else if (deletion != null && deletion.completed() && exists) {
                violations.add(new Violation("snapshot resurrected", -1, deletion + " completed, but after the reboot ("
                        + history.cutNote() + ") '" + creation.name() + "' exists again"));
            }
        }
    }

    // ------------------------------------------------------------------ shared

    /** The writes that carry a decoded value (empty after recording a torn/unknown violation). */
    private List<Op> decodable(BlockHistory block, long value, String where) {
        if (value == BlockStamp.TORN) {
            violations.add(new Violation("torn block", block.lba, where + ": the block is neither zeros nor one whole"
                    + " write of this lba (torn, misdirected or corrupt)"));
            return List.of();
        }
        List<Op> carriers = block.carriers(value);
        if (carriers.isEmpty()) {
            violations.add(new Violation("unknown value", block.lba, where + ": the block holds "
                    + BlockStamp.describe(value) + ", which never wrote this block"));
        }
        return carriers;
    }

    private static String describe(Op write) {
        return write.id() == 0 ? "zeros (never written)" : write.toString();
    }

    /** Index of the last element of sorted {@code values} below {@code limit}, or -1. */
    private static int lastBelow(long[] values, long limit) {
        int i = Arrays.binarySearch(values, limit);
        int insertion = i >= 0 ? i : -i - 1;
        while (insertion > 0 && values[insertion - 1] >= limit) {
            insertion--;
        }
        return insertion - 1;
    }

    /** The writes of one block, with the initial zeros as write 0 at tick 0. */
    private final class BlockHistory {
        final long lba;
        final List<Op> writes = new ArrayList<>();
        /** Writes by the stamp their blocks carry (a rewrite carries an earlier write's). */
        final Map<Long, List<Op>> byStamp = new HashMap<>();
        final long[] endsSorted;
        final Op[] byEnd;
        /** For each index of {@link #byEnd}, the write with the latest start among byEnd[0..i]. */
        final Op[] latestStartUpTo;

        BlockHistory(long lba, List<Op> blockWrites) {
            this.lba = lba;
            Op initial = new Op(0, Op.Kind.WRITE, -1, lba, 1, false, 0, 0, null, -1, null, null);
            writes.add(initial);
            writes.addAll(blockWrites);
            for (Op w : writes) {
                byStamp.computeIfAbsent(w.stamp(), k -> new ArrayList<>()).add(w);
            }
            List<Op> completed = new ArrayList<>();
            for (Op w : writes) {
                if (w.completed()) {
                    completed.add(w);
                }
            }
            completed.sort(Comparator.comparingLong(Op::end));
            byEnd = completed.toArray(new Op[0]);
            endsSorted = new long[byEnd.length];
            latestStartUpTo = new Op[byEnd.length];
            Op latest = null;
            for (int i = 0; i < byEnd.length; i++) {
                endsSorted[i] = byEnd[i].end();
                if (latest == null || byEnd[i].start() > latest.start()) {
                    latest = byEnd[i];
                }
                latestStartUpTo[i] = latest;
            }
        }

        /** The writes of this block whose blocks carry {@code stamp}, oldest first (empty if none). */
        List<Op> carriers(long stamp) {
            return stamp == BlockStamp.TORN ? List.of() : byStamp.getOrDefault(stamp, List.of());
        }

        /** A write of this block that completed before {@code tick} and started after {@code w} ended, or null. */
        Op supersedingBefore(Op w, long tick) {
            int i = lastBelow(endsSorted, tick);
            if (i < 0) {
                return null;
            }
            Op latest = latestStartUpTo[i];
            return latest.start() > w.end() ? latest : null;
        }

        /** The earliest end of a completed write of this block that started after {@code w} ended; UNKNOWN if none. */
        long earliestEndOfWriteAfter(Op w) {
            for (Op candidate : byEnd) {
                if (candidate.start() > w.end()) {
                    return candidate.end();
                }
            }
            return Op.UNKNOWN;
        }
    }
}
