package dev.scemu.core;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;

/**
 * Cuts power at every write of a deterministic scenario and checks recovery each time.
 *
 * <p>A scenario builds a fresh <em>world</em> (devices attached to the given {@link PowerDomain},
 * the objects under test) and runs a workload on it. The explorer first runs it once without a
 * cut to count its writes ({@link PowerDomain#writeCount()}), then, for each write index {@code k}
 * (all of them, or an evenly spread seeded sample including the first and last when there are
 * more than {@code maxPoints}) and each {@link PowerCutMode}, builds a fresh world, arms a cut at
 * write {@code k}, runs the workload until power fails, restores power and calls the check, which
 * reopens/recovers and asserts the invariants. A failure names the seed, index and mode, so it
 * replays exactly.
 *
 * @param <W> the world: whatever the scenario and the check share (closed after each point)
 */
public final class CrashPointExplorer<W extends AutoCloseable> {

    /** Builds a fresh world whose devices are attached to {@code domain}. */
    @FunctionalInterface
    public interface WorldFactory<W> {
        W create(PowerDomain domain) throws Exception;
    }

    /** Runs the workload; it is interrupted by a {@link CoreError#POWER_LOST} exception (possibly wrapped). */
    @FunctionalInterface
    public interface Workload<W> {
        void run(W world) throws Exception;
    }

    /** After power is restored: recovers and asserts. {@code crash} says where power failed. */
    @FunctionalInterface
    public interface Check<W> {
        void recoverAndCheck(W world, CrashPoint crash) throws Exception;
    }

    /** Where power failed in one explored run. */
    public record CrashPoint(long seed, long writeIndex, long totalWrites, PowerCutMode mode) {
        @Override
        public String toString() {
            return "crash point write#" + writeIndex + "/" + totalWrites + " " + mode + " seed " + seed;
        }
    }

    /**
     * How many crash points were explored, out of how many writes: {@code runs} counts the runs
     * started, {@code cutsFired} those whose armed cut fired, {@code passed} those whose recovery
     * check returned, each counted where it happens (not copied from another count).
     */
    public record Report(long totalWrites, int pointsExplored, int runs, int cutsFired, int passed) {
        /** {@code explored=R passed=P}: the tail of a {@code CRASH POINTS:} line. */
        public String counts() {
            return "explored=" + runs + " passed=" + passed;
        }
    }

    private final WorldFactory<W> factory;
    private final Workload<W> workload;
    private final Check<W> check;
    private long seed = 1;
    private int maxPoints = Integer.MAX_VALUE;
    private List<PowerCutMode> modes = List.of(PowerCutMode.DROP_UNFLUSHED, PowerCutMode.KEEP_RANDOM_SUBSET);

    public CrashPointExplorer(WorldFactory<W> factory, Workload<W> workload, Check<W> check) {
        this.factory = factory;
        this.workload = workload;
        this.check = check;
    }

    public CrashPointExplorer<W> seed(long seed) {
        this.seed = seed;
        return this;
    }

    /** Explore at most this many write indices (a seeded, evenly spread sample). */
    public CrashPointExplorer<W> maxPoints(int maxPoints) {
        this.maxPoints = maxPoints;
        return this;
    }

    public CrashPointExplorer<W> modes(PowerCutMode... modes) {
        this.modes = List.of(modes);
        return this;
    }

    /** Runs the exploration; throws the first failing check's error, annotated with its crash point. */
    public Report explore() throws Exception {
        long totalWrites;
        PowerDomain dryDomain = new PowerDomain(seed);
        try (W world = factory.create(dryDomain)) {
            long setupWrites = dryDomain.writeCount();
            workload.run(world);
            totalWrites = dryDomain.writeCount() - setupWrites;
        }
        List<Long> indices = pick(totalWrites);
        int runs = 0;
        int cutsFired = 0;
        int passed = 0;
        for (long index : indices) {
            for (PowerCutMode mode : modes) {
                runs++;
                CrashPoint crash = new CrashPoint(seed, index, totalWrites, mode);
                PowerDomain domain = new PowerDomain(seed * 31 + index);
                try (W world = factory.create(domain)) {
                    domain.armCutAtWrite(domain.writeCount() + index, mode);
                    try {
                        workload.run(world);
                    } catch (Exception | AssertionError e) {
                        if (domain.isPowered()) {
                            throw new AssertionError("workload failed before the power cut at " + crash, e);
                        }
                    }
                    if (domain.isPowered()) {
                        throw new AssertionError("workload did not reach " + crash
                                + ": the scenario is not deterministic");
                    }
                    cutsFired++;
                    domain.restore();
                    try {
                        check.recoverAndCheck(world, crash);
                    } catch (Exception | AssertionError e) {
                        throw new AssertionError("recovery check failed at " + crash + ": " + e.getMessage(), e);
                    }
                    passed++;
                }
            }
        }
        return new Report(totalWrites, indices.size(), runs, cutsFired, passed);
    }

    private List<Long> pick(long totalWrites) {
        if (totalWrites <= maxPoints) {
            List<Long> all = new ArrayList<>();
            for (long i = 0; i < totalWrites; i++) {
                all.add(i);
            }
            return all;
        }
        TreeSet<Long> chosen = new TreeSet<>();
        chosen.add(0L);
        chosen.add(totalWrites - 1);
        Random random = new Random(seed);
        double stride = (double) totalWrites / maxPoints;
        for (int i = 0; chosen.size() < maxPoints && i < maxPoints; i++) {
            long base = (long) (i * stride);
            chosen.add(Math.min(totalWrites - 1, base + (long) (random.nextDouble() * stride)));
        }
        return new ArrayList<>(chosen);
    }
}
