package dev.scemu.testkit.concurrency;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.AbstractBlockDevice;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.Media;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The checker can fail: a correct simple device passes, and each deliberately broken one (a flush
 * that flushes nothing, FUA ignored, a read cache that misses other clients' writes, a skip of
 * "identical" rewrites decided from what this client last wrote instead of what the block holds
 * (the race a lock-free compare-and-skip can have), 4 KiB blocks
 * written as two 2 KiB halves on a disk with 512-byte atomicity, a snapshot that is a live view) is
 * reported with the rule it breaks, within a few seeds.
 */
class BrokenDeviceTest {

    private static final int BLOCK = 4096;
    private static final int BLOCKS = 128;

    enum Bug { NONE, LYING_FLUSH, IGNORED_FUA, STALE_READ_CACHE, STALE_IDENTICAL_SKIP, TORN_HALVES, LIVE_SNAPSHOT }

    @Test
    void aCorrectSimpleDevicePasses() {
        int snapshotReads = 0;
        int durableWrites = 0;
        for (long seed = 1; seed <= 4; seed++) {
            try (SimpleTarget target = new SimpleTarget(seed, Bug.NONE)) {
                ConcurrencyResult result = new ConcurrencyChecker(config(seed), "self-test").run(target);
                assertThat(result.writes()).isPositive();
                assertThat(result.reads()).isPositive();
                snapshotReads += result.snapshotReads();
                durableWrites += result.durableWrites();
            }
        }
        assertThat(snapshotReads).isPositive();
        assertThat(durableWrites).isPositive();
    }

    @Test
    void aFlushThatFlushesNothingLosesWrites() {
        assertCaught(Bug.LYING_FLUSH, "lost write");
    }

    @Test
    void anIgnoredFuaLosesWrites() {
        assertCaught(Bug.IGNORED_FUA, "lost write");
    }

    @Test
    void aReadCacheThatMissesOtherClientsWritesReadsStale() {
        assertCaught(Bug.STALE_READ_CACHE, "stale read");
    }

    @Test
    void skippingRewritesByAStaleCompareLosesThem() {
        assertCaught(Bug.STALE_IDENTICAL_SKIP, "stale read", "lost write", "read went back in time");
    }

    @Test
    void blocksWrittenInHalvesTear() {
        assertCaught(Bug.TORN_HALVES, "torn block");
    }

    @Test
    void aSnapshotThatIsALiveViewIsNotTheVolumeAtItsCreation() {
        // a view that changes between two reads of it is the same bug seen from another side
        assertCaught(Bug.LIVE_SNAPSHOT, "snapshot", "snapshot changed");
    }

    @Test
    void theFailureNamesTheSeedTheBlockHistoryAndTheReplayCommand() {
        ConcurrencyFailure failure = firstFailure(Bug.LYING_FLUSH);
        assertThat(failure.getMessage()).contains("seed " + failure.seed(), "operations on lba", "reproduce",
                "-Dscemu.concheck.seed=" + failure.seed(), "FLUSH");
    }

    private static final int MAX_SEEDS = 60;

    private static ConcurrencyConfig config(long seed) {
        return ConcurrencyConfig.forSeed(seed).withRegion(64, 6);
    }

    private static void assertCaught(Bug bug, String... rules) {
        ConcurrencyFailure failure = firstFailure(bug);
        assertThat(failure.violations().stream().map(HistoryChecker.Violation::rule).collect(Collectors.toSet()))
                .as("rules broken by %s: %s", bug, failure.getMessage()).containsAnyOf(rules);
    }

    /**
     * Runs seeds until the checker reports the bug; fails if {@link #MAX_SEEDS} seeds pass. A seed
     * fixes the workload and the cut, not the thread schedule, so whether one seed exposes a bug
     * (an ignored FUA is only seen if no flush follows the write before the cut) depends on the
     * machine's load; a loaded CI machine needed more than ten seeds once.
     */
    private static ConcurrencyFailure firstFailure(Bug bug) {
        for (long seed = 1; seed <= MAX_SEEDS; seed++) {
            try (SimpleTarget target = new SimpleTarget(seed, bug)) {
                new ConcurrencyChecker(config(seed), "self-test").run(target);
            } catch (ConcurrencyFailure failure) {
                System.out.println("CONCURRENCY CHECK caught " + bug + " at seed " + seed + ": "
                        + failure.violations().size() + " violations, first: " + failure.violations().get(0));
                return failure;
            }
        }
        throw new AssertionError("the checker passed " + MAX_SEEDS + " seeds of a device with " + bug);
    }

    /**
     * A memory device in a power domain with snapshots copied under an exclusive lock (clients hold
     * it shared), correct unless {@link Bug} says otherwise. Snapshots live outside the power domain
     * (a test double: they survive cuts).
     */
    static final class SimpleTarget implements ConcurrencyTarget {
        private final Bug bug;
        private final PowerDomain power;
        private final FaultInjectingDevice media;
        private final BlockDevice volume;
        private final ReentrantReadWriteLock quiesce = new ReentrantReadWriteLock();
        private final Map<Long, BlockDevice> snapshots = new ConcurrentHashMap<>();
        private final Map<Long, String> names = new ConcurrentHashMap<>();
        private final AtomicLong ids = new AtomicLong();

        SimpleTarget(long seed, Bug bug) {
            this.bug = bug;
            this.power = new PowerDomain(seed);
            if (bug == Bug.TORN_HALVES) {
                this.media = power.attach(Media.memory("sectors", new BlockGeometry(512, BLOCKS * 8L)));
                this.volume = new HalvesDevice(media);
            } else {
                this.media = power.attach(Media.memory("disk", new BlockGeometry(BLOCK, BLOCKS)));
                this.volume = media;
            }
        }

        @Override
        public String describe() {
            return "simple memory device, bug " + bug;
        }

        @Override
        public int blockSize() {
            return BLOCK;
        }

        @Override
        public long blockCount() {
            return BLOCKS;
        }

        @Override
        public Client client(int index) {
            Map<Long, byte[]> cache = new HashMap<>();
            return new Client() {
                @Override
                public void read(long lba, int blocks, ByteBuffer buffer) {
                    locked(() -> {
                        volume.read(lba, blocks, buffer, 0);
                        if (bug == Bug.STALE_READ_CACHE) {
                            for (int i = 0; i < blocks; i++) {
                                byte[] cached = cache.get(lba + i);
                                if (cached != null) {
                                    buffer.put(i * BLOCK, cached);
                                } else {
                                    byte[] copy = new byte[BLOCK];
                                    buffer.get(i * BLOCK, copy);
                                    cache.put(lba + i, copy);
                                }
                            }
                        }
                    });
                }

                @Override
                public void write(long lba, int blocks, ByteBuffer buffer, boolean fua) {
                    if (bug == Bug.STALE_IDENTICAL_SKIP) {
                        for (int i = 0; i < blocks; i++) { // the bug: "identical" judged by this client's memory
                            byte[] bytes = new byte[BLOCK];
                            buffer.get(i * BLOCK, bytes);
                            if (!java.util.Arrays.equals(cache.get(lba + i), bytes)) {
                                ByteBuffer one = ByteBuffer.allocateDirect(BLOCK).put(0, bytes);
                                long block = lba + i;
                                locked(() -> volume.write(block, 1, one, 0, fua));
                                cache.put(block, bytes);
                            }
                        }
                        return;
                    }
                    locked(() -> volume.write(lba, blocks, buffer, 0, fua && bug != Bug.IGNORED_FUA));
                    if (bug == Bug.STALE_READ_CACHE) {
                        for (int i = 0; i < blocks; i++) {
                            byte[] copy = new byte[BLOCK];
                            buffer.get(i * BLOCK, copy);
                            cache.put(lba + i, copy);
                        }
                    }
                }

                @Override
                public void flush() {
                    if (bug != Bug.LYING_FLUSH) {
                        locked(volume::flush);
                    }
                }

                @Override
                public void close() {
                }
            };
        }

        private void locked(Runnable io) {
            quiesce.readLock().lock();
            try {
                io.run();
            } finally {
                quiesce.readLock().unlock();
            }
        }

        @Override
        public Snapshots snapshots() {
            return new Snapshots() {
                @Override
                public long create(String name) {
                    long id = ids.incrementAndGet();
                    BlockDevice view;
                    if (bug == Bug.LIVE_SNAPSHOT) {
                        view = volume; // the bug: no copy, later writes show through
                    } else {
                        quiesce.writeLock().lock();
                        try {
                            volume.flush();
                            ByteBuffer all = ByteBuffer.allocateDirect(BLOCKS * BLOCK);
                            volume.read(0, BLOCKS, all, 0);
                            view = Media.memory("snap-" + id, new BlockGeometry(BLOCK, BLOCKS));
                            view.write(0, BLOCKS, all, 0);
                        } finally {
                            quiesce.writeLock().unlock();
                        }
                    }
                    snapshots.put(id, view);
                    names.put(id, name);
                    return id;
                }

                @Override
                public void delete(long id) {
                    BlockDevice view = snapshots.remove(id);
                    names.remove(id);
                    if (view != null && view != volume) {
                        view.close();
                    }
                }

                @Override
                public BlockDevice view(long id) {
                    return snapshots.get(id);
                }

                @Override
                public Map<String, Long> list() {
                    Map<String, Long> list = new LinkedHashMap<>();
                    names.forEach((id, name) -> list.put(name, id));
                    return list;
                }
            };
        }

        @Override
        public PowerDomain power() {
            return power;
        }

        @Override
        public void reboot(PowerCutMode mode) {
            power.cut(mode);
            power.restore();
        }

        @Override
        public BlockDevice volume() {
            return volume;
        }

        @Override
        public void close() {
            for (BlockDevice view : List.copyOf(snapshots.values())) {
                if (view != volume) {
                    view.close();
                }
            }
            volume.close();
        }
    }

    /** 4 KiB blocks written as two 2 KiB writes on a device of 512-byte sectors: a block can tear. */
    static final class HalvesDevice extends AbstractBlockDevice {
        private final BlockDevice sectors;

        HalvesDevice(BlockDevice sectors) {
            super("halves", new BlockGeometry(BLOCK, sectors.blockCount() / 8));
            this.sectors = sectors;
        }

        @Override
        protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
            sectors.read(lba * 8, blockCount * 8, buffer, bufferOffset);
        }

        @Override
        protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
            for (int i = 0; i < blockCount; i++) {
                sectors.write((lba + i) * 8, 4, buffer, bufferOffset + i * BLOCK, fua);
                sectors.write((lba + i) * 8 + 4, 4, buffer, bufferOffset + i * BLOCK + BLOCK / 2, fua);
            }
        }

        @Override
        protected void doFlush() {
            sectors.flush();
        }

        @Override
        protected void doTrim(long lba, long blockCount) {
            sectors.trim(lba * 8, blockCount * 8);
        }

        @Override
        protected void doClose() {
            sectors.close();
        }
    }
}
