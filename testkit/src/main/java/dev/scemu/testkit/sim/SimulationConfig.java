package dev.scemu.testkit.sim;

import dev.scemu.raid.RaidLevel;
import dev.scemu.unit.StorageControlUnit;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * What one simulation run is made of. Everything random derives from {@link #seed}; the rest
 * sizes the controller and the scenario. Build with {@link #forSeed(long)} (defaults, RAID level
 * chosen by the seed) and adjust with the {@code with*} methods.
 *
 * @param seed          the only source of randomness of the run
 * @param steps         simulation steps (each one host I/O or one event)
 * @param level         RAID level of the unit
 * @param diskCount     member disks
 * @param diskBytes     capacity of each member disk
 * @param chunkBytes    RAID chunk size
 * @param workingBlocks host blocks the workload touches (from lba 0), all checked against the model
 * @param maxIoBlocks   largest host read or write, in blocks
 * @param maxSnapshots  snapshots alive at once (the oldest is deleted beyond)
 * @param events        event types the scenario may pick (host I/O is always on)
 * @param stepHook      called after every step (vendor checks or extra actions); may be null
 */
public record SimulationConfig(long seed, int steps, RaidLevel level, int diskCount, long diskBytes, int chunkBytes,
                               int workingBlocks, int maxIoBlocks, int maxSnapshots, Set<EventType> events,
                               StepHook stepHook) {

    /** Called after each step with the step index and the unit. */
    @FunctionalInterface
    public interface StepHook {
        void afterStep(int step, StorageControlUnit unit);
    }

    public SimulationConfig {
        Objects.requireNonNull(level, "level");
        events = Set.copyOf(events);
        if (steps < 0 || workingBlocks < 1 || maxIoBlocks < 1 || maxSnapshots < 1) {
            throw new IllegalArgumentException("steps, workingBlocks, maxIoBlocks and maxSnapshots must be positive");
        }
    }

    /**
     * Defaults for {@code seed}: 50 steps, RAID-5 of 4 x 4 MiB (about 3 seeds in 10 get RAID-1 of
     * 2 x 10 MiB instead), 16 KiB chunks, 256 working blocks of 4 KiB, I/O up to 24 blocks (more
     * than a RAID-5 stripe of 12), up to 3 snapshots, every event type.
     */
    public static SimulationConfig forSeed(long seed) {
        boolean mirror = Math.floorMod(dev.scemu.testkit.sim.internal.BlockPattern.mix(seed ^ 0x5EED), 10) >= 7;
        return new SimulationConfig(seed, 50, mirror ? RaidLevel.RAID1 : RaidLevel.RAID5, mirror ? 2 : 4,
                mirror ? 10L << 20 : 4L << 20, 16 << 10, 256, 24, 3, EnumSet.allOf(EventType.class), null);
    }

    public SimulationConfig withSteps(int value) {
        return new SimulationConfig(seed, value, level, diskCount, diskBytes, chunkBytes, workingBlocks, maxIoBlocks,
                maxSnapshots, events, stepHook);
    }

    /**
     * Another array: {@code disks} members of {@code bytesEach}. The unit keeps 1 MiB for the
     * firmware backup and 5 MiB for the snapshot store (plus 1 MiB alignment) before the data
     * partition, which must hold the working blocks.
     */
    public SimulationConfig withRaid(RaidLevel value, int disks, long bytesEach) {
        return new SimulationConfig(seed, steps, value, disks, bytesEach, chunkBytes, workingBlocks, maxIoBlocks,
                maxSnapshots, events, stepHook);
    }

    public SimulationConfig withEvents(Set<EventType> value) {
        return new SimulationConfig(seed, steps, level, diskCount, diskBytes, chunkBytes, workingBlocks, maxIoBlocks,
                maxSnapshots, value, stepHook);
    }

    public SimulationConfig withStepHook(StepHook value) {
        return new SimulationConfig(seed, steps, level, diskCount, diskBytes, chunkBytes, workingBlocks, maxIoBlocks,
                maxSnapshots, events, value);
    }

    public SimulationConfig withWorkingBlocks(int value) {
        return new SimulationConfig(seed, steps, level, diskCount, diskBytes, chunkBytes, value, maxIoBlocks,
                maxSnapshots, events, stepHook);
    }
}
