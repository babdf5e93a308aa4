package dev.scemu.snapshot.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import dev.scemu.core.ForwardingBlockDevice;
import dev.scemu.core.IoCause;
import dev.scemu.core.Media;
import dev.scemu.snapshot.SnapshotConfig;
import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.snapshot.SnapshotVolume;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The copies of a COW batch are written by the committer at commit, from the slots' old data,
 * as few large writes as the pool blocks allow (#20), not one 4 KiB write per first write in the
 * run. The pool region is filled with garbage before the writes, so a view that read a pool
 * block whose copy is not written yet would return garbage, and a copy never written would too.
 */
class CowCopiesAtCommitTest {

    private static final int BLOCK_SIZE = 4096;
    private static final int BLOCKS = 2048;
    private static final int STORE_BLOCKS = 4096;
    private static final byte GARBAGE = 0x5A;

    private BlockDevice dataMedium;
    private BlockDevice storeMedium;
    private CountingStore store;
    private StoreLayout layout;
    private byte[] initial;

    /** Counts writes into the copy pool, by size. */
    private static final class CountingStore extends ForwardingBlockDevice {
        private volatile Extent pool = new Extent(0, 0);
        final List<Integer> poolWrites = java.util.Collections.synchronizedList(new ArrayList<>());
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        private volatile boolean gateFlush;
        private volatile Extent log = new Extent(0, 0);
        private volatile boolean lastWriteInLog;
        final java.util.concurrent.atomic.AtomicInteger checkpointHeaderWrites = new java.util.concurrent.atomic.AtomicInteger();
        private volatile long[] checkpointHeaders = {-1, -1};

        /**
         * Holds the next journal sync (a flush right after a write into {@code log}) until
         * {@link #release}, after counting down {@link #entered}; counts writes of the layout's
         * checkpoint header pages.
         */
        void gateNextJournalSync(StoreLayout layout) {
            log = layout.log();
            checkpointHeaders = new long[] {layout.checkpointLba(0), layout.checkpointLba(1)};
            gateFlush = true;
        }

        CountingStore(BlockDevice inner) {
            super("counting-store", inner, false); // the test closes inner
        }

        @Override
        protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
            if (pool.overlaps(lba, blockCount)) {
                poolWrites.add(blockCount);
            }
            lastWriteInLog = log.overlaps(lba, blockCount);
            if (blockCount == 1 && (lba == checkpointHeaders[0] || lba == checkpointHeaders[1])) {
                checkpointHeaderWrites.incrementAndGet();
            }
            super.doWrite(lba, blockCount, buffer, bufferOffset, fua);
        }

        @Override
        protected void doFlush() {
            if (gateFlush && lastWriteInLog) {
                gateFlush = false;
                entered.countDown();
                try {
                    if (!release.await(60, TimeUnit.SECONDS)) {
                        throw new IllegalStateException("held flush never released");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException(e);
                }
            }
            super.doFlush();
        }
    }

    @BeforeEach
    void setUp() {
        dataMedium = Media.memory("data", new BlockGeometry(BLOCK_SIZE, BLOCKS));
        storeMedium = Media.memory("store", new BlockGeometry(BLOCK_SIZE, STORE_BLOCKS));
        store = new CountingStore(storeMedium);
        layout = StoreLayout.compute(BLOCK_SIZE, BLOCKS, STORE_BLOCKS, SnapshotConfig.defaults(), 0, 0, 0);
        initial = new byte[BLOCKS * BLOCK_SIZE];
        new Random(20).nextBytes(initial);
    }

    @AfterEach
    void tearDown() {
        dataMedium.close();
        storeMedium.close();
    }

    /** Formats, writes {@link #initial} (flushed), fills the pool with garbage, starts counting pool writes. */
    private SnapshotVolume formatted() {
        SnapshotVolume volume = SnapshotVolume.format(dataMedium, store, SnapshotConfig.defaults());
        write(volume, 0, initial, false);
        volume.flush();
        byte[] garbage = new byte[(int) Math.min(layout.pool().blockCount(), 512) * BLOCK_SIZE];
        Arrays.fill(garbage, GARBAGE);
        for (long at = 0; at < layout.pool().blockCount(); at += garbage.length / BLOCK_SIZE) {
            int blocks = (int) Math.min(garbage.length / BLOCK_SIZE, layout.pool().blockCount() - at);
            write(storeMedium, layout.pool().lba() + at, Arrays.copyOf(garbage, blocks * BLOCK_SIZE), false);
        }
        store.pool = layout.pool();
        return volume;
    }

    private static byte[] block(byte[] bytes, long lba) {
        return Arrays.copyOfRange(bytes, (int) lba * BLOCK_SIZE, (int) (lba + 1) * BLOCK_SIZE);
    }

    @Test
    void aViewReadsTheSnapshotWhileCopiesWaitInTheBatchAndAfterTheirCommit() {
        try (SnapshotVolume volume = formatted()) {
            SnapshotInfo snapshot = volume.createSnapshot("s");
            byte[] expectedLive = initial.clone();
            Random random = new Random(7);
            int writes = 300;
            for (int i = 0; i < writes; i++) {
                long lba = 5L * i + 1; // scattered first writes, no two in one run
                byte[] fresh = new byte[BLOCK_SIZE];
                random.nextBytes(fresh);
                write(volume, lba, fresh, false);
                System.arraycopy(fresh, 0, expectedLive, (int) lba * BLOCK_SIZE, BLOCK_SIZE);
            }
            assertThat(store.poolWrites).as("no copy is written before the batch commits").isEmpty();
            assertThat(volume.meter().snapshot().issuedWrite(IoCause.COW_COPY).operations()).isZero();
            assertThat(read(volume.snapshot(snapshot.id()), 0, BLOCKS))
                    .as("the snapshot, whose copies still wait in the batch (the pool holds garbage)").isEqualTo(initial);
            assertThat(read(volume, 0, BLOCKS)).isEqualTo(expectedLive);

            volume.flush();
            assertThat(store.poolWrites).as("%d copies of consecutive pool blocks: one write", writes)
                    .containsExactly(writes);
            assertThat(volume.meter().snapshot().issuedWrite(IoCause.COW_COPY).bytes()).isEqualTo((long) writes * BLOCK_SIZE);
            assertThat(read(volume.snapshot(snapshot.id()), 0, BLOCKS)).as("the snapshot after the commit").isEqualTo(initial);
            assertThat(read(volume, 0, BLOCKS)).isEqualTo(expectedLive);
            assertThat(read(dataMedium, 0, BLOCKS)).as("the new blocks reached the data device").isEqualTo(expectedLive);
        }
        try (SnapshotVolume reopened = SnapshotVolume.open(dataMedium, store)) {
            long id = reopened.listSnapshots().get(0).id();
            assertThat(read(reopened.snapshot(id), 0, BLOCKS)).as("the copies are durable").isEqualTo(initial);
        }
    }

    /**
     * Old blocks that were all zeros need no copy (zero-block entries) and leave gaps between the
     * slots of a batch whose pool blocks still follow each other: those copies are gathered into
     * 64-block staging writes, never written one by one.
     */
    @Test
    void copiesAroundZeroBlockEntriesAreGatheredIntoLargeWrites() {
        for (int lba = 0; lba < BLOCKS; lba += 3) {
            Arrays.fill(initial, lba * BLOCK_SIZE, (lba + 1) * BLOCK_SIZE, (byte) 0);
        }
        try (SnapshotVolume volume = formatted()) {
            SnapshotInfo snapshot = volume.createSnapshot("s");
            int writes = 300;
            int copies = 0;
            for (int i = 0; i < writes; i++) {
                long lba = 2L * i + 1;
                if (lba % 3 != 0) {
                    copies++;
                }
                write(volume, lba, filledBlock(i), false);
            }
            assertThat(read(volume.snapshot(snapshot.id()), 0, BLOCKS)).isEqualTo(initial);
            volume.flush();
            int expectedWrites = (copies + WritePath.COPY_STAGING_BLOCKS - 1) / WritePath.COPY_STAGING_BLOCKS;
            assertThat(store.poolWrites).as("%d copies around %d zero-block entries", copies, writes - copies)
                    .hasSize(expectedWrites)
                    .allSatisfy(blocks -> assertThat(blocks).isGreaterThan(1));
            assertThat(store.poolWrites.stream().mapToInt(Integer::intValue).sum()).isEqualTo(copies);
            assertThat(read(volume.snapshot(snapshot.id()), 0, BLOCKS)).isEqualTo(initial);
            assertThat(volume.storeUsage().usedStoreBlocks()).isEqualTo(copies);
        }
    }

    /**
     * A checkpoint covers the entries of the filling batch too; it writes their copies before its
     * pages, or the pages would reference pool blocks that still hold garbage (and the batch is
     * cleared after the checkpoint, so views read those pool blocks). With 512-byte blocks, a
     * 16-block log and 64-entry batches (5 records per commit) the second commit passes half the
     * ring and checkpoints. That commit is held in its journal sync while another writer adds
     * first writes to the filling batch; then the commit goes on and checkpoints.
     */
    @Test
    void aCheckpointWritesTheCopiesOfTheFillingBatch() throws Exception {
        int bs = 512;
        int blocks = 512;
        BlockDevice smallData = Media.memory("data512", new BlockGeometry(bs, blocks));
        BlockDevice smallStore = Media.memory("store512", new BlockGeometry(bs, 4096));
        CountingStore gated = new CountingStore(smallStore);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            SnapshotConfig config = SnapshotConfig.defaults().withLogBlocks(16).withCowBatchBlocks(64);
            StoreLayout small = StoreLayout.compute(bs, blocks, 4096, config, 0, 0, 0);
            SnapshotVolume volume = SnapshotVolume.format(smallData, gated, config);
            byte[] before = new byte[blocks * bs];
            new Random(5).nextBytes(before);
            write(volume, 0, before, false);
            volume.flush();
            byte[] garbage = new byte[(int) small.pool().blockCount() * bs];
            Arrays.fill(garbage, GARBAGE);
            write(smallStore, small.pool().lba(), garbage, false);
            SnapshotInfo snapshot = volume.createSnapshot("s");
            byte[] live = before.clone();
            for (int i = 0; i < 64; i++) { // a first commit: the log is below half full after it
                long lba = 256 + i;
                byte[] fresh = filledBlock(200 + i, bs);
                write(volume, lba, fresh, false);
                System.arraycopy(fresh, 0, live, (int) lba * bs, bs);
            }
            volume.flush();
            for (int i = 0; i < 64; i++) { // fills the batch; nothing commits yet
                long lba = 2L * i;
                byte[] fresh = filledBlock(i, bs);
                write(volume, lba, fresh, false);
                System.arraycopy(fresh, 0, live, (int) lba * bs, bs);
            }
            gated.gateNextJournalSync(small);
            Future<?> commit = pool.submit(() -> {
                volume.flush();
                return null;
            });
            assertThat(gated.entered.await(30, TimeUnit.SECONDS)).as("the commit reached its journal sync").isTrue();
            for (int i = 0; i < 10; i++) { // into the filling batch while the other one commits
                long lba = 2L * i + 1;
                byte[] fresh = filledBlock(100 + i, bs);
                write(volume, lba, fresh, false);
                System.arraycopy(fresh, 0, live, (int) lba * bs, bs);
            }
            assertThat(read(volume.snapshot(snapshot.id()), 0, blocks)).as("while the commit is held").isEqualTo(before);
            gated.release.countDown();
            commit.get(30, TimeUnit.SECONDS);
            assertThat(gated.checkpointHeaderWrites.get()).as("the held commit checkpointed").isEqualTo(1);
            assertThat(read(volume.snapshot(snapshot.id()), 0, blocks))
                    .as("after the commit's checkpoint, which cleared the filling batch").isEqualTo(before);
            assertThat(read(volume, 0, blocks)).isEqualTo(live);
            assertThat(read(smallData, 0, blocks)).as("the checkpoint wrote both batches' data").isEqualTo(live);
            volume.close();
            try (SnapshotVolume reopened = SnapshotVolume.open(smallData, gated)) {
                assertThat(read(reopened.snapshot(snapshot.id()), 0, blocks)).isEqualTo(before);
                assertThat(read(reopened, 0, blocks)).isEqualTo(live);
            }
        } finally {
            gated.release.countDown();
            pool.shutdownNow();
            smallData.close();
            smallStore.close();
        }
    }

    private static byte[] filledBlock(int seed) {
        return filledBlock(seed, BLOCK_SIZE);
    }

    private static byte[] filledBlock(int seed, int blockSize) {
        byte[] bytes = new byte[blockSize];
        new Random(1000 + seed).nextBytes(bytes);
        return bytes;
    }

    private static void write(BlockDevice device, long lba, byte[] bytes, boolean fua) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(bytes.length);
        buffer.put(0, bytes);
        device.write(lba, bytes.length / device.blockSize(), buffer, 0, fua);
    }

    private static byte[] read(BlockDevice device, long lba, int blocks) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(blocks * device.blockSize());
        device.read(lba, blocks, buffer, 0);
        byte[] bytes = new byte[buffer.capacity()];
        buffer.get(0, bytes);
        return bytes;
    }
}
