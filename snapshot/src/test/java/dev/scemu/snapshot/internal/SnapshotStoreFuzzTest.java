package dev.scemu.snapshot.internal;

import dev.scemu.core.FuzzSupport;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.ExecutionLog;
import dev.scemu.core.Extent;
import dev.scemu.core.Fuzzer;
import dev.scemu.core.Media;
import dev.scemu.core.Transaction;
import dev.scemu.snapshot.SnapshotConfig;
import dev.scemu.snapshot.SnapshotException;
import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.snapshot.SnapshotVolume;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The snapshot store's metadata: superblock ({@link StoreLayout}), the two mapping-table checkpoint
 * regions (header, snapshot, entry and free-map pages sealed by {@link PageSeal}) and the execution
 * log whose COW-batch and snapshot payloads ({@link JournalRecords}) are replayed at open. A volume
 * is opened from a store whose metadata area (everything before the copy pool) is mutated; a
 * rejected open must leave the data and store devices exactly as they were.
 */
class SnapshotStoreFuzzTest {

    private static final int BLOCK = 512;
    private static final int DATA_BLOCKS = 64;
    private static final int STORE_BLOCKS = 1200;
    /** The execution log region of the store (superblock at 0, then {@code withLogBlocks(16)}). */
    private static final Extent LOG = new Extent(1, 16);
    private static final int[] MAGICS = {FuzzSupport.magic("SNSB"), FuzzSupport.magic("SNCH"), FuzzSupport.magic("SNSP"),
            FuzzSupport.magic("SNME"), FuzzSupport.magic("SNFM"), FuzzSupport.magic("SCLH"), FuzzSupport.magic("SCLB")};

    /** data image, store image, metadata bytes (store blocks before the pool), for a closed and a crashed volume. */
    private static byte[][] closed;
    private static byte[][] crashed;

    @BeforeAll
    static void realVolumes() {
        closed = volume(false);
        crashed = volume(true);
    }

    private static byte[][] volume(boolean crash) {
        BlockDevice data = Media.memory("data", new BlockGeometry(BLOCK, DATA_BLOCKS));
        BlockDevice store = Media.memory("store", new BlockGeometry(BLOCK, STORE_BLOCKS));
        SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults().withLogBlocks(16)
                .withMaxSnapshots(4).withMaxMappingEntries(256));
        Random random = new Random(crash ? 2 : 1);
        for (int round = 0; round < 3; round++) {
            byte[] bytes = new byte[(8 + round * 8) * BLOCK];
            random.nextBytes(bytes);
            volume.write(round * 4, bytes.length / BLOCK, ByteBuffer.allocateDirect(bytes.length).put(bytes).flip(), 0);
            volume.createSnapshot("s" + round);
        }
        byte[] last = new byte[8 * BLOCK];
        random.nextBytes(last);
        volume.write(2, 8, ByteBuffer.allocateDirect(last.length).put(last).flip(), 0);
        volume.flush();
        if (!crash) {
            volume.close();
        }
        byte[] dataImage = FuzzSupport.contentsOf(data);
        byte[] storeImage = FuzzSupport.contentsOf(store);
        if (crash) {
            volume.close();
        }
        data.close();
        store.close();
        long poolLba = ByteBuffer.wrap(storeImage).order(ByteOrder.LITTLE_ENDIAN).getLong(80);
        return new byte[][] {dataImage, storeImage, Arrays.copyOf(storeImage, (int) poolLba * BLOCK)};
    }

    private static void open(byte[][] volume, byte[] metadata) {
        byte[] storeImage = FuzzSupport.overlay(volume[1], 0, volume[2].length, metadata);
        BlockDevice data = FuzzSupport.deviceOf("data", BLOCK, volume[0]);
        BlockDevice store = FuzzSupport.deviceOf("store", BLOCK, storeImage);
        try {
            SnapshotVolume opened = SnapshotVolume.open(data, store);
            ByteBuffer buffer = ByteBuffer.allocateDirect(DATA_BLOCKS * BLOCK);
            for (SnapshotInfo info : opened.listSnapshots()) {
                opened.snapshot(info.id()).read(0, DATA_BLOCKS, buffer, 0);
            }
            opened.read(0, DATA_BLOCKS, buffer, 0);
            opened.close();
        } catch (SnapshotException rejected) {
            if (!Arrays.equals(FuzzSupport.contentsOf(data), volume[0])
                    || !Arrays.equals(FuzzSupport.contentsOf(store), storeImage)) {
                throw new AssertionError("a rejected open wrote to the data or store device: " + rejected, rejected);
            }
            throw rejected;
        } finally {
            data.close();
            store.close();
        }
    }

    @Test
    void storeWithMutatedMetadataOpensOrIsRejectedWithoutAWrite() {
        int n = FuzzSupport.iterations(400);
        Fuzzer.Report raw = new Fuzzer(121, n / 2, SnapshotException.class).run(List.of(closed[2]), m -> open(closed, m));
        Fuzzer.Report sealedClosed = new Fuzzer(122, n, SnapshotException.class)
                .run(List.of(closed[2]), m -> open(closed, FuzzSupport.resealRecords(m, BLOCK, MAGICS)));
        Fuzzer.Report sealedCrashed = new Fuzzer(123, n, SnapshotException.class)
                .run(List.of(crashed[2]), m -> open(crashed, FuzzSupport.resealRecords(m, BLOCK, MAGICS)));
        Fuzzer.Report report = FuzzSupport.print("snapshot.SnapshotVolume.open(store metadata)",
                FuzzSupport.combine(raw, sealedClosed, sealedCrashed));
        assertThat(report.decodedCleanly()).isPositive();
        assertThat(report.rejected()).isPositive();
    }

    /** The crashed volume's unfinished journal transactions of {@code opType}: their BEGIN payloads. */
    private static List<byte[]> unfinishedPayloads(int opType) {
        try (BlockDevice store = FuzzSupport.deviceOf("store", BLOCK, crashed[1])) {
            return ExecutionLog.open(store, LOG).unfinished().stream().filter(t -> t.opType() == opType).map(t -> {
                byte[] payload = new byte[t.beginPayload().remaining()];
                t.beginPayload().duplicate().get(payload);
                return payload;
            }).toList();
        }
    }

    /**
     * The crashed volume with its last unfinished transaction of {@code opType} replaced (aborted,
     * then journaled again by the execution log's own encoder) by one carrying {@code payload}.
     */
    private static byte[][] crashedWithPayload(int opType, byte[] payload) {
        try (BlockDevice store = FuzzSupport.deviceOf("store", BLOCK, crashed[1])) {
            ExecutionLog log = ExecutionLog.open(store, LOG);
            List<Transaction> ofType = log.unfinished().stream().filter(t -> t.opType() == opType).toList();
            log.abort(ofType.get(ofType.size() - 1).txId());
            log.begin(opType, ByteBuffer.wrap(payload, 0, Math.min(payload.length, log.maxPayloadBytes())));
            log.close();
            byte[] storeImage = FuzzSupport.contentsOf(store);
            return new byte[][] {crashed[0], storeImage, Arrays.copyOf(storeImage, crashed[2].length)};
        }
    }

    @Test
    void crashedVolumeReplaysMutatedJournalPayloadsOrIsRejectedWithoutAWrite() {
        int n = FuzzSupport.iterations(200);
        Fuzzer.Report cow = new Fuzzer(124, n, SnapshotException.class)
                .run(unfinishedPayloads(JournalRecords.OP_COW_BATCH), payload -> {
                    byte[][] volume = crashedWithPayload(JournalRecords.OP_COW_BATCH, payload);
                    open(volume, volume[2]);
                });
        Fuzzer.Report snapshot = new Fuzzer(125, n, SnapshotException.class)
                .run(unfinishedPayloads(JournalRecords.OP_SNAPSHOT), payload -> {
                    byte[][] volume = crashedWithPayload(JournalRecords.OP_SNAPSHOT, payload);
                    open(volume, volume[2]);
                });
        Fuzzer.Report report = FuzzSupport.print("snapshot.JournalRecords(replay)", FuzzSupport.combine(cow, snapshot));
        assertThat(report.decodedCleanly()).isPositive();
        assertThat(report.rejected()).isPositive();
    }

    /** The superblock decoder alone ({@link StoreLayout#decode}). */
    @Test
    void mutatedSuperblocksDecodeOrFailWithSnapshotException() {
        int n = FuzzSupport.iterations(3000);
        List<byte[]> superblocks = List.of(Arrays.copyOf(closed[1], BLOCK), Arrays.copyOf(crashed[1], BLOCK));
        Fuzzer.Decoder decode = block -> StoreLayout.decode(ByteBuffer.wrap(block), BLOCK, STORE_BLOCKS);
        Fuzzer.Report raw = new Fuzzer(126, n, SnapshotException.class).run(superblocks, decode);
        Fuzzer.Report sealed = new Fuzzer(127, n, SnapshotException.class)
                .run(superblocks, block -> decode.decode(FuzzSupport.resealRecords(block, BLOCK, MAGICS)));
        Fuzzer.Report report = FuzzSupport.print("snapshot.StoreLayout.decode", FuzzSupport.combine(raw, sealed));
        assertThat(report.rejected()).isPositive();
        assertThat(sealed.decodedCleanly()).isPositive();
    }
}
