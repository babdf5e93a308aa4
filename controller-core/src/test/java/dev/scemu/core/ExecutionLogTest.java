package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ExecutionLogTest {

    private static final int BLOCK = 512;
    /** 2 header slots + 16 data blocks, not at lba 0. */
    private static final Extent REGION = Extent.of(5, 18);

    private final BlockDevice device = Media.memory("disk", new BlockGeometry(BLOCK, 64));

    @AfterEach
    void closeDevice() {
        device.close();
    }

    private static ByteBuffer text(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String text(ByteBuffer b) {
        byte[] bytes = new byte[b.remaining()];
        b.duplicate().get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static ByteBuffer filled(int length, int seed) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) (seed * 31 + i);
        }
        return ByteBuffer.wrap(bytes);
    }

    @Test
    void payloadRoomInBlockIsWhatTheNextRecordCanCarryWithoutStartingABlock() {
        long tx;
        try (ExecutionLog log = ExecutionLog.format(device, REGION)) {
            assertThat(log.payloadRoomInBlock()).as("no block started").isZero();
            tx = log.begin(1, filled(20, 1));
            // block header 40, BEGIN 16 + 20: the next record's header 16 leaves the rest for payload
            assertThat(log.payloadRoomInBlock()).isEqualTo(BLOCK - 40 - 36 - 16);
            int room = log.payloadRoomInBlock();
            log.step(tx, 0, filled(room, 2));
            assertThat(log.stats().blocksWritten()).as("a payload of exactly the room fits the block").isZero();
            assertThat(log.payloadRoomInBlock()).as("the block is full").isZero();
            log.step(tx, 1, filled(1, 3));
            assertThat(log.stats().blocksWritten()).as("the next record starts a new block").isEqualTo(1);
            assertThat(log.payloadRoomInBlock()).isEqualTo(BLOCK - 40 - 17 - 16);
            log.sync();
        }
        try (ExecutionLog log = ExecutionLog.open(device, REGION)) {
            assertThat(log.unfinished()).hasSize(1);
            Transaction t = log.unfinished().get(0);
            assertThat(t.txId()).isEqualTo(tx);
            assertThat(t.steps()).hasSize(2);
            assertThat(t.steps().get(0).payload()).isEqualTo(filled(BLOCK - 40 - 36 - 16, 2));
            assertThat(t.steps().get(1).payload()).isEqualTo(filled(1, 3));
        }
    }

    /**
     * {@link ExecutionLog#sync()} flushes outside the log's monitor: while one thread's sync waits
     * for the device flush, another appends (here: BEGIN, STEP and a COMMIT, filling and writing a
     * block) without waiting; the next sync makes those records durable too. With the flush inside
     * the monitor, the append blocks until the flush ends and the test times out.
     */
    @Test
    void appendsGoOnWhileASyncWaitsForTheDeviceFlush() throws Exception {
        java.util.concurrent.CountDownLatch flushEntered = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch releaseFlush = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicBoolean holdFlushes = new java.util.concurrent.atomic.AtomicBoolean();
        BlockDevice held = new ForwardingBlockDevice("held", device, false) {
            @Override
            protected void doFlush() {
                if (holdFlushes.get()) {
                    flushEntered.countDown();
                    try {
                        releaseFlush.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                super.doFlush();
            }
        };
        long first;
        long second;
        // own threads: the common pool may have one worker (2 CPUs), which the held sync would occupy
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(2);
        try (ExecutionLog log = ExecutionLog.format(held, REGION)) {
            first = log.begin(1, text("first"));
            holdFlushes.set(true);
            java.util.concurrent.CompletableFuture<Void> sync = java.util.concurrent.CompletableFuture.runAsync(log::sync, threads);
            assertThat(flushEntered.await(30, java.util.concurrent.TimeUnit.SECONDS)).as("the sync reached the flush").isTrue();
            java.util.concurrent.CompletableFuture<Long> append = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                long tx = log.begin(2, text("second"));
                log.step(tx, 0, filled(BLOCK - 100, 7)); // fills the block: the full block is written
                log.commit(first);
                return tx;
            }, threads);
            try {
                second = append.get(30, java.util.concurrent.TimeUnit.SECONDS); // does not wait for the flush
                assertThat(sync).as("the first sync still waits for its flush").isNotDone();
                assertThat(log.stats().blocksWritten()).as("the append wrote the full block meanwhile")
                        .isGreaterThanOrEqualTo(2);
            } finally {
                holdFlushes.set(false);
                releaseFlush.countDown();
            }
            sync.get(30, java.util.concurrent.TimeUnit.SECONDS);
            log.sync();
        } finally {
            threads.shutdownNow();
        }
        try (ExecutionLog log = ExecutionLog.open(device, REGION)) {
            assertThat(log.unfinished()).as("first committed, second unfinished with its step")
                    .extracting(Transaction::txId).containsExactly(second);
            assertThat(log.unfinished().get(0).steps()).hasSize(1);
        }
    }

    @Test
    void roundTripsBeginStepCommitAcrossReopen() {
        long committed;
        long pending;
        try (ExecutionLog log = ExecutionLog.format(device, REGION)) {
            committed = log.begin(1, text("copy 7->9"));
            log.step(committed, 0, text("copied"));
            log.commit(committed);
            pending = log.begin(2, text("parity stripe 4"));
            log.step(pending, 0, text("data written"));
            log.step(pending, 1, text("parity written"));
            log.sync();
        }
        try (ExecutionLog log = ExecutionLog.open(device, REGION)) {
            List<Transaction> unfinished = log.unfinished();
            assertThat(unfinished).extracting(Transaction::txId).containsExactly(pending);
            Transaction tx = unfinished.get(0);
            assertThat(tx.opType()).isEqualTo(2);
            assertThat(text(tx.beginPayload())).isEqualTo("parity stripe 4");
            assertThat(tx.beginPayload().isReadOnly()).isTrue();
            assertThat(tx.steps()).extracting(Transaction.Step::stepIndex).containsExactly(0, 1);
            assertThat(tx.steps()).extracting(s -> text(s.payload())).containsExactly("data written", "parity written");
            log.commit(pending);
            assertThat(log.unfinished()).isEmpty();
            log.sync();
        }
        try (ExecutionLog log = ExecutionLog.open(device, REGION)) {
            assertThat(log.unfinished()).isEmpty();
        }
    }

    @Test
    void listsExactlyTheUnfinishedTransactionsInBeginOrder() {
        List<Long> expected = new ArrayList<>();
        try (ExecutionLog log = ExecutionLog.format(device, REGION)) {
            for (int i = 0; i < 20; i++) {
                long tx = log.begin(i, filled(i, i));
                for (int s = 0; s < i % 4; s++) {
                    log.step(tx, s, filled(s * 3, i + s));
                }
                switch (i % 3) {
                    case 0 -> log.commit(tx);
                    case 1 -> log.abort(tx);
                    default -> expected.add(tx);
                }
            }
        }
        try (ExecutionLog log = ExecutionLog.open(device, REGION)) {
            assertThat(log.unfinished()).extracting(Transaction::txId).containsExactlyElementsOf(expected);
            for (Transaction tx : log.unfinished()) {
                int i = tx.opType();
                assertThat(tx.beginPayload()).isEqualTo(filled(i, i));
                assertThat(tx.steps()).hasSize(i % 4);
                for (int s = 0; s < i % 4; s++) {
                    assertThat(tx.steps().get(s).payload()).isEqualTo(filled(s * 3, i + s));
                }
            }
        }
    }

    @Test
    void transactionIdsStayMonotonicAcrossReopenEvenAfterEverythingIsReclaimed() {
        long last = 0;
        for (int session = 0; session < 6; session++) {
            try (ExecutionLog log = session == 0 ? ExecutionLog.format(device, REGION) : ExecutionLog.open(device, REGION)) {
                for (int i = 0; i < 300; i++) {
                    long tx = log.begin(0, filled(40, i));
                    assertThat(tx).isGreaterThan(last);
                    last = tx;
                    log.commit(tx);
                }
            }
        }
    }

    @Test
    void wrapsAroundTheRingForManyLapsAndReclaims() {
        ExecutionLog log = ExecutionLog.format(device, REGION);
        long pinned = log.begin(9, text("long running but checkpointed"));
        int transactions = 0;
        long reclaims = 0;
        for (int round = 0; round < 8; round++) {
            for (int i = 0; i < 500; i++) {
                long tx = log.begin(1, filled(i % 90, i));
                log.step(tx, 0, filled(30, i));
                log.commit(tx);
                if (i % 7 == 0) {
                    log.sync();
                }
                if (i % 20 == 19) {
                    // checkpoint the long-running transaction: commit it and carry on in a fresh one
                    log.commit(pinned);
                    pinned = log.begin(9, text("checkpoint " + round));
                }
                transactions++;
            }
            log.sync();
            reclaims += log.stats().reclaims();
            log.close();
            log = ExecutionLog.open(device, REGION);
            assertThat(log.unfinished()).extracting(Transaction::txId).containsExactly(pinned);
            assertThat(text(log.unfinished().get(0).beginPayload())).isEqualTo("checkpoint " + round);
        }
        log.close();
        assertThat(transactions).isEqualTo(4000);
        assertThat(reclaims).isGreaterThan(8 * 10);
    }

    @Test
    void reclaimsWithinOneSessionAndMetersJournalWrites() {
        try (ExecutionLog log = ExecutionLog.format(device, REGION)) {
            for (int i = 0; i < 3000; i++) {
                long tx = log.begin(1, filled(100, i));
                log.commit(tx);
            }
            log.sync();
            LogStats stats = log.stats();
            assertThat(stats.blocksWritten()).isGreaterThan(16 * 20);
            assertThat(stats.reclaims()).isGreaterThan(15);
            assertThat(stats.recordsAppended()).isEqualTo(6000);
            assertThat(stats.syncs()).isEqualTo(1);
            IoMeter.Snapshot meter = log.meter().snapshot();
            assertThat(meter.issuedWrite(IoCause.JOURNAL).bytes()).isEqualTo(stats.bytesWritten());
            assertThat(meter.receivedWrite().bytes()).isEqualTo(stats.recordBytes());
            assertThat(meter.writeAmplification()).isGreaterThan(1.0);
        }
    }

    @Test
    void reportsLogFullWhenOneTransactionPinsTheRingAndRecoversAfterItCommits() {
        try (ExecutionLog log = ExecutionLog.format(device, REGION)) {
            long pinning = log.begin(5, text("pin"));
            CoreException full = null;
            int appended = 0;
            while (full == null && appended < 10_000) {
                try {
                    long tx = log.begin(1, filled(200, appended));
                    log.commit(tx);
                    appended++;
                } catch (CoreException e) {
                    full = e;
                }
            }
            assertThat(full).isNotNull();
            assertThat(full.code()).isEqualTo(CoreError.LOG_FULL);
            assertThat(full.getMessage()).contains("transaction " + pinning);
            assertThat(appended).isGreaterThan(16);
            log.sync();
            // nothing durable was damaged: another reader sees the pinning transaction
            try (ExecutionLog reader = ExecutionLog.open(device, REGION)) {
                assertThat(reader.unfinished()).extracting(Transaction::txId).containsExactly(pinning);
            }
            assertThatThrownBy(() -> log.step(pinning, 0, filled(200, 0))).isInstanceOf(CoreException.class)
                    .extracting(e -> ((CoreException) e).code()).isEqualTo(CoreError.LOG_FULL);
            log.commit(pinning);
            for (int i = 0; i < 1000; i++) {
                log.commit(log.begin(1, filled(200, i)));
            }
            log.sync();
        }
        try (ExecutionLog log = ExecutionLog.open(device, REGION)) {
            assertThat(log.unfinished()).isEmpty();
        }
    }

    @Test
    void manyUnfinishedTransactionsCanAlwaysBeFinishedAfterLogFull() {
        List<Long> open = new ArrayList<>();
        try (ExecutionLog log = ExecutionLog.format(device, REGION)) {
            try {
                while (true) {
                    open.add(log.begin(1, filled(8, open.size())));
                }
            } catch (CoreException e) {
                assertThat(e.code()).isEqualTo(CoreError.LOG_FULL);
            }
            log.sync();
        }
        try (ExecutionLog log = ExecutionLog.open(device, REGION)) {
            assertThat(log.unfinished()).extracting(Transaction::txId).containsExactlyElementsOf(open);
            for (long tx : open) {
                log.abort(tx);
            }
            log.sync();
            log.commit(log.begin(2, text("works again")));
        }
        try (ExecutionLog log = ExecutionLog.open(device, REGION)) {
            assertThat(log.unfinished()).isEmpty();
        }
    }

    /** Flips one bit in the middle of data block {@code position} of {@link #REGION}. */
    private void damageDataBlock(BlockDevice target, int position) {
        ByteBuffer block = ByteBuffer.allocate(BLOCK);
        long lba = REGION.lba() + ExecutionLog.HEADER_SLOTS + position;
        target.read(lba, 1, block, 0);
        block.put(200, (byte) (block.get(200) ^ 0x10));
        target.write(lba, 1, block, 0);
    }

    private byte[] regionBytes(BlockDevice target) {
        ByteBuffer all = ByteBuffer.allocate((int) REGION.blockCount() * BLOCK);
        target.read(REGION.lba(), (int) REGION.blockCount(), all, 0);
        return all.array();
    }

    /** Eight synced BEGINs of one block each (tx i in data block i); returns their ids. */
    private List<Long> eightSyncedBlocks(int big) {
        List<Long> ids = new ArrayList<>();
        try (ExecutionLog log = ExecutionLog.format(device, REGION)) {
            for (int i = 0; i < 8; i++) {
                ids.add(log.begin(i, filled(big, i)));
            }
            log.sync();
        }
        return ids;
    }

    @Test
    void aDamagedBlockFollowedByDurableBlocksIsLogCorruptedNamingItsPositionAndChangesNothing() {
        int big = (BLOCK - 56) / 2 + 1; // one BEGIN per block
        for (int damaged = 0; damaged < 7; damaged++) {
            eightSyncedBlocks(big);
            damageDataBlock(device, damaged);
            byte[] before = regionBytes(device);
            int position = damaged;
            CoreException e = catchThrowableOfType(CoreException.class, () -> ExecutionLog.open(device, REGION));
            assertThat(e).as("damage in block %d of 8 synced ones", damaged).isNotNull();
            assertThat(e.code()).isEqualTo(CoreError.LOG_CORRUPTED);
            assertThat(e.getMessage()).contains("ring position " + position + " ")
                    .contains("region block " + (position + 2))
                    .contains("index " + position + " from the tail")
                    .contains("after seq " + (position - 1))
                    .contains("checksum");
            assertThat(regionBytes(device)).as("open wrote nothing").isEqualTo(before);
        }
    }

    @Test
    void aDamagedBlockOfAnEarlierSessionIsCorruptionWhenALaterSessionWroteAfterIt() {
        long first;
        try (ExecutionLog log = ExecutionLog.format(device, REGION)) {
            first = log.begin(1, filled(300, 1));
            log.begin(2, filled(300, 2));
            log.sync();
        }
        long later;
        try (ExecutionLog log = ExecutionLog.open(device, REGION)) {
            later = log.begin(3, filled(20, 3));
            log.sync(); // one record: this session's first block, written after the reopen
        }
        assertThat(later).isGreaterThan(first);
        damageDataBlock(device, 1); // the earlier session's second block
        CoreException e = catchThrowableOfType(CoreException.class, () -> ExecutionLog.open(device, REGION));
        assertThat(e.code()).isEqualTo(CoreError.LOG_CORRUPTED);
        assertThat(e.getMessage()).contains("ring position 1 ").contains("the block at position 2 (seq 18,");
    }

    @Test
    void aDamagedBlockAfterTheRingWrappedNamesItsRingPositionNotItsIndex() {
        try (ExecutionLog log = ExecutionLog.format(device, REGION)) {
            for (int i = 0; i < 44; i++) {
                log.commit(log.begin(1, filled(250, i))); // one block per transaction: wraps the ring
            }
            log.sync();
            for (int i = 0; i < 6; i++) {
                log.begin(2, filled(250, i));
            }
            log.sync();
        }
        ByteBuffer headers = ByteBuffer.allocate(2 * BLOCK).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        device.read(REGION.lba(), 2, headers, 0);
        int current = headers.getLong(ExecutionLog.H_GENERATION) > headers.getLong(BLOCK + ExecutionLog.H_GENERATION) ? 0 : 1;
        long tailSeq = headers.getLong(current * BLOCK + ExecutionLog.H_TAIL_SEQ);
        int tailPosition = (int) Math.floorMod(tailSeq, 16L);
        assertThat(tailPosition).as("the tail moved").isNotZero();
        int position = (tailPosition + 2) % 16;
        damageDataBlock(device, position);
        CoreException e = catchThrowableOfType(CoreException.class, () -> ExecutionLog.open(device, REGION));
        assertThat(e.code()).isEqualTo(CoreError.LOG_CORRUPTED);
        assertThat(e.getMessage()).contains("ring position " + position + " ").contains("index 2 from the tail at seq " + tailSeq);
    }

    @Test
    void damageToTheNewestBlockIsRecoveredAsATornTail() {
        int big = (BLOCK - 56) / 2 + 1;
        List<Long> ids = eightSyncedBlocks(big);
        damageDataBlock(device, 7); // nothing after it can witness it: indistinguishable from a torn tail
        long added;
        try (ExecutionLog log = ExecutionLog.open(device, REGION)) {
            assertThat(log.unfinished()).extracting(Transaction::txId).containsExactlyElementsOf(ids.subList(0, 7));
            for (Transaction tx : log.unfinished()) {
                assertThat(tx.beginPayload()).isEqualTo(filled(big, tx.opType()));
            }
            added = log.begin(77, text("after the torn tail"));
            assertThat(added).isGreaterThan(ids.get(6));
            log.sync();
        }
        try (ExecutionLog log = ExecutionLog.open(device, REGION)) {
            List<Long> expected = new ArrayList<>(ids.subList(0, 7));
            expected.add(added);
            assertThat(log.unfinished()).extracting(Transaction::txId).containsExactlyElementsOf(expected);
        }
    }

    @Test
    void aLostBlockAmongUnacknowledgedOnesIsATornTailEvenWithSurvivorsAfterIt() {
        try (FaultInjectingDevice disk = new FaultInjectingDevice(Media.memory("t", new BlockGeometry(BLOCK, 64)), 1)) {
            ExecutionLog log = ExecutionLog.format(disk, REGION);
            int big = log.maxPayloadBytes() / 2 + 1;
            long durable = log.begin(1, filled(big, 1));
            log.sync(); // block 0 durable
            for (int i = 2; i < 8; i++) {
                log.begin(i, filled(big, i)); // blocks 1..5 written without a flush, block 6 pending
            }
            Set<Long> unflushed = disk.unflushedBlocks();
            long lost = REGION.lba() + 2 + 2;
            assertThat(unflushed).contains(lost, lost + 1, lost + 2, lost + 3);
            Set<Long> survivors = new java.util.HashSet<>(unflushed);
            survivors.remove(lost);
            disk.cutPowerKeeping(survivors); // blocks 1, 3, 4, 5 survive, block 2 is lost
            disk.restorePower();
            try (ExecutionLog reopened = ExecutionLog.open(disk, REGION)) {
                assertThat(reopened.unfinished()).extracting(Transaction::txId).containsExactly(durable, durable + 1);
            }
        }
    }

    @Test
    void aDamagedLastSyncedBlockIsCorruptionWhenALaterUnacknowledgedBlockSurvives() {
        try (FaultInjectingDevice disk = new FaultInjectingDevice(Media.memory("t", new BlockGeometry(BLOCK, 64)), 1)) {
            ExecutionLog log = ExecutionLog.format(disk, REGION);
            long durable = log.begin(1, filled(10, 1));
            log.sync(); // block 0, version 1, is durable: the newest block at the last flush
            log.begin(2, filled(300, 2));
            log.begin(3, filled(300, 3)); // block 0 version 2 written unflushed, block 1 started
            log.begin(4, filled(300, 4)); // block 1 written unflushed (flushMark 2: block 0 was durable)
            disk.cutPowerKeeping(disk.unflushedBlocks()); // everything survives the cut
            disk.restorePower();
            damageDataBlock(disk, 0); // then the durable block rots: no version of it is valid any more
            CoreException e = catchThrowableOfType(CoreException.class, () -> ExecutionLog.open(disk, REGION));
            assertThat(e.code()).isEqualTo(CoreError.LOG_CORRUPTED);
            assertThat(e.getMessage()).contains("ring position 0 ").contains("the block at position 1 ")
                    .contains("flushMark 2");
            assertThat(durable).isPositive();
        }
    }

    @Test
    void rejectsAnOversizePayloadAndChangesNothing() {
        try (ExecutionLog log = ExecutionLog.format(device, REGION)) {
            assertThat(log.maxPayloadBytes()).isEqualTo(BLOCK - 56);
            long tx = log.begin(1, filled(log.maxPayloadBytes(), 1));
            CoreException e = catchThrowableOfType(CoreException.class,
                    () -> log.step(tx, 0, filled(log.maxPayloadBytes() + 1, 2)));
            assertThat(e.code()).isEqualTo(CoreError.INVALID_ARGUMENT);
            assertThat(e.getMessage()).contains(String.valueOf(log.maxPayloadBytes() + 1))
                    .contains(String.valueOf(log.maxPayloadBytes()));
            assertThatThrownBy(() -> log.begin(1, filled(log.maxPayloadBytes() + 1, 2))).isInstanceOf(CoreException.class);
            assertThat(log.stats().recordsAppended()).isEqualTo(1);
            log.step(tx, 0, filled(3, 3));
        }
        try (ExecutionLog log = ExecutionLog.open(device, REGION)) {
            assertThat(log.unfinished()).hasSize(1);
            assertThat(log.unfinished().get(0).steps()).hasSize(1);
        }
    }

    @Test
    void rejectsUnknownAndFinishedTransactionsAndBadArguments() {
        try (ExecutionLog log = ExecutionLog.format(device, REGION)) {
            long tx = log.begin(1, null);
            log.commit(tx);
            for (Runnable r : List.<Runnable>of(() -> log.commit(tx), () -> log.abort(tx), () -> log.step(tx, 0, null),
                    () -> log.commit(tx + 100))) {
                assertThatThrownBy(r::run).isInstanceOf(CoreException.class)
                        .extracting(e -> ((CoreException) e).code()).isEqualTo(CoreError.UNKNOWN_TRANSACTION);
            }
            assertThatThrownBy(() -> log.begin(70_000, null)).extracting(e -> ((CoreException) e).code())
                    .isEqualTo(CoreError.INVALID_ARGUMENT);
        }
        assertThatThrownBy(() -> ExecutionLog.format(device, Extent.of(0, 3))).isInstanceOf(CoreException.class);
        assertThatThrownBy(() -> ExecutionLog.format(device, Extent.of(60, 18))).isInstanceOf(CoreException.class);
    }

    @Test
    void openWithoutAValidHeaderIsCorruptRecordAndAnotherGeometryIsRejected() {
        assertThatThrownBy(() -> ExecutionLog.open(device, REGION)).extracting(e -> ((CoreException) e).code())
                .isEqualTo(CoreError.CORRUPT_RECORD);
        ExecutionLog.format(device, REGION).close();
        assertThatThrownBy(() -> ExecutionLog.open(device, Extent.of(5, 20)))
                .extracting(e -> ((CoreException) e).code()).isEqualTo(CoreError.INVALID_ARGUMENT);
    }

    @Test
    void survivesTheLossOfOneHeaderSlot() {
        long tx;
        try (ExecutionLog log = ExecutionLog.format(device, REGION)) {
            for (int i = 0; i < 500; i++) {
                log.commit(log.begin(1, filled(100, i)));
            }
            tx = log.begin(3, text("x"));
            log.sync();
        }
        device.write(REGION.lba(), 1, ByteBuffer.allocate(BLOCK), 0); // slot 0 destroyed
        try (ExecutionLog log = ExecutionLog.open(device, REGION)) {
            assertThat(log.unfinished()).extracting(Transaction::txId).containsExactly(tx);
        }
    }

    @Test
    void closeSyncsAndIsIdempotentAndLeavesTheDeviceOpen() {
        ExecutionLog log = ExecutionLog.format(device, REGION);
        long tx = log.begin(1, text("a"));
        log.close();
        log.close();
        assertThatThrownBy(() -> log.begin(1, null)).extracting(e -> ((CoreException) e).code()).isEqualTo(CoreError.CLOSED);
        try (ExecutionLog reopened = ExecutionLog.open(device, REGION)) {
            assertThat(reopened.unfinished()).extracting(Transaction::txId).containsExactly(tx);
        }
    }

    @Test
    void aStaleBlockOfAnEarlierSessionIsNeverResurrected() {
        try (FaultInjectingDevice disk = new FaultInjectingDevice(Media.memory("t", new BlockGeometry(BLOCK, 64)), 1)) {
            ExecutionLog a = ExecutionLog.format(disk, REGION);
            int big = a.maxPayloadBytes() / 2 + 1;
            long durable = a.begin(1, filled(big, 1));
            a.sync();
            // session A writes two more blocks without flushing; only the second one survives the cut
            a.begin(2, filled(big, 2));
            long ghost = a.begin(3, filled(big, 3));
            a.begin(4, filled(big, 4)); // fills: block of tx 3 is written
            long firstLost = REGION.lba() + 2 + 1;
            long survivor = REGION.lba() + 2 + 2;
            assertThat(disk.unflushedBlocks()).contains(firstLost, survivor);
            disk.cutPowerKeeping(Set.of(survivor));
            disk.restorePower();

            ExecutionLog b = ExecutionLog.open(disk, REGION);
            assertThat(b.unfinished()).extracting(Transaction::txId).containsExactly(durable);
            long reused = b.begin(5, filled(big, 5)); // written where A's lost block was
            assertThat(reused).isEqualTo(durable + 1);
            b.sync();
            disk.cutPower(PowerCutMode.DROP_UNFLUSHED);
            disk.restorePower();

            ExecutionLog c = ExecutionLog.open(disk, REGION);
            assertThat(c.unfinished()).extracting(Transaction::txId).containsExactly(durable, reused);
            assertThat(c.unfinished()).extracting(Transaction::opType).containsExactly(1, 5);
            assertThat(ghost).isNotIn(c.unfinished().stream().map(Transaction::txId).toList());
        }
    }

    @Test
    void aBlockAfterALostRewriteOfItsPredecessorIsNotAccepted() {
        try (FaultInjectingDevice disk = new FaultInjectingDevice(Media.memory("t", new BlockGeometry(BLOCK, 64)), 1)) {
            ExecutionLog log = ExecutionLog.format(disk, REGION);
            long first = log.begin(1, filled(10, 1));
            log.sync(); // block 0, version 1 durable
            long second = log.begin(2, filled(300, 2)); // block 0 version 2 (not yet written)
            long third = log.begin(3, filled(300, 3)); // block 0 v2 written unflushed, block 1 started
            log.step(third, 0, filled(300, 4)); // block 1 written unflushed
            disk.cutPowerKeeping(Set.of(REGION.lba() + 2 + 1));
            disk.restorePower(); // block 1 survives, block 0 v2 is lost
            try (ExecutionLog reopened = ExecutionLog.open(disk, REGION)) {
                assertThat(reopened.unfinished()).extracting(Transaction::txId).containsExactly(first);
            }
            assertThat(second).isLessThan(third);
        }
    }

    @Test
    void isSafeForConcurrentAppenders() throws Exception {
        ConcurrentLinkedQueue<Long> unfinished = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        Extent large = Extent.of(0, 4096);
        try (BlockDevice disk = Media.memory("big", new BlockGeometry(4096, 4096));
             ExecutionLog log = ExecutionLog.format(disk, large)) {
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int id = t;
                threads.add(new Thread(() -> {
                    try {
                        for (int i = 0; i < 500; i++) {
                            long tx = log.begin(id, filled(20, i));
                            log.step(tx, 0, filled(10, i));
                            log.commit(tx);
                            if (i % 10 == 0) {
                                log.sync();
                            }
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            threads.forEach(Thread::start);
            for (Thread thread : threads) {
                thread.join();
            }
            assertThat(failures).isEmpty();
            for (int t = 0; t < 4; t++) {
                unfinished.add(log.begin(t, null));
            }
            log.sync();
            try (ExecutionLog reopened = ExecutionLog.open(disk, large)) {
                assertThat(reopened.unfinished()).extracting(Transaction::txId)
                        .containsExactlyInAnyOrderElementsOf(unfinished);
            }
        }
    }
}
