package dev.scemu.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Writes to different block ranges really run in parallel, and writes to one block stay ordered.
 * One operation is held inside a lower device ({@link GatedDevice}) while others run; a volume
 * that serialised its writes would make the second write wait for the held one, and its
 * {@code get} with a generous bound would fail the test instead of hanging it.
 */
class ParallelWriteTest {

    private static final int BLOCK_SIZE = 4096;
    private static final int BLOCKS = 1024;
    /** In another stripe (64 blocks) than lba 0. */
    private static final long OTHER = 512;

    private BlockDevice dataMedium;
    private BlockDevice storeMedium;
    private GatedDevice data;
    private GatedDevice store;
    private SnapshotVolume volume;
    private ExecutorService pool;
    private byte[] initial;

    @BeforeEach
    void setUp() {
        dataMedium = Media.memory("data", new BlockGeometry(BLOCK_SIZE, BLOCKS));
        storeMedium = Media.memory("store", new BlockGeometry(BLOCK_SIZE, 4 * BLOCKS));
        data = new GatedDevice(dataMedium);
        store = new GatedDevice(storeMedium);
        volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults());
        initial = VolumeTesting.randomBytes(new Random(3), BLOCKS * BLOCK_SIZE);
        VolumeTesting.write(volume, 0, initial, false);
        volume.flush();
        pool = Executors.newFixedThreadPool(3);
    }

    @AfterEach
    void tearDown() {
        data.release.countDown();
        store.release.countDown();
        pool.shutdownNow();
        volume.close();
        dataMedium.close();
        storeMedium.close();
    }

    private Future<?> write(long lba, byte[] block, boolean fua) {
        return pool.submit(() -> VolumeTesting.write(volume, lba, block, fua));
    }

    private static void awaitEntered(GatedDevice device) throws InterruptedException {
        assertThat(device.entered.await(30, TimeUnit.SECONDS)).as("the held operation reached " + device.name()).isTrue();
    }

    private static void completesWhileHeld(Future<?> other, String what) throws Exception {
        try {
            other.get(30, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            fail(what + " did not complete while another write was held in the lower device: writes are serialised");
        }
    }

    private byte[] old(long lba) {
        return java.util.Arrays.copyOfRange(initial, (int) lba * BLOCK_SIZE, (int) (lba + 1) * BLOCK_SIZE);
    }

    @Test
    void aWriteToAnotherRangeCompletesWhileOneIsHeldInTheDataDevice() throws Exception {
        byte[] a = VolumeTesting.filled(0xA1, BLOCK_SIZE);
        byte[] b = VolumeTesting.filled(0xB2, BLOCK_SIZE);
        data.gateWriteAt(0);
        Future<?> held = write(0, a, false);
        awaitEntered(data);
        completesWhileHeld(write(OTHER, b, false), "a write to lba " + OTHER);
        assertThat(VolumeTesting.read(volume, OTHER, 1)).isEqualTo(b);
        assertThat(held.isDone()).isFalse();
        data.release.countDown();
        held.get(30, TimeUnit.SECONDS);
        assertThat(VolumeTesting.read(volume, 0, 1)).isEqualTo(a);
        assertThat(data.wrongOld.get()).as("writeOver calls with wrong old contents").isZero();
        assertThat(data.writeOvers.get()).as("in-place writes hand the old blocks down").isGreaterThanOrEqualTo(2);
    }

    /**
     * Runs over disjoint blocks of one stripe proceed side by side (a stream of sequential 4 KiB
     * writes lands in one stripe): while a write of lba 0 is held in the data device, a write of
     * lba 1 completes, and a read of the stripe waits until both ended, then sees both.
     */
    @Test
    void aWriteToOtherBlocksOfTheSameStripeCompletesWhileOneIsHeld() throws Exception {
        byte[] a = VolumeTesting.filled(0xA1, BLOCK_SIZE);
        byte[] b = VolumeTesting.filled(0xB2, 2 * BLOCK_SIZE);
        data.gateWriteAt(0);
        Future<?> held = write(0, a, false);
        awaitEntered(data);
        completesWhileHeld(write(1, b, false), "a write to lbas 1-2 of the held write's stripe");
        AtomicReference<Thread> readerThread = new AtomicReference<>();
        Future<byte[]> read = pool.submit(() -> {
            readerThread.set(Thread.currentThread());
            return VolumeTesting.read(volume, 0, 3);
        });
        awaitParked(readerThread);
        assertThat(read.isDone()).as("a read of a stripe with a write in progress waits for it").isFalse();
        assertThat(held.isDone()).isFalse();
        data.release.countDown();
        held.get(30, TimeUnit.SECONDS);
        byte[] both = new byte[3 * BLOCK_SIZE];
        System.arraycopy(a, 0, both, 0, BLOCK_SIZE);
        System.arraycopy(b, 0, both, BLOCK_SIZE, 2 * BLOCK_SIZE);
        assertThat(read.get(30, TimeUnit.SECONDS)).isEqualTo(both);
        assertThat(data.wrongOld.get()).as("writeOver calls with wrong old contents").isZero();
    }

    /**
     * The committer holds only the blocks of the batch data it writes: while its write of lba 0's
     * new data is held in the data device, a copy-on-write of lba 1 (same stripe) completes into
     * the filling batch, and the snapshot still reads both old blocks.
     */
    @Test
    void aCopyOnWriteInTheStripeTheCommitterWritesCompletesWhileItIsHeld() throws Exception {
        SnapshotInfo snapshot = volume.createSnapshot("s");
        byte[] a = VolumeTesting.filled(0xA1, BLOCK_SIZE);
        byte[] b = VolumeTesting.filled(0xB2, BLOCK_SIZE);
        data.gateWriteAt(0); // the FUA write's commit writing lba 0's new data after its sync
        Future<?> held = write(0, a, true);
        awaitEntered(data);
        completesWhileHeld(write(1, b, false), "a copy-on-write of lba 1 while the committer writes lba 0");
        assertThat(held.isDone()).isFalse();
        data.release.countDown();
        held.get(30, TimeUnit.SECONDS);
        volume.flush();
        assertThat(VolumeTesting.read(volume, 0, 1)).isEqualTo(a);
        assertThat(VolumeTesting.read(volume, 1, 1)).isEqualTo(b);
        assertThat(VolumeTesting.read(volume.snapshot(snapshot.id()), 0, 2)).isEqualTo(
                java.util.Arrays.copyOfRange(initial, 0, 2 * BLOCK_SIZE));
        assertThat(VolumeTesting.read(dataMedium, 1, 1)).isEqualTo(b);
        assertThat(data.wrongOld.get()).isZero();
    }

    /**
     * Copies are written by the committer at commit (#20), not by the runs: while a commit is held
     * writing the first copy of its batch, a copy-on-write of another block goes into the filling
     * batch, and the snapshot reads the held batch's block, whose copy is not written yet, from
     * the data device (the new block still waits in its slot).
     */
    @Test
    void aCopyOnWriteCompletesWhileACommitIsHeldWritingItsCopies() throws Exception {
        SnapshotInfo snapshot = volume.createSnapshot("s");
        byte[] a = VolumeTesting.filled(0xA1, BLOCK_SIZE);
        byte[] b = VolumeTesting.filled(0xB2, BLOCK_SIZE);
        store.gateNextWrite(); // the first store write now is the commit's copy of lba 0's old block
        Future<?> held = write(0, a, true);
        awaitEntered(store);
        completesWhileHeld(write(OTHER, b, false), "a copy-on-write of lba " + OTHER);
        assertThat(VolumeTesting.read(volume, OTHER, 1)).as("the new block, waiting in the batch").isEqualTo(b);
        assertThat(VolumeTesting.read(volume.snapshot(snapshot.id()), OTHER, 1)).isEqualTo(old(OTHER));
        assertThat(VolumeTesting.read(volume, 0, 1)).as("the held batch's new block").isEqualTo(a);
        assertThat(VolumeTesting.read(volume.snapshot(snapshot.id()), 0, 1)).as("a copy being written").isEqualTo(old(0));
        assertThat(VolumeTesting.read(dataMedium, 0, 1)).as("not on the data device before its copy and sync").isEqualTo(old(0));
        assertThat(held.isDone()).isFalse();
        store.release.countDown();
        held.get(30, TimeUnit.SECONDS);
        volume.flush();
        assertThat(VolumeTesting.read(volume, 0, 1)).isEqualTo(a);
        assertThat(VolumeTesting.read(volume.snapshot(snapshot.id()), 0, 1)).isEqualTo(old(0));
        assertThat(VolumeTesting.read(volume.snapshot(snapshot.id()), OTHER, 1)).isEqualTo(old(OTHER));
        assertThat(VolumeTesting.read(dataMedium, 0, 1)).as("committed batch data on the data device").isEqualTo(a);
        assertThat(VolumeTesting.read(dataMedium, OTHER, 1)).isEqualTo(b);
        assertThat(data.wrongOld.get()).isZero();
    }

    @Test
    void writesAndReadsGoOnWhileABatchCommits() throws Exception {
        SnapshotInfo snapshot = volume.createSnapshot("s");
        byte[] a = VolumeTesting.filled(0xA1, BLOCK_SIZE);
        byte[] b = VolumeTesting.filled(0xB2, BLOCK_SIZE);
        store.gateNextFlush(); // the FUA write's batch commit: journal sync = store flush
        Future<?> held = write(0, a, true);
        awaitEntered(store);
        completesWhileHeld(write(OTHER, b, false), "a copy-on-write while a batch commits");
        assertThat(VolumeTesting.read(volume, 0, 1)).as("the committing batch's block").isEqualTo(a);
        assertThat(VolumeTesting.read(volume, OTHER, 1)).as("the filling batch's block").isEqualTo(b);
        assertThat(VolumeTesting.read(dataMedium, 0, 1)).as("not on the data device before its sync").isEqualTo(old(0));
        assertThat(held.isDone()).isFalse();
        store.release.countDown();
        held.get(30, TimeUnit.SECONDS);
        assertThat(VolumeTesting.read(dataMedium, 0, 1)).as("FUA write: committed and written").isEqualTo(a);
        volume.flush();
        assertThat(VolumeTesting.read(dataMedium, OTHER, 1)).isEqualTo(b);
        BlockDevice view = volume.snapshot(snapshot.id());
        assertThat(VolumeTesting.read(view, 0, 1)).isEqualTo(old(0));
        assertThat(VolumeTesting.read(view, OTHER, 1)).isEqualTo(old(OTHER));
        assertThat(data.wrongOld.get()).as("batch data written over the old blocks it kept").isZero();
    }

    @Test
    void writesToOneBlockStayOrdered() throws Exception {
        byte[] a = VolumeTesting.filled(0xA1, BLOCK_SIZE);
        byte[] b = VolumeTesting.filled(0xB2, BLOCK_SIZE);
        data.gateWriteAt(0);
        Future<?> first = write(0, a, false);
        awaitEntered(data);
        AtomicReference<Thread> secondThread = new AtomicReference<>();
        Future<?> second = pool.submit(() -> {
            secondThread.set(Thread.currentThread());
            VolumeTesting.write(volume, 0, b, false);
        });
        awaitParked(secondThread);
        assertThat(second.isDone()).as("a second write of the held block must wait").isFalse();
        assertThat(data.overlappingWrites.get()).isZero();
        data.release.countDown();
        first.get(30, TimeUnit.SECONDS);
        second.get(30, TimeUnit.SECONDS);
        assertThat(data.overlappingWrites.get()).as("writes of one block overlapping in the device").isZero();
        assertThat(VolumeTesting.read(volume, 0, 1)).as("the later write wins").isEqualTo(b);
        assertThat(VolumeTesting.read(dataMedium, 0, 1)).isEqualTo(b);
    }

    /** Polls (deadline 30 s) until the thread is parked: waiting for the held write's blocks or stripe. */
    private static void awaitParked(AtomicReference<Thread> thread) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            Thread t = thread.get();
            if (t != null && (t.getState() == Thread.State.WAITING || t.getState() == Thread.State.BLOCKED)) {
                return;
            }
            if (System.nanoTime() > deadline) {
                fail("the second writer never blocked (state " + (t == null ? "not started" : t.getState()) + ")");
            }
            Thread.onSpinWait();
        }
    }

    /**
     * Three writers own interleaved pairs of blocks (so they share stripes) and write new data, some
     * FUA, while the main thread takes snapshots between rounds: every block ends with its owner's
     * last write, every snapshot reads the volume as it was at its creation, every writeOver
     * handed down exactly what the data device held, and all of it survives a reopen.
     */
    @Test
    void concurrentWritersKeepContentsSnapshotsAndOldBlocksExact() throws Exception {
        int writers = 3;
        byte[] model = initial.clone();
        List<byte[]> frozen = new ArrayList<>();
        List<SnapshotInfo> snapshots = new ArrayList<>();
        for (int round = 0; round < 4; round++) {
            List<Future<byte[]>> futures = new ArrayList<>();
            byte[] before = model.clone();
            for (int t = 0; t < writers; t++) {
                int owner = t;
                int seed = round * 10 + t;
                futures.add(pool.submit(() -> {
                    Random r = new Random(seed);
                    byte[] mine = before.clone(); // what the volume holds now; this writer's pairs change only here
                    ByteBuffer buffer = ByteBuffer.allocateDirect(2 * BLOCK_SIZE);
                    byte[] bytes = new byte[2 * BLOCK_SIZE];
                    for (int i = 0; i < 300; i++) {
                        int pair = r.nextInt(BLOCKS / 2 / writers) * writers + owner;
                        long lba = 2L * pair;
                        if (lba + 2 > BLOCKS) {
                            continue;
                        }
                        r.nextBytes(bytes);
                        if (r.nextInt(4) == 0) {
                            System.arraycopy(mine, (int) lba * BLOCK_SIZE, bytes, 0, BLOCK_SIZE); // an identical block
                        }
                        buffer.put(0, bytes);
                        volume.write(lba, 2, buffer, 0, r.nextInt(20) == 0);
                        System.arraycopy(bytes, 0, mine, (int) lba * BLOCK_SIZE, bytes.length);
                    }
                    return mine;
                }));
            }
            for (int t = 0; t < writers; t++) {
                byte[] mine = futures.get(t).get(120, TimeUnit.SECONDS);
                for (int pair = t; pair < BLOCKS / 2; pair += writers) {
                    int from = pair * 2 * BLOCK_SIZE;
                    System.arraycopy(mine, from, model, from, 2 * BLOCK_SIZE);
                }
            }
            VolumeTesting.assertSameContents(VolumeTesting.read(volume, 0, BLOCKS), model, BLOCK_SIZE, "volume after round " + round);
            snapshots.add(volume.createSnapshot("r" + round));
            frozen.add(model.clone());
        }
        for (int i = 0; i < snapshots.size(); i++) {
            VolumeTesting.assertSameContents(VolumeTesting.read(volume.snapshot(snapshots.get(i).id()), 0, BLOCKS),
                    frozen.get(i), BLOCK_SIZE, "snapshot " + i);
        }
        assertThat(data.wrongOld.get()).as("writeOver calls with wrong old contents").isZero();
        assertThat(data.writeOvers.get()).isPositive();
        volume.close();
        volume = SnapshotVolume.open(data, store);
        VolumeTesting.assertSameContents(VolumeTesting.read(volume, 0, BLOCKS), model, BLOCK_SIZE, "volume after reopen");
        for (int i = 0; i < snapshots.size(); i++) {
            VolumeTesting.assertSameContents(VolumeTesting.read(volume.snapshot(snapshots.get(i).id()), 0, BLOCKS),
                    frozen.get(i), BLOCK_SIZE, "snapshot " + i + " after reopen");
        }
    }
}
