package dev.scemu.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.IoCause;
import dev.scemu.core.IoMeter;
import dev.scemu.core.Media;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Write amplification read from the volume's meter: physical bytes issued by cause ÷ host bytes
 * received. Targets (PERFORMANCE.md): identical rewrite ≤ 0.01; first 4 KiB write after 1 or 16
 * snapshots ≈ 2 block writes per host block (data + one shared copy), journal and metadata apart.
 */
class WriteAmplificationTest {

    private static final int BLOCK_SIZE = 4096;
    private static final int BLOCKS = 4096;
    private static final int WRITES = 1024;

    private BlockDevice data;
    private BlockDevice store;
    private SnapshotVolume volume;
    private final Random random = new Random(2026);

    @BeforeEach
    void fillVolume() {
        data = Media.memory("data", new BlockGeometry(BLOCK_SIZE, BLOCKS));
        store = Media.memory("store", new BlockGeometry(BLOCK_SIZE, 8192));
        volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults());
        ByteBuffer buffer = ByteBuffer.allocateDirect(64 * BLOCK_SIZE);
        for (int lba = 0; lba < BLOCKS; lba += 64) {
            buffer.put(0, VolumeTesting.randomBytes(random, buffer.capacity()));
            volume.write(lba, 64, buffer, 0);
        }
        volume.flush();
    }

    @AfterEach
    void close() {
        volume.close();
        data.close();
        store.close();
    }

    /** Ratios of one measured phase. */
    record Ratios(String phase, double dataAndCopy, double copies, double journal, double metadata, double total) {
        static Ratios of(String phase, IoMeter.Snapshot m) {
            double host = m.receivedWrite().bytes();
            double data = m.issuedWrite(IoCause.HOST).bytes() / host;
            double copy = m.issuedWrite(IoCause.COW_COPY).bytes() / host;
            double journal = m.issuedWrite(IoCause.JOURNAL).bytes() / host;
            double metadata = m.issuedWrite(IoCause.METADATA).bytes() / host;
            return new Ratios(phase, data + copy, copy, journal, metadata, m.issuedWriteTotal().bytes() / host);
        }

        void print() {
            System.out.printf("WA %-44s data+copy %.4f  (copies %.4f)  journal %.4f  metadata %.4f  total %.4f%n",
                    phase, dataAndCopy, copies, journal, metadata, total);
        }
    }

    @Test
    void rewritingIdenticalDataWritesNothing() {
        volume.createSnapshot("before");
        volume.meter().reset();
        ByteBuffer buffer = ByteBuffer.allocateDirect(64 * BLOCK_SIZE);
        for (int lba = 0; lba < BLOCKS; lba += 64) {
            volume.read(lba, 64, buffer, 0);
            volume.write(lba, 64, buffer, 0);
        }
        volume.flush();
        IoMeter.Snapshot m = volume.meter().snapshot();
        Ratios ratios = Ratios.of("identical rewrite (1 snapshot)", m);
        ratios.print();
        assertThat(m.skippedWrite().bytes()).isEqualTo(m.receivedWrite().bytes());
        assertThat(ratios.total()).isLessThanOrEqualTo(0.01);
    }

    @Test
    void firstWritesAfterOneSnapshotCostOneCopyEach() {
        volume.createSnapshot("one");
        Ratios ratios = measureFirstWrites("first 4 KiB writes after 1 snapshot");
        assertThat(ratios.copies()).isEqualTo(1.0);
        assertThat(ratios.dataAndCopy()).isEqualTo(2.0);
        assertThat(ratios.total()).isLessThanOrEqualTo(2.1);
    }

    @Test
    void firstWritesAfterSixteenSnapshotsStillCostOneCopyEach() {
        for (int i = 0; i < 16; i++) {
            volume.createSnapshot("s" + i);
        }
        Ratios ratios = measureFirstWrites("first 4 KiB writes after 16 snapshots");
        assertThat(ratios.copies()).isEqualTo(1.0);
        assertThat(ratios.dataAndCopy()).isEqualTo(2.0);
        assertThat(ratios.total()).isLessThanOrEqualTo(2.1);
        assertThat(volume.storeUsage().usedStoreBlocks()).isEqualTo(WRITES);
    }

    @Test
    void aSingleFlushedWriteAfterSixteenSnapshots() {
        for (int i = 0; i < 16; i++) {
            volume.createSnapshot("s" + i);
        }
        volume.meter().reset();
        VolumeTesting.write(volume, 77, VolumeTesting.randomBytes(random, BLOCK_SIZE), true);
        Ratios ratios = Ratios.of("one 4 KiB FUA write after 16 snapshots", volume.meter().snapshot());
        ratios.print();
        assertThat(ratios.dataAndCopy()).isEqualTo(2.0);
    }

    /** WRITES single-block writes of new data at distinct random lbas, then one flush. */
    private Ratios measureFirstWrites(String phase) {
        int[] lbas = new int[BLOCKS];
        for (int i = 0; i < BLOCKS; i++) {
            lbas[i] = i;
        }
        for (int i = BLOCKS - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = lbas[i];
            lbas[i] = lbas[j];
            lbas[j] = t;
        }
        ByteBuffer block = ByteBuffer.allocateDirect(BLOCK_SIZE);
        byte[] bytes = new byte[BLOCK_SIZE];
        volume.meter().reset();
        for (int i = 0; i < WRITES; i++) {
            random.nextBytes(bytes);
            block.put(0, bytes);
            volume.write(lbas[i], 1, block, 0);
        }
        volume.flush();
        Ratios ratios = Ratios.of(phase, volume.meter().snapshot());
        ratios.print();
        return ratios;
    }
}
