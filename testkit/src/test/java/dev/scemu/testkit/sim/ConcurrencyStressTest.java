package dev.scemu.testkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.flash.FlashGeometry;
import dev.scemu.flash.UpdateReport;
import dev.scemu.raid.MemberState;
import dev.scemu.raid.RaidLevel;
import dev.scemu.raid.ScrubResult;
import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.testkit.sim.internal.BlockPattern;
import dev.scemu.testkit.sim.internal.FirmwareImages;
import dev.scemu.unit.StorageControlUnit;
import dev.scemu.unit.UnitConfig;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Not deterministic by nature: host threads write and read their own regions and one region they
 * all share while, on another thread, a member fails and is rebuilt, the array is scrubbed,
 * snapshots are taken and the firmware is updated. Bounded by iterations, no sleeps. At the end
 * every own block holds the last value its thread wrote, every shared block one of the values
 * written to it, every snapshot block a value written to that block (or zeros), parity is
 * consistent, and after a barrier the shared region reads exactly its final values.
 */
class ConcurrencyStressTest {

    private static final int BLOCK = 4096;
    private static final int HOST_THREADS = 3;
    private static final int OWN_BLOCKS = 96;
    private static final int SHARED_LBA = HOST_THREADS * OWN_BLOCKS;
    private static final int SHARED_BLOCKS = 32;
    /** Operations per host thread at least (and at most): times {@code -Dscemu.crash.scale} (100 with -Psoak). */
    private static final int MIN_OPS = 300 * Integer.getInteger("scemu.crash.scale", 1);
    private static final int MAX_OPS = 20_000 * Integer.getInteger("scemu.crash.scale", 1);

    /** Every token written to each block, by any thread (own regions and the shared one). */
    private final Map<Integer, Set<Long>> written = new ConcurrentHashMap<>();
    /** Counted down by each host thread after its first operations: the admin sequence starts under load. */
    private final CountDownLatch hostsRunning = new CountDownLatch(HOST_THREADS);
    private final AtomicBoolean adminRunning = new AtomicBoolean();
    private final AtomicLong opsDuringAdmin = new AtomicLong();

    @Test
    void hostThreadsKeepTheirDataWhileARebuildScrubSnapshotsAndAFirmwareUpdateRun() throws Exception {
        UnitConfig config = UnitConfig.builder().level(RaidLevel.RAID5).disks(4, 8L << 20).chunkBytes(16 << 10)
                .firmwareBackupBytes(1L << 20).snapshotStoreBytes(8L << 20).flash(new FlashGeometry(4096, 16, 16))
                .seed(9).build();
        ExecutorService pool = Executors.newFixedThreadPool(HOST_THREADS + 1);
        try (StorageControlUnit unit = StorageControlUnit.create(config, FirmwareImages.image(FirmwareImages.version(0)),
                FirmwareImages.signingKey().getPublic())) {
            AtomicBoolean adminDone = new AtomicBoolean();
            List<Future<long[]>> hosts = new ArrayList<>();
            for (int t = 0; t < HOST_THREADS; t++) {
                int thread = t;
                hosts.add(pool.submit(() -> hostLoop(unit.host(), thread, adminDone)));
            }
            Future<List<Long>> admin = pool.submit(() -> {
                try {
                    hostsRunning.await();
                    adminRunning.set(true);
                    return adminSequence(unit);
                } finally {
                    adminRunning.set(false);
                    adminDone.set(true);
                }
            });
            List<Long> snapshotIds = admin.get(180, TimeUnit.SECONDS);
            List<long[]> lastOwn = new ArrayList<>();
            long ops = 0;
            for (Future<long[]> host : hosts) {
                long[] last = host.get(180, TimeUnit.SECONDS);
                lastOwn.add(last);
                ops += last[OWN_BLOCKS];
            }

            // barrier passed: no writer runs any more
            unit.host().flush();
            BlockDevice host = unit.host();
            ByteBuffer block = ByteBuffer.allocateDirect(BLOCK);
            for (int t = 0; t < HOST_THREADS; t++) {
                for (int i = 0; i < OWN_BLOCKS; i++) {
                    int lba = t * OWN_BLOCKS + i;
                    host.read(lba, 1, block, 0);
                    assertThat(BlockPattern.tokenOf(block, 0, BLOCK, lba)).as("own block %d of thread %d", lba, t)
                            .isEqualTo(lastOwn.get(t)[i]);
                }
            }
            for (int lba = SHARED_LBA; lba < SHARED_LBA + SHARED_BLOCKS; lba++) {
                host.read(lba, 1, block, 0);
                long token = BlockPattern.tokenOf(block, 0, BLOCK, lba);
                assertThat(token == 0 || written.getOrDefault(lba, Set.of()).contains(token))
                        .as("shared block %d holds one of the values written to it (token %x)", lba, token).isTrue();
            }
            for (long id : snapshotIds) {
                BlockDevice view = unit.snapshots().snapshot(id);
                for (int lba = 0; lba < SHARED_LBA + SHARED_BLOCKS; lba++) {
                    view.read(lba, 1, block, 0);
                    long token = BlockPattern.tokenOf(block, 0, BLOCK, lba);
                    assertThat(token == 0 || written.getOrDefault(lba, Set.of()).contains(token))
                            .as("block %d of snapshot %d holds a value written to it (token %x)", lba, id, token).isTrue();
                }
            }
            // final values of the shared region, written after the barrier, read back exactly
            ByteBuffer region = ByteBuffer.allocateDirect(SHARED_BLOCKS * BLOCK);
            for (int i = 0; i < SHARED_BLOCKS; i++) {
                BlockPattern.fill(region, i * BLOCK, BLOCK, SHARED_LBA + i, 0xF1A1_0000L + i);
            }
            host.write(SHARED_LBA, SHARED_BLOCKS, region, 0);
            host.flush();
            host.read(SHARED_LBA, SHARED_BLOCKS, region, 0);
            for (int i = 0; i < SHARED_BLOCKS; i++) {
                assertThat(BlockPattern.tokenOf(region, i * BLOCK, BLOCK, SHARED_LBA + i)).isEqualTo(0xF1A1_0000L + i);
            }
            assertThat(unit.array().isDegraded()).isFalse();
            assertThat(unit.array().scrub(false).mismatchedStripes()).isZero();
            assertThat(unit.firmware().running().version().toString()).startsWith("1.0.1");
            System.out.printf("concurrency stress: %d host threads, %d host operations (%d while the rebuild, scrubs,"
                    + " snapshots and firmware update ran), %d snapshots%n", HOST_THREADS, ops, opsDuringAdmin.get(),
                    snapshotIds.size());
            assertThat(ops).isGreaterThanOrEqualTo((long) HOST_THREADS * MIN_OPS);
            assertThat(opsDuringAdmin.get()).as("host operations overlapping the admin sequence").isPositive();
        } finally {
            pool.shutdownNow();
        }
    }

    /** One host thread; returns the last token of each own block, then the operation count. */
    private long[] hostLoop(BlockDevice host, int thread, AtomicBoolean adminDone) {
        SplittableRandom random = new SplittableRandom(1000 + thread);
        long[] last = new long[OWN_BLOCKS + 1];
        ByteBuffer buffer = ByteBuffer.allocateDirect(8 * BLOCK);
        int ops = 0;
        while (ops < MAX_OPS && (ops < MIN_OPS || !adminDone.get())) {
            ops++;
            if (ops == 20) {
                hostsRunning.countDown();
            }
            if (adminRunning.get()) {
                opsDuringAdmin.incrementAndGet();
            }
            int pick = random.nextInt(10);
            boolean shared = random.nextInt(4) == 0;
            int blocks = 1 + random.nextInt(shared ? 4 : 8);
            int first = shared ? SHARED_LBA + random.nextInt(SHARED_BLOCKS - blocks + 1)
                    : thread * OWN_BLOCKS + random.nextInt(OWN_BLOCKS - blocks + 1);
            if (pick < 6) {
                for (int i = 0; i < blocks; i++) {
                    long token = BlockPattern.token(random.nextLong());
                    BlockPattern.fill(buffer, i * BLOCK, BLOCK, first + i, token);
                    written.computeIfAbsent(first + i, k -> ConcurrentHashMap.newKeySet()).add(token);
                    if (!shared) {
                        last[first + i - thread * OWN_BLOCKS] = token;
                    }
                }
                host.write(first, blocks, buffer, 0, random.nextInt(8) == 0);
            } else if (pick < 9) {
                host.read(first, blocks, buffer, 0);
                for (int i = 0; i < blocks; i++) {
                    long token = BlockPattern.tokenOf(buffer, i * BLOCK, BLOCK, first + i);
                    if (shared) {
                        assertThat(token == 0 || written.get(first + i).contains(token))
                                .as("shared block %d read %x", first + i, token).isTrue();
                    } else {
                        assertThat(token).as("own block %d of thread %d", first + i, thread)
                                .isEqualTo(last[first + i - thread * OWN_BLOCKS]);
                    }
                }
            } else {
                host.flush();
            }
        }
        last[OWN_BLOCKS] = ops;
        return last;
    }

    /** Disk failure + rebuild, scrubs, snapshots and a firmware update, while the hosts write. */
    private static List<Long> adminSequence(StorageControlUnit unit) {
        List<Long> snapshots = new ArrayList<>();
        snapshots.add(unit.snapshots().createSnapshot("before-failure").id());
        unit.disk(1).failDevice();
        if (unit.array().memberState(1) != MemberState.FAILED) {
            unit.array().failMember(1);
        }
        unit.replaceDisk(1, null).join();
        assertThat(unit.array().isDegraded()).as("degraded after the rebuild").isFalse();
        ScrubResult afterRebuild = unit.array().scrub(false);
        assertThat(afterRebuild.mismatchedStripes()).as("scrub under I/O after the rebuild: %s", afterRebuild).isZero();
        SnapshotInfo middle = unit.snapshots().createSnapshot("after-rebuild");
        snapshots.add(middle.id());
        unit.firmware().stage(FirmwareImages.image(FirmwareImages.version(1)));
        UpdateReport update = unit.firmware().update();
        assertThat(update.outcome()).as("firmware update under I/O: %s", update).isEqualTo(UpdateReport.Outcome.UPDATED);
        snapshots.add(unit.snapshots().createSnapshot("after-update").id());
        assertThat(unit.array().scrub(false).mismatchedStripes()).as("scrub under I/O at the end").isZero();
        return snapshots;
    }
}
