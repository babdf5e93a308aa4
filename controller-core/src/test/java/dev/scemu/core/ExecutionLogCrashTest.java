package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Power cut before every device write of a seeded scenario (dropping every unflushed write, and
 * keeping three seeded random subsets of them), then recovery checks against a model of what was
 * appended and what was synced.
 */
class ExecutionLogCrashTest {

    private static final int BLOCK = 512;
    private static final Extent REGION = Extent.of(3, 18); // 16-block ring
    private static final Long[] CUT_MODES = {null, 11L, 22L, 33L};

    private enum Kind { BEGIN, STEP, COMMIT, ABORT, SYNC }

    /** One scripted operation; {@code tx} is the script's index of the transaction. */
    private record Op(Kind kind, int tx, int length) {
    }

    /** What the script did to one transaction, and what a completed sync made durable. */
    /** Successful appends in order: {script tx, kind} pairs; {@code syncedAppends} of them were synced. */
    private static final class Appends {
        final List<int[]> records = new ArrayList<>();
        int synced;
    }

    private static final class TxModel {
        long txId;
        boolean begun;
        final List<Integer> stepLengths = new ArrayList<>();
        boolean finishAppended;
        boolean beginSynced;
        int syncedSteps;
        boolean finishSynced;
    }

    private static List<Op> script(long seed, int length) {
        Random random = new Random(seed);
        List<Op> ops = new ArrayList<>();
        List<Integer> active = new ArrayList<>();
        Map<Integer, Integer> steps = new HashMap<>();
        int nextTx = 0;
        while (ops.size() < length) {
            int choice = random.nextInt(10);
            if (active.isEmpty() || (choice < 3 && active.size() < 3)) {
                ops.add(new Op(Kind.BEGIN, nextTx, random.nextInt(120)));
                active.add(nextTx++);
            } else if (choice < 6) {
                int tx = active.get(random.nextInt(active.size()));
                int index = steps.merge(tx, 1, Integer::sum) - 1;
                ops.add(new Op(Kind.STEP, tx, random.nextInt(150) + index % 2));
            } else if (choice < 8) {
                int tx = active.remove(random.nextInt(active.size()));
                ops.add(new Op(random.nextInt(5) == 0 ? Kind.ABORT : Kind.COMMIT, tx, 0));
            } else {
                ops.add(new Op(Kind.SYNC, -1, 0));
            }
        }
        return ops;
    }

    private static ByteBuffer payload(int tx, int step, int length) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) (tx * 131 + step * 17 + i);
        }
        return ByteBuffer.wrap(bytes);
    }

    /** Runs the script until it ends or the armed power cut strikes; returns the model. */
    private static Map<Integer, TxModel> run(ExecutionLog log, List<Op> ops, Appends appends) {
        Map<Integer, TxModel> model = new HashMap<>();
        try {
            for (Op op : ops) {
                TxModel tx = op.tx() >= 0 ? model.computeIfAbsent(op.tx(), k -> new TxModel()) : null;
                runOne(log, op, tx, model, appends);
                if (op.kind() != Kind.SYNC) {
                    appends.records.add(new int[] {op.tx(), op.kind().ordinal()});
                }
            }
        } catch (CoreException e) {
            if (e.code() != CoreError.POWER_LOST) {
                throw e;
            }
            // the power cut struck: the model holds what completed before it
        }
        return model;
    }

    private static void runOne(ExecutionLog log, Op op, TxModel tx, Map<Integer, TxModel> model, Appends appends) {
                switch (op.kind()) {
                    case BEGIN -> {
                        tx.txId = log.begin(op.tx() % 1000, payload(op.tx(), -1, op.length()));
                        tx.begun = true;
                    }
                    case STEP -> {
                        int index = tx.stepLengths.size();
                        log.step(tx.txId, index, payload(op.tx(), index, op.length()));
                        tx.stepLengths.add(op.length());
                    }
                    case COMMIT, ABORT -> {
                        if (op.kind() == Kind.COMMIT) {
                            log.commit(tx.txId);
                        } else {
                            log.abort(tx.txId);
                        }
                        tx.finishAppended = true;
                    }
                    case SYNC -> {
                        log.sync();
                        appends.synced = appends.records.size();
                        for (TxModel m : model.values()) {
                            m.beginSynced = m.begun;
                            m.syncedSteps = m.stepLengths.size();
                            m.finishSynced = m.finishAppended;
                        }
                    }
                }
    }

    /**
     * The recovered log must be a prefix of the appends at least as long as the synced ones: some
     * P in [synced, appended] such that replaying the first P appends gives exactly the recovered
     * unfinished transactions with exactly their step counts.
     */
    private static boolean isSomePrefix(Appends appends, Map<Integer, Integer> recoveredSteps, List<Integer> recoveredOrder) {
        Map<Integer, Integer> open = new java.util.LinkedHashMap<>();
        for (int p = 0; p <= appends.records.size(); p++) {
            if (p >= appends.synced && open.equals(recoveredSteps) && new ArrayList<>(open.keySet()).equals(recoveredOrder)) {
                return true;
            }
            if (p == appends.records.size()) {
                break;
            }
            int[] record = appends.records.get(p);
            switch (Kind.values()[record[1]]) {
                case BEGIN -> open.put(record[0], 0);
                case STEP -> open.merge(record[0], 1, Integer::sum);
                default -> open.remove(record[0]);
            }
        }
        return false;
    }

    @Test
    void recoversAfterAPowerCutBeforeEveryWrite() {
        List<Op> ops = script(2024, 700);
        long totalWrites;
        long reclaims;
        PowerDomain dryRun = new PowerDomain(1);
        try (FaultInjectingDevice disk = dryRun.attach(Media.memory("crash", new BlockGeometry(BLOCK, 24)))) {
            ExecutionLog log = ExecutionLog.format(disk, REGION);
            long formatWrites = dryRun.writeCount();
            run(log, ops, new Appends());
            totalWrites = dryRun.writeCount() - formatWrites;
            reclaims = log.stats().reclaims();
        }
        System.out.println("crash scenario: " + ops.size() + " ops, " + totalWrites + " writes, " + reclaims + " reclaims");
        assertThat(reclaims).as("the scenario wraps the ring").isGreaterThan(3);
        int explored = 0;
        int points = 0; // passed: counted after crashAt's checks returned
        for (long k = 0; k <= totalWrites; k++) {
            for (Long mode : CUT_MODES) {
                explored++;
                crashAt(ops, k, mode);
                points++;
            }
        }
        System.out.printf("CRASH POINTS: ExecutionLogCrashTest explored=%d passed=%d%n", explored, points);
        assertThat(points).isGreaterThan(400);
    }

    private void crashAt(List<Op> ops, long writeIndex, Long keepSeed) {
        String where = "cut before write " + writeIndex + " keep=" + keepSeed;
        PowerCutMode mode = keepSeed == null ? PowerCutMode.DROP_UNFLUSHED : PowerCutMode.KEEP_RANDOM_SUBSET;
        PowerDomain domain = new PowerDomain(keepSeed == null ? 0 : keepSeed);
        try (FaultInjectingDevice disk = domain.attach(Media.memory("crash", new BlockGeometry(BLOCK, 24)))) {
            ExecutionLog log = ExecutionLog.format(disk, REGION);
            domain.armCutAtWrite(domain.writeCount() + writeIndex, mode);
            Appends appends = new Appends();
            Map<Integer, TxModel> model = run(log, ops, appends);
            domain.cut(mode); // no-op if the armed cut already struck
            domain.restore();

            Map<Long, Integer> scriptIndexOf = new HashMap<>();
            long maxIdSeen = 0;
            for (Map.Entry<Integer, TxModel> e : model.entrySet()) {
                if (e.getValue().begun) {
                    scriptIndexOf.put(e.getValue().txId, e.getKey());
                    if (e.getValue().beginSynced) {
                        maxIdSeen = Math.max(maxIdSeen, e.getValue().txId);
                    }
                }
            }

            List<Long> recoveredIds = new ArrayList<>();
            long newCommitted;
            long newOpen;
            try (ExecutionLog reopened = ExecutionLog.open(disk, REGION)) {
                long previous = 0;
                for (Transaction tx : reopened.unfinished()) {
                    assertThat(tx.txId()).as(where + ": begin order").isGreaterThan(previous);
                    previous = tx.txId();
                    Integer index = scriptIndexOf.get(tx.txId());
                    if (index == null) {
                        fail(where + ": recovered transaction " + tx.txId() + " was never begun");
                    }
                    TxModel m = model.get(index);
                    assertThat(m.finishSynced).as(where + ": tx %d committed and synced", tx.txId()).isFalse();
                    assertThat(tx.opType()).as(where).isEqualTo(index % 1000);
                    assertThat(tx.beginPayload()).as(where).isEqualTo(payload(index, -1, payloadLength(ops, index)));
                    assertThat(tx.steps().size()).as(where + ": steps of tx %d", tx.txId())
                            .isBetween(m.syncedSteps, m.stepLengths.size());
                    for (int s = 0; s < tx.steps().size(); s++) {
                        assertThat(tx.steps().get(s).stepIndex()).as(where).isEqualTo(s);
                        assertThat(tx.steps().get(s).payload()).as(where)
                                .isEqualTo(payload(index, s, m.stepLengths.get(s)));
                    }
                    recoveredIds.add(tx.txId());
                }
                Map<Integer, Integer> recoveredSteps = new HashMap<>();
                List<Integer> recoveredOrder = new ArrayList<>();
                for (Transaction tx : reopened.unfinished()) {
                    recoveredSteps.put(scriptIndexOf.get(tx.txId()), tx.steps().size());
                    recoveredOrder.add(scriptIndexOf.get(tx.txId()));
                }
                assertThat(isSomePrefix(appends, recoveredSteps, recoveredOrder))
                        .as(where + ": recovered %s is a prefix of the appends", recoveredSteps).isTrue();
                for (TxModel m : model.values()) {
                    if (m.beginSynced && !m.finishSynced && !m.finishAppended) {
                        assertThat(recoveredIds).as(where + ": synced unfinished tx %d", m.txId).contains(m.txId);
                    }
                }
                // the reopened log accepts new transactions, with ids above every durable one
                newCommitted = reopened.begin(7, payload(9999, 0, 33));
                reopened.step(newCommitted, 0, payload(9999, 1, 10));
                reopened.commit(newCommitted);
                newOpen = reopened.begin(8, payload(9998, 0, 20));
                assertThat(newCommitted).as(where).isGreaterThan(maxIdSeen);
                assertThat(newCommitted).as(where).isGreaterThan(recoveredIds.isEmpty() ? 0 : recoveredIds.get(recoveredIds.size() - 1));
                reopened.sync();
            }
            domain.cut(mode); // nothing is unflushed after sync: a second cut changes nothing
            domain.restore();
            try (ExecutionLog again = ExecutionLog.open(disk, REGION)) {
                List<Long> expected = new ArrayList<>(recoveredIds);
                expected.add(newOpen);
                assertThat(again.unfinished()).extracting(Transaction::txId).as(where).containsExactlyElementsOf(expected);
                for (long id : recoveredIds) {
                    again.abort(id);
                }
                again.commit(newOpen);
                again.sync();
            }
            try (ExecutionLog last = ExecutionLog.open(disk, REGION)) {
                assertThat(last.unfinished()).as(where).isEmpty();
            }
        }
    }

    // ------------------------------------------------------------------ several sessions

    private static final int SESSIONS = 4;

    /** What one multi-session run saw in the session where the armed cut struck. */
    private static final class SessionRun {
        boolean struck;
        final Appends appends = new Appends();
        Map<Integer, TxModel> model = new HashMap<>();
        /** Ids recovered at the struck session's open, whose aborts may or may not be durable. */
        final List<Long> inherited = new ArrayList<>();
    }

    /**
     * {@link #SESSIONS} sessions of scripted appends; each (but the last) ends with an unplanned
     * power cut that keeps a seeded random subset of the unflushed writes, so later sessions meet
     * survivors of torn tails and stale blocks of earlier sessions. Each session opens the log
     * (which must succeed: a torn tail is never corruption), aborts what it recovered, syncs, and
     * runs its own script. Returns when the armed cut strikes (or after the last session).
     */
    private static SessionRun runSessions(PowerDomain domain, FaultInjectingDevice disk, long cutAt, PowerCutMode mode) {
        SessionRun current = new SessionRun();
        ExecutionLog.format(disk, REGION);
        long target = cutAt < 0 ? -1 : domain.writeCount() + cutAt;
        for (int session = 0; session < SESSIONS; session++) {
            current = new SessionRun();
            if (target >= 0) {
                domain.armCutAtWrite(target, mode); // again after each unplanned cut, which disarms
            }
            try {
                ExecutionLog log = ExecutionLog.open(disk, REGION);
                for (Transaction tx : log.unfinished()) {
                    current.inherited.add(tx.txId());
                }
                for (long id : current.inherited) {
                    log.abort(id);
                }
                log.sync();
                current.inherited.clear(); // the aborts are durable
                current.model = run(log, script(100 + session, 150), current.appends);
                log.sync();
                log.begin(42, payload(42, session, 60)); // an unsynced tail for the unplanned cut
                log.begin(43, payload(43, session, 300));
            } catch (CoreException e) {
                if (e.code() != CoreError.POWER_LOST) {
                    throw e;
                }
            }
            if (!domain.isPowered()) {
                current.struck = true;
                domain.restore();
                return current;
            }
            domain.cut(PowerCutMode.KEEP_RANDOM_SUBSET);
            domain.restore();
        }
        return current;
    }

    @Test
    void recoversAcrossSessionsWithSurvivingTornTailsAfterACutBeforeEveryWrite() {
        int explored = 0;
        int points = 0; // passed: counted after the checks of a run returned
        for (long seed : new long[] {5, 17}) {
        long totalWrites;
        PowerDomain dryRun = new PowerDomain(seed);
        try (FaultInjectingDevice disk = dryRun.attach(Media.memory("crash", new BlockGeometry(BLOCK, 24)))) {
            runSessions(dryRun, disk, -1, PowerCutMode.DROP_UNFLUSHED);
            totalWrites = dryRun.writeCount();
        }
        System.out.println("multi-session crash scenario (seed " + seed + "): " + SESSIONS + " sessions, " + totalWrites
                + " writes");
        for (long k = 0; k < totalWrites - 2; k++) { // the format's two header writes come first
            for (PowerCutMode mode : new PowerCutMode[] {PowerCutMode.DROP_UNFLUSHED, PowerCutMode.KEEP_RANDOM_SUBSET}) {
                String where = "sessions (power seed " + seed + "): cut before write " + k + " (" + mode + ")";
                explored++;
                PowerDomain domain = new PowerDomain(seed);
                try (FaultInjectingDevice disk = domain.attach(Media.memory("crash", new BlockGeometry(BLOCK, 24)))) {
                    SessionRun run = runSessions(domain, disk, k, mode);
                    assertThat(run.struck).as(where + ": the armed cut struck").isTrue();
                    List<Long> allowed = new ArrayList<>(run.inherited);
                    for (TxModel m : run.model.values()) {
                        if (m.begun) {
                            allowed.add(m.txId);
                        }
                    }
                    ExecutionLog reopened;
                    try {
                        reopened = ExecutionLog.open(disk, REGION);
                    } catch (CoreException e) {
                        throw new AssertionError(where + ": a torn tail must reopen, got " + e.getMessage(), e);
                    }
                    List<Long> recovered = reopened.unfinished().stream().map(Transaction::txId).toList();
                    assertThat(allowed).as(where + ": recovered ids were begun").containsAll(recovered.stream()
                            .filter(id -> !isTailFiller(reopened, id)).toList());
                    for (TxModel m : run.model.values()) {
                        if (m.beginSynced && !m.finishSynced && !m.finishAppended) {
                            assertThat(recovered).as(where + ": synced unfinished tx %d", m.txId).contains(m.txId);
                            Transaction tx = reopened.unfinished().stream().filter(t -> t.txId() == m.txId).findFirst()
                                    .orElseThrow();
                            assertThat(tx.steps().size()).as(where).isBetween(m.syncedSteps, m.stepLengths.size());
                        }
                    }
                    reopened.close();
                    points++;
                }
            }
        }
        }
        System.out.printf("CRASH POINTS: ExecutionLogCrashTest sessions explored=%d passed=%d%n", explored, points);
        assertThat(points).isGreaterThan(400);
    }

    /** The unsynced tail fillers (op types 42, 43) of the previous session may survive its unplanned cut. */
    private static boolean isTailFiller(ExecutionLog log, long id) {
        return log.unfinished().stream().anyMatch(t -> t.txId() == id && (t.opType() == 42 || t.opType() == 43));
    }

    private static int payloadLength(List<Op> ops, int tx) {
        for (Op op : ops) {
            if (op.kind() == Kind.BEGIN && op.tx() == tx) {
                return op.length();
            }
        }
        throw new AssertionError("no BEGIN for " + tx);
    }
}
