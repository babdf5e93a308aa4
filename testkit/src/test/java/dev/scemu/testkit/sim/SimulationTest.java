package dev.scemu.testkit.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.raid.RaidLevel;
import dev.scemu.testkit.sim.internal.BlockPattern;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Seeded whole-controller simulations: {@value #DEFAULT_SEEDS} seeds by default
 * ({@code -Dscemu.sim.seeds=N}, 100 times more with {@code -Psoak}), determinism of the trace,
 * failure reporting, and {@link #replay()} of one seed from {@code -Dscemu.sim.seed}.
 */
class SimulationTest {

    private static final int DEFAULT_SEEDS = 200;

    @Test
    void everySeededSimulationKeepsEveryInvariant() {
        int seeds = Integer.getInteger("scemu.sim.seeds", DEFAULT_SEEDS);
        long firstSeed = Long.getLong("scemu.sim.firstSeed", 1);
        Map<EventType, Long> events = new EnumMap<>(EventType.class);
        Map<EventType, Long> cutsInside = new EnumMap<>(EventType.class);
        List<SimulationFailure> failures = new ArrayList<>();
        long powerCuts = 0;
        long crashPoints = 0;
        long totalEvents = 0;
        long started = System.nanoTime();
        int ran = 0;
        String seedList = System.getProperty("scemu.sim.seedList", "").trim();
        List<Long> seedsToRun = new ArrayList<>();
        if (seedList.isEmpty()) {
            for (long seed = firstSeed; seed < firstSeed + seeds; seed++) {
                seedsToRun.add(seed);
            }
        } else { // -Dscemu.sim.seedList=110361,100711 runs exactly those seeds (the failures of a long run)
            for (String s : seedList.split("[,\\s]+")) {
                seedsToRun.add(Long.parseLong(s));
            }
            seeds = seedsToRun.size();
        }
        for (long seed : seedsToRun) {
            ran++;
            try {
                SimulationResult result = Simulation.run(seed);
                powerCuts += result.powerCuts();
                crashPoints += result.crashPoints();
                totalEvents += result.trace().events().size();
                result.trace().counts().forEach((type, n) -> events.merge(type, (long) n, Long::sum));
                result.trace().events().stream().filter(e -> Simulation.CUT_FIRED.equals(e.detail()))
                        .forEach(e -> cutsInside.merge(e.type(), 1L, Long::sum));
            } catch (SimulationFailure failure) {
                System.out.println("SIMULATION FAILURE: " + failure.getMessage().lines().findFirst().orElse(""));
                failures.add(failure);
                if (failures.size() >= Integer.getInteger("scemu.sim.maxFailures", 5)) {
                    break;
                }
            }
            if (ran % 100 == 0) { // long runs (seed ranges of thousands) show how far they got
                System.out.printf("SIMULATION PROGRESS: %d seeds from %d, %d failures (%.0f s)%n", ran, firstSeed,
                        failures.size(), (System.nanoTime() - started) / 1e9);
            }
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("SIMULATION SUMMARY: %d seeds, %d events, %d power cuts, %d crash points, %d failures (%.1f s)%n",
                ran, totalEvents, powerCuts, crashPoints, failures.size(), seconds);
        System.out.println("SIMULATION EVENTS: " + events);
        System.out.println("SIMULATION CUTS INSIDE OPERATIONS: " + cutsInside);
        // passed: the crash points of the seeds that passed; explored adds one per failed seed (its run
        // stops at its first broken invariant and reports no count of the points it passed before)
        System.out.printf("CRASH POINTS: SimulationTest explored=%d passed=%d%n", crashPoints + failures.size(), crashPoints);
        if (!failures.isEmpty()) {
            throw failures.get(0);
        }
        assertThat(powerCuts).as("power cuts over %d seeds", seeds).isGreaterThanOrEqualTo(seeds / 2);
        assertThat(crashPoints).as("crash points over %d seeds", seeds).isGreaterThanOrEqualTo(seeds / 2);
        if (seeds >= DEFAULT_SEEDS && seedList.isEmpty()) { // a chosen list need not cover every event type
            for (EventType type : EventType.values()) {
                assertThat(events.getOrDefault(type, 0L)).as("%s events over %d seeds", type, seeds).isPositive();
            }
            for (EventType type : List.of(EventType.DISK_REPLACE, EventType.SCRUB, EventType.SNAPSHOT_DELETE,
                    EventType.SNAPSHOT_ROLLBACK, EventType.BACKUP, EventType.RESTORE)) {
                assertThat(cutsInside.getOrDefault(type, 0L)).as("cuts that fired inside %s over %d seeds", type, seeds)
                        .isPositive();
            }
        }
    }

    @Test
    void raid0AndThreeWayRaid1UnitsKeepTheirInvariantsToo() {
        for (long seed = 900; seed < 904; seed++) {
            SimulationResult striped = new Simulation(SimulationConfig.forSeed(seed).withRaid(RaidLevel.RAID0, 3, 4L << 20)).run();
            assertThat(striped.trace().count(EventType.DISK_FAILURE)).as("RAID-0 has no redundancy to lose").isZero();
            SimulationResult mirrored = new Simulation(SimulationConfig.forSeed(seed).withRaid(RaidLevel.RAID1, 3, 10L << 20)).run();
            assertThat(mirrored.trace().count(EventType.HOST_WRITE)).isPositive();
        }
    }

    @Test
    void theSameSeedReplaysBitForBitAndAnotherSeedDiffers() {
        Map<EventType, Long> covered = new EnumMap<>(EventType.class);
        List<String> hashes = new ArrayList<>();
        for (long seed = 4242; seed < 4248; seed++) {
            SimulationResult first = Simulation.run(seed);
            SimulationResult second = Simulation.run(seed);
            assertThat(second.trace().events()).as("events of seed %d", seed).isEqualTo(first.trace().events());
            assertThat(second.traceHash()).as("trace hash of seed %d", seed).isEqualTo(first.traceHash());
            assertThat(second.trace().bytesHashed()).isEqualTo(first.trace().bytesHashed()).isPositive();
            first.trace().counts().forEach((type, n) -> covered.merge(type, (long) n, Long::sum));
            hashes.add(first.traceHash());
        }
        assertThat(hashes).as("different seeds give different traces").doesNotHaveDuplicates();
        assertThat(covered).as("the replayed seeds cover rebuilds, cuts and updates")
                .containsKeys(EventType.DISK_REPLACE, EventType.CRASH_POINT, EventType.POWER_CUT,
                        EventType.FIRMWARE_UPDATE, EventType.SNAPSHOT_CREATE, EventType.LATENT_SECTOR_ERROR);
    }

    @Test
    void aSeedWhoseRebuildIsCutAndResumedAtBootReplaysBitForBit() {
        for (long seed : new long[] {23, 32}) {
            SimulationResult first = Simulation.run(seed);
            assertThat(first.trace().events()).as("seed %d cuts a rebuild that the boot resumes", seed)
                    .anyMatch(e -> e.detail().contains("rebuilt after the cut (resumed at boot)"));
            assertThat(Simulation.run(seed).traceHash()).as("trace hash of seed %d", seed).isEqualTo(first.traceHash());
        }
    }

    @Test
    void aWriteBehindTheModelsBackFailsWithTheSeedAndAReproductionCommand() {
        ByteBuffer junk = ByteBuffer.allocateDirect(4096);
        int lastStep = SimulationConfig.forSeed(77).steps() - 1;
        SimulationConfig config = SimulationConfig.forSeed(77).withStepHook((step, unit) -> {
            if (step == lastStep) { // nothing overwrites it before the final check
                BlockPattern.fill(junk, 0, 4096, 999_999, 12345); // a pattern of another lba: misplaced data
                unit.host().write(7, 1, junk, 0, true);
            }
        });
        assertThatThrownBy(() -> new Simulation(config).run())
                .isInstanceOf(SimulationFailure.class)
                .hasMessageContaining("simulation seed 77 failed")
                .hasMessageContaining("lba 7")
                .hasMessageContaining("-Dscemu.sim.seed=77")
                .hasMessageContaining("./mvnw");
    }

    @Test
    void aDiskWriteNoLayerMeteredFailsTheMeterCheck() {
        ByteBuffer block = ByteBuffer.allocateDirect(4096);
        SimulationConfig config = SimulationConfig.forSeed(78).withStepHook((step, unit) -> {
            if (step == 2) {
                unit.disk(0).write(0, 1, block, 0); // the unused 4 KiB before the md superblock
            }
        });
        assertThatThrownBy(() -> new Simulation(config).run())
                .isInstanceOf(SimulationFailure.class)
                .hasMessageContaining("simulation seed 78 failed at step 3")
                .hasMessageContaining("meters do not add up: member disks received 4096 bytes more than the array issued");
    }

    /**
     * Seed 7000487 injected a latent sector error on member 2 at member lba 217 while the one on
     * member 0 at lba 217 (the same RAID-5 stripe) was unrepaired: a double fault no RAID-5
     * survives, and the next patrol failed with ARRAY_FAILED. A second unreadable block in a stripe
     * now waits for a patrol read to repair the first. With the default mix such a pair is rare
     * (no seed of 7000000-7002999 has one since the member layout changed), so this runs a mix of
     * host I/O and latent sector errors only, on small members, where errors pile up unrepaired:
     * the first seed whose trace puts two errors at the same lba of two members must complete,
     * which it can only if the first was repaired before the second was injected.
     */
    @Test
    void aSecondLatentSectorErrorInOneStripeIsInjectedOnlyAfterTheFirstIsRepaired() {
        Set<EventType> mix = EnumSet.of(EventType.HOST_WRITE, EventType.HOST_READ, EventType.LATENT_SECTOR_ERROR);
        for (long seed = 1; seed <= 40; seed++) {
            SimulationResult result = new Simulation(SimulationConfig.forSeed(seed)
                    .withRaid(RaidLevel.RAID5, 3, 8L << 20).withSteps(2000).withEvents(mix)).run();
            Map<String, String> memberByLba = new HashMap<>();
            for (TraceEvent event : result.trace().events()) {
                if (event.type() != EventType.LATENT_SECTOR_ERROR) {
                    continue;
                }
                String[] words = event.detail().split(" "); // member M lba L (row R)
                String earlier = memberByLba.put(words[3], words[1]);
                if (earlier != null && !earlier.equals(words[1])) {
                    System.out.println("seed " + seed + ": latent sector errors at member lba " + words[3]
                            + " of members " + earlier + " and " + words[1] + ", the run completed");
                    return;
                }
            }
        }
        throw new AssertionError("no seed of 1..40 injected two latent sector errors into one stripe: the test no longer"
                + " reaches the case; raise the error rate or the seed range");
    }

    /**
     * Seeds of the 20,000-seed run whose power cut inside a rebuild stopped the next assembly:
     * 110361 (RAID-1, the replacement had no superblock yet: NO_SUPERBLOCK), 103241 (RAID-5, the
     * others listed a replacement that had none: DIRTY_DEGRADED) and 114546 (RAID-5, its superblock
     * survived without its bitmap). Each now boots, degraded or resuming the rebuild. Since COW
     * batches grew to 1,024 copies and bitmap bits clear after daemon_sleep, seed 103241 writes a
     * different sequence and its cut no longer lands in the rebuild; 103243 (RAID-5) did, until a
     * batch commit announced its writes (one bitmap page write for a batch: the write numbers
     * moved again); 103256 (RAID-5) does now.
     */
    @Test
    void aCutBeforeTheReplacementIsDurableStillBoots() {
        for (long seed : List.of(110361L, 103256L, 114546L)) {
            SimulationResult result = Simulation.run(seed);
            assertThat(result.trace().events()).as("seed %d", seed)
                    .anyMatch(e -> e.type() == EventType.DISK_REPLACE && Simulation.CUT_FIRED.equals(e.detail()));
        }
    }

    /** {@code -Dscemu.sim.seed=N} replays seed N and prints its trace; skipped without the property. */
    @Test
    void replay() {
        String seed = System.getProperty("scemu.sim.seed");
        Assumptions.assumeTrue(seed != null && !seed.isBlank(), "set -Dscemu.sim.seed=<seed> to replay a simulation");
        SimulationResult result = Simulation.run(Long.parseLong(seed.trim()));
        result.trace().events().forEach(System.out::println);
        System.out.printf("replayed seed %s: %d events, %d power cuts, %d crash points, trace hash %s%n", seed,
                result.trace().events().size(), result.powerCuts(), result.crashPoints(), result.traceHash());
    }
}
