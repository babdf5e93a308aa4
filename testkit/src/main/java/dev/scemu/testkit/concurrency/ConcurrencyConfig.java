package dev.scemu.testkit.concurrency;

import dev.scemu.core.PowerCutMode;

/**
 * What one concurrency run does. Everything the run chooses (operations, ranges, FUA, the cut's
 * operation and write offset, the cut mode) derives from {@link #seed}; the interleaving of the
 * workers is the machine's, so a seed replays the same workload, not the same schedule.
 *
 * @param seed the run's seed
 * @param workers threads (or NBD connections) issuing operations at once
 * @param opsPerWorker operations each worker issues (fewer if the cut stops it)
 * @param regionBlocks the checked region, blocks {@code [0, regionBlocks)}: small, so writes overlap
 * @param maxBlocksPerOp largest read or write, in blocks
 * @param snapshots whether a snapshot worker creates, reads and deletes snapshots meanwhile
 * @param cut whether power is cut at a seeded instant (then the volume is rebooted and checked for durability)
 */
public record ConcurrencyConfig(long seed, int workers, int opsPerWorker, int regionBlocks, int maxBlocksPerOp,
                                boolean snapshots, boolean cut) {

    /** Property scaling the operations per worker (100 with {@code -Psoak}, as every crash test). */
    public static final String SCALE_PROPERTY = "scemu.crash.scale";

    public ConcurrencyConfig {
        if (workers < 1 || opsPerWorker < 1 || regionBlocks < 1 || maxBlocksPerOp < 1 || maxBlocksPerOp > regionBlocks) {
            throw new IllegalArgumentException("workers " + workers + ", ops " + opsPerWorker + ", region " + regionBlocks
                    + ", max blocks " + maxBlocksPerOp);
        }
    }

    /** 4 workers, 200 operations each over 96 blocks, up to 8 blocks per operation, snapshots and a cut. */
    public static ConcurrencyConfig forSeed(long seed) {
        return new ConcurrencyConfig(seed, 4, 200, 96, 8, true, true);
    }

    public ConcurrencyConfig withWorkers(int count) {
        return new ConcurrencyConfig(seed, count, opsPerWorker, regionBlocks, maxBlocksPerOp, snapshots, cut);
    }

    public ConcurrencyConfig withOpsPerWorker(int count) {
        return new ConcurrencyConfig(seed, workers, count, regionBlocks, maxBlocksPerOp, snapshots, cut);
    }

    /** Operations per worker times {@code -Dscemu.crash.scale} (1 by default, 100 with {@code -Psoak}). */
    public ConcurrencyConfig scaled() {
        return withOpsPerWorker(opsPerWorker * Integer.getInteger(SCALE_PROPERTY, 1));
    }

    public ConcurrencyConfig withRegion(int blocks, int maxBlocks) {
        return new ConcurrencyConfig(seed, workers, opsPerWorker, blocks, maxBlocks, snapshots, cut);
    }

    public ConcurrencyConfig withSnapshots(boolean enabled) {
        return new ConcurrencyConfig(seed, workers, opsPerWorker, regionBlocks, maxBlocksPerOp, enabled, cut);
    }

    public ConcurrencyConfig withCut(boolean enabled) {
        return new ConcurrencyConfig(seed, workers, opsPerWorker, regionBlocks, maxBlocksPerOp, snapshots, enabled);
    }

    /** The cut mode of this seed: every other seed keeps a random subset of the unflushed blocks. */
    public PowerCutMode cutMode() {
        return (BlockStamp.mix(seed) & 1) == 0 ? PowerCutMode.DROP_UNFLUSHED : PowerCutMode.KEEP_RANDOM_SUBSET;
    }
}
