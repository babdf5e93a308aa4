package dev.scemu.testkit.concurrency;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A concurrency checker that can fail: N workers (threads or NBD connections) issue overlapping
 * reads, writes, FUA writes and flushes on a {@link ConcurrencyTarget} while a snapshot worker
 * creates, reads and deletes snapshots, and power is cut at a seeded instant; every operation is
 * recorded with its start and end on one clock ({@link History}) and the history is judged block by
 * block ({@link HistoryChecker}: stale or future reads, torn blocks, writes lost despite a flush or
 * FUA, snapshots that are not the volume at their creation instant).
 *
 * <h2>A run</h2>
 * <ol>
 *   <li>Workers each issue {@code opsPerWorker} operations on blocks {@code [0, regionBlocks)}: 50 %
 *       writes (1 in 6 with FUA), 40 % reads, 10 % flushes, 1..{@code maxBlocksPerOp} blocks. Every
 *       written block carries a {@link BlockStamp} of its lba and the write's id. 1 in 8 writes is a
 *       <em>rewrite</em>: the bytes of one of the worker's 16 latest writes, over the same range,
 *       again (often still there, so the snapshot volume's skip of identical rewrites runs under
 *       concurrency; the history knows two writes carry that stamp).</li>
 *   <li>With snapshots, one more worker loops while the others run: create a snapshot, read a random
 *       range of a live one, delete the oldest when three are alive.</li>
 *   <li>With a cut: when the seeded operation number {@code K} (between 1/5 and 4/5 of all
 *       operations) starts (or the first one after the snapshot worker created and read its first
 *       snapshot, so that no run checks no snapshot), power is armed to fail at a seeded write among the next 48 the media
 *       receive, so the cut lands inside whatever the stack is doing then (a host write, a COW copy,
 *       a journal commit, a snapshot creation or deletion). Workers stop at the first failure after
 *       it. If the armed write is never reached, power is cut after the last operation. The target
 *       reboots and the region and every snapshot are read back.</li>
 *   <li>Without a cut, the checker reads the region and every live snapshot at the end.</li>
 * </ol>
 * An operation that fails while power is on is itself a failure of the run.
 *
 * <p>Nothing sleeps. Workers run on an executor whose futures are joined with a deadline.
 */
public final class ConcurrencyChecker {

    private static final long DEADLINE_SECONDS = 600;
    /** Earlier writes of a worker a rewrite picks from. */
    private static final int RECENT_WRITES = 16;

    private final ConcurrencyConfig config;
    private final String variant;

    /**
     * @param variant what the replay command selects ("threads" or "nbd" in scemu's own test)
     */
    public ConcurrencyChecker(ConcurrencyConfig config, String variant) {
        this.config = config;
        this.variant = variant;
    }

    /** Runs the workload on {@code target}, checks the history, and returns what was checked. */
    public ConcurrencyResult run(ConcurrencyTarget target) {
        int blockSize = target.blockSize();
        if (target.blockCount() < config.regionBlocks()) {
            throw new IllegalArgumentException("the target has " + target.blockCount() + " blocks, fewer than the region's "
                    + config.regionBlocks());
        }
        History history = new History(blockSize, config.regionBlocks());
        ConcurrentLinkedQueue<String> unexpected = new ConcurrentLinkedQueue<>();
        PowerDomain power = config.cut() ? target.power() : null;
        PowerCutMode mode = config.cutMode();
        SplittableRandom seeded = new SplittableRandom(config.seed());
        int total = config.workers() * config.opsPerWorker();
        int cutAfter = total / 5 + seeded.nextInt(Math.max(1, total * 3 / 5));
        int cutWriteOffset = seeded.nextInt(48);
        AtomicInteger started = new AtomicInteger();
        String[] armedNote = {null};
        AtomicBoolean workersDone = new AtomicBoolean();
        AtomicBoolean armed = new AtomicBoolean();
        ConcurrencyTarget.Snapshots snapshots = config.snapshots() ? target.snapshots() : null;
        // the cut waits until the snapshot worker has created and read its first snapshot, so every
        // run with snapshots checks at least one (a late-scheduled thread must not make it vacuous)
        AtomicBoolean snapshotWarm = new AtomicBoolean(snapshots == null);

        ExecutorService pool = Executors.newFixedThreadPool(config.workers() + 1);
        try {
            List<Future<?>> workers = new ArrayList<>();
            for (int w = 0; w < config.workers(); w++) {
                int worker = w;
                workers.add(pool.submit(() -> {
                    work(target, worker, history, unexpected, power, () -> {
                        int n = power == null ? 0 : started.incrementAndGet();
                        if (power != null && n >= cutAfter && snapshotWarm.get() && armed.compareAndSet(false, true)) {
                            long at = power.writeCount() + cutWriteOffset;
                            power.armCutAtWrite(at, mode);
                            synchronized (armedNote) {
                                armedNote[0] = "cut (" + mode + ") armed when operation " + n + " of " + total
                                        + " started (seeded: " + cutAfter + "), at media write #" + at;
                            }
                        }
                    });
                    return null;
                }));
            }
            Future<?> snapshotWorker = snapshots == null ? null : pool.submit(() -> {
                try {
                    snapshotLoop(snapshots, history, unexpected, power, workersDone, snapshotWarm);
                } finally {
                    snapshotWarm.set(true);
                }
                return null;
            });
            for (Future<?> future : workers) {
                join(future);
            }
            workersDone.set(true);
            if (snapshotWorker != null) {
                join(snapshotWorker);
            }
        } finally {
            pool.shutdownNow();
        }

        if (power != null) {
            String armedText;
            synchronized (armedNote) {
                armedText = armedNote[0] == null ? "cut never armed (the snapshot worker was not done with its first"
                        + " snapshot before the last operation)" : armedNote[0];
            }
            if (power.isPowered()) {
                power.disarm();
                history.cut(history.tick(), armedText + "; not reached, cut (" + mode + ") after the last operation");
                power.cut(mode);
            } else {
                history.cut(history.tick(), armedText + "; fired during the workload");
            }
            target.reboot(mode);
            history.volumeAfterCut(readRegion(target.volume(), history));
            if (target.snapshots() != null) {
                Map<String, Long> list = target.snapshots().list();
                Map<String, long[]> contents = new HashMap<>();
                for (Op op : history.ops()) {
                    if (op.kind() == Op.Kind.SNAPSHOT_CREATE && list.containsKey(op.name())) {
                        contents.put(op.name(), readRegion(target.snapshots().view(list.get(op.name())), history));
                    }
                }
                history.snapshotsAfterCut(list, contents);
            }
        } else {
            finalReads(target, history, snapshots);
        }

        List<HistoryChecker.Violation> violations = new ArrayList<>(HistoryChecker.check(history));
        for (String error : unexpected) {
            violations.add(new HistoryChecker.Violation("error without a cut", -1, error));
        }
        if (!violations.isEmpty()) {
            throw new ConcurrencyFailure(config.seed(), failureMessage(target, history, violations), violations);
        }
        return result(history);
    }

    // ------------------------------------------------------------------ workers

    private void work(ConcurrencyTarget target, int worker, History history, ConcurrentLinkedQueue<String> unexpected,
                      PowerDomain power, Runnable beforeEachOp) throws Exception {
        SplittableRandom random = new SplittableRandom(BlockStamp.mix(config.seed() * 31 + worker + 1));
        int blockSize = target.blockSize();
        ByteBuffer buffer = ByteBuffer.allocateDirect(config.maxBlocksPerOp() * blockSize);
        List<long[]> recent = new ArrayList<>(); // this worker's latest writes: lba, blocks, id
        try (ConcurrencyTarget.Client client = target.client(worker)) {
            for (int n = 0; n < config.opsPerWorker(); n++) {
                if (power != null && !power.isPowered()) {
                    return;
                }
                beforeEachOp.run();
                int pick = random.nextInt(10);
                int blocks = 1 + random.nextInt(config.maxBlocksPerOp());
                long lba = random.nextInt(config.regionBlocks() - blocks + 1);
                long id = history.nextId();
                Op.Kind kind = pick < 5 ? Op.Kind.WRITE : pick < 9 ? Op.Kind.READ : Op.Kind.FLUSH;
                boolean fua = kind == Op.Kind.WRITE && random.nextInt(6) == 0;
                long stamp = kind == Op.Kind.WRITE ? id : 0;
                if (kind == Op.Kind.WRITE && recent.size() > 0 && random.nextInt(8) == 0) {
                    long[] earlier = recent.get(random.nextInt(recent.size())); // rewrite: identical bytes again
                    lba = earlier[0];
                    blocks = (int) earlier[1];
                    stamp = earlier[2];
                }
                if (kind == Op.Kind.WRITE) {
                    for (int i = 0; i < blocks; i++) {
                        BlockStamp.stamp(buffer, i * blockSize, blockSize, lba + i, stamp);
                    }
                    if (stamp == id) {
                        if (recent.size() == RECENT_WRITES) {
                            recent.remove(0);
                        }
                        recent.add(new long[] {lba, blocks, id});
                    }
                }
                long start = history.tick();
                try {
                    long[] observed = null;
                    switch (kind) {
                        case WRITE -> client.write(lba, blocks, buffer, fua);
                        case READ -> {
                            client.read(lba, blocks, buffer);
                            observed = new long[blocks];
                        }
                        default -> client.flush();
                    }
                    long end = history.tick();
                    if (observed != null) {
                        for (int i = 0; i < blocks; i++) {
                            observed[i] = BlockStamp.decode(buffer, i * blockSize, blockSize, lba + i);
                        }
                    }
                    boolean blockOp = kind != Op.Kind.FLUSH;
                    history.record(new Op(id, stamp, kind, worker, blockOp ? lba : -1, blockOp ? blocks : 0, fua, start,
                            end, observed, -1, null, null));
                } catch (Exception | AssertionError e) {
                    boolean blockOp = kind != Op.Kind.FLUSH;
                    Op failed = new Op(id, stamp, kind, worker, blockOp ? lba : -1, blockOp ? blocks : 0, fua, start,
                            Op.UNKNOWN, null, -1, null, String.valueOf(e));
                    history.record(failed);
                    if (power == null || power.isPowered()) {
                        unexpected.add(failed + " failed while power was on");
                    }
                    return;
                }
            }
        }
    }

    private void snapshotLoop(ConcurrencyTarget.Snapshots snapshots, History history,
                              ConcurrentLinkedQueue<String> unexpected, PowerDomain power, AtomicBoolean workersDone,
                              AtomicBoolean warm) {
        SplittableRandom random = new SplittableRandom(BlockStamp.mix(config.seed() * 31));
        Deque<Long> live = new ArrayDeque<>();
        ByteBuffer buffer = ByteBuffer.allocateDirect(config.maxBlocksPerOp() * history.blockSize());
        int maxIterations = 2 + config.workers() * config.opsPerWorker() / 40;
        for (int n = 0; n < maxIterations && (n == 0 || !workersDone.get()); n++) {
            if (power != null && !power.isPowered()) {
                return;
            }
            String name = "cc-" + config.seed() + "-" + n;
            long id = history.nextId();
            long start = history.tick();
            try {
                long snapshotId = snapshots.create(name);
                history.record(new Op(id, Op.Kind.SNAPSHOT_CREATE, -2, -1, 0, false, start, history.tick(), null,
                        snapshotId, name, null));
                live.addLast(snapshotId);
            } catch (Exception | AssertionError e) {
                failed(history, unexpected, power, new Op(id, Op.Kind.SNAPSHOT_CREATE, -2, -1, 0, false, start,
                        Op.UNKNOWN, null, -1, name, String.valueOf(e)));
                return;
            }
            long[] ids = live.stream().mapToLong(Long::longValue).toArray();
            long readId = ids[random.nextInt(ids.length)];
            int blocks = 1 + random.nextInt(config.maxBlocksPerOp());
            long lba = random.nextInt(config.regionBlocks() - blocks + 1);
            id = history.nextId();
            start = history.tick();
            try {
                snapshots.view(readId).read(lba, blocks, buffer, 0);
                long end = history.tick();
                history.record(new Op(id, Op.Kind.SNAPSHOT_READ, -2, lba, blocks, false, start, end,
                        decode(buffer, blocks, lba, history.blockSize()), readId, null, null));
                warm.set(true);
            } catch (Exception | AssertionError e) {
                failed(history, unexpected, power, new Op(id, Op.Kind.SNAPSHOT_READ, -2, lba, blocks, false, start,
                        Op.UNKNOWN, null, readId, null, String.valueOf(e)));
                return;
            }
            if (live.size() > 2) {
                long victim = live.removeFirst();
                id = history.nextId();
                start = history.tick();
                try {
                    snapshots.delete(victim);
                    history.record(new Op(id, Op.Kind.SNAPSHOT_DELETE, -2, -1, 0, false, start, history.tick(), null,
                            victim, null, null));
                } catch (Exception | AssertionError e) {
                    failed(history, unexpected, power, new Op(id, Op.Kind.SNAPSHOT_DELETE, -2, -1, 0, false, start,
                            Op.UNKNOWN, null, victim, null, String.valueOf(e)));
                    return;
                }
            }
        }
    }

    private static void failed(History history, ConcurrentLinkedQueue<String> unexpected, PowerDomain power, Op op) {
        history.record(op);
        if (power == null || power.isPowered()) {
            unexpected.add(op + " failed while power was on");
        }
    }

    /** Without a cut: the region and every live snapshot read once more, after every worker finished. */
    private void finalReads(ConcurrencyTarget target, History history, ConcurrencyTarget.Snapshots snapshots) {
        int blockSize = history.blockSize();
        ByteBuffer buffer = ByteBuffer.allocateDirect(config.regionBlocks() * blockSize);
        long start = history.tick();
        target.volume().read(0, config.regionBlocks(), buffer, 0);
        history.record(new Op(history.nextId(), Op.Kind.READ, -1, 0, config.regionBlocks(), false, start, history.tick(),
                decode(buffer, config.regionBlocks(), 0, blockSize), -1, null, null));
        if (snapshots != null) {
            for (long id : snapshots.list().values()) {
                start = history.tick();
                snapshots.view(id).read(0, config.regionBlocks(), buffer, 0);
                history.record(new Op(history.nextId(), Op.Kind.SNAPSHOT_READ, -1, 0, config.regionBlocks(), false, start,
                        history.tick(), decode(buffer, config.regionBlocks(), 0, blockSize), id, null, null));
            }
        }
    }

    private long[] readRegion(BlockDevice device, History history) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(config.regionBlocks() * history.blockSize());
        device.read(0, config.regionBlocks(), buffer, 0);
        return decode(buffer, config.regionBlocks(), 0, history.blockSize());
    }

    private static long[] decode(ByteBuffer buffer, int blocks, long lba, int blockSize) {
        long[] decoded = new long[blocks];
        for (int i = 0; i < blocks; i++) {
            decoded[i] = BlockStamp.decode(buffer, i * blockSize, blockSize, lba + i);
        }
        return decoded;
    }

    private static void join(Future<?> future) {
        try {
            future.get(DEADLINE_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while joining a worker", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("a worker crashed: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("a worker did not finish within " + DEADLINE_SECONDS + " s (a hang?)", e);
        }
    }

    // ------------------------------------------------------------------ reporting

    private ConcurrencyResult result(History history) {
        int reads = 0;
        int writes = 0;
        int flushes = 0;
        int failed = 0;
        int snapshotsCreated = 0;
        int snapshotReads = 0;
        int rewrites = 0;
        long lastBarrier = -1;
        List<Op> ops = history.ops();
        for (Op op : ops) {
            boolean barrier = op.kind() == Op.Kind.FLUSH || op.kind() == Op.Kind.SNAPSHOT_CREATE;
            if (barrier && op.completed()) {
                lastBarrier = Math.max(lastBarrier, op.start());
            }
        }
        int durable = 0;
        for (Op op : ops) {
            if (!op.completed()) {
                failed++;
                continue;
            }
            switch (op.kind()) {
                case READ -> reads++;
                case WRITE -> {
                    writes++;
                    rewrites += op.isRewrite() ? 1 : 0;
                    if (history.wasCut() && (op.fua() || op.end() < lastBarrier)) {
                        durable++;
                    }
                }
                case FLUSH -> flushes++;
                case SNAPSHOT_CREATE -> snapshotsCreated++;
                case SNAPSHOT_READ -> snapshotReads++;
                default -> {
                }
            }
        }
        if (history.wasCut()) {
            snapshotReads += history.snapshotContentsAfterCut().size(); // each snapshot read whole after the reboot
        }
        return new ConcurrencyResult(config.seed(), ops.size(), reads, writes, rewrites, flushes, failed,
                snapshotsCreated, snapshotReads, durable, history.cutNote());
    }

    private String failureMessage(ConcurrencyTarget target, History history, List<HistoryChecker.Violation> violations) {
        StringBuilder text = new StringBuilder();
        text.append("concurrency check failed: seed ").append(config.seed()).append(", ").append(target.describe())
                .append(", ").append(config).append('\n').append(violations.size()).append(" violation(s):\n");
        for (HistoryChecker.Violation violation : violations.subList(0, Math.min(10, violations.size()))) {
            text.append("  - ").append(violation).append('\n');
        }
        long block = violations.stream().mapToLong(HistoryChecker.Violation::block).filter(b -> b >= 0).findFirst().orElse(-1);
        if (block >= 0) {
            List<Op> around = history.opsAround(block);
            int tail = Integer.getInteger("scemu.concheck.traceTail", 30);
            text.append("operations on lba ").append(block).append(" (and flushes, snapshot events), last ")
                    .append(Math.min(tail, around.size())).append(" of ").append(around.size()).append(":\n");
            for (Op op : around.subList(Math.max(0, around.size() - tail), around.size())) {
                text.append("  ").append(op).append('\n');
            }
            if (history.volumeAfterCut() != null) {
                text.append("after the reboot lba ").append(block).append(" holds ")
                        .append(BlockStamp.describe(history.volumeAfterCut()[(int) block])).append('\n');
            }
        }
        text.append(history.cutNote()).append('\n');
        text.append("reproduce (same workload and cut point; the interleaving is the machine's, so it repeats the seed): ")
                .append(ConcurrencyFailure.reproductionCommand(config.seed(), variant));
        return text.toString();
    }
}
