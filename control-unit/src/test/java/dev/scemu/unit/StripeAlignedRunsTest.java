package dev.scemu.unit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import dev.scemu.core.IoCause;
import dev.scemu.core.IoMeter;
import dev.scemu.core.Media;
import dev.scemu.core.OptimalWrite;
import dev.scemu.core.SliceDevice;
import dev.scemu.raid.RaidArray;
import dev.scemu.raid.RaidConfig;
import dev.scemu.raid.RaidLevel;
import dev.scemu.snapshot.SnapshotConfig;
import dev.scemu.snapshot.SnapshotVolume;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The snapshot volume cuts its write runs at the stripe rows of a RAID-5 array below, as the unit
 * stacks them (the data partition a slice of the array that starts inside a row): a sequential
 * write of whole rows then reaches the array as full-stripe writes, so the members are read only
 * for the volume's diff reads and written 4/3 of the host's bytes (md's amplification for 3 data
 * disks; the superblock's switch to active at the first write aside). With runs of 64 blocks from the volume's lba 0, every run ended inside a row: a
 * read-modify-write (old parity read, parity written twice per row) at every cut.
 */
class StripeAlignedRunsTest {

    private static final int BLOCK_SIZE = 4096;
    private static final int CHUNK_BYTES = 64 * 1024;
    private static final int ROW_BLOCKS = 3 * CHUNK_BYTES / BLOCK_SIZE; // 48: data blocks of one row
    /** Where the data partition starts on the array: 32 blocks into a row (as 53 MiB is in the default unit). */
    private static final long PARTITION_LBA = 10L * ROW_BLOCKS + 32;
    /** 768 KiB: whole rows (a host write that ends inside a row makes a partial row whatever the volume does). */
    private static final int HOST_WRITE_BLOCKS = 4 * ROW_BLOCKS;

    @Test
    void theVolumeSeesTheArraysRowsThroughThePartition() {
        withStack((array, data, volume) -> {
            assertThat(array.optimalWrite()).isEqualTo(OptimalWrite.of(ROW_BLOCKS));
            assertThat(data.optimalWrite()).isEqualTo(new OptimalWrite(ROW_BLOCKS, ROW_BLOCKS - 32));
            assertThat(data.optimalWrite().isBoundary(16)).isTrue();
        });
    }

    @Test
    void sequentialWritesOfWholeRowsAreFullStripeWritesWithoutASnapshot() {
        withStack((array, data, volume) -> assertFullStripeWrites(array, volume));
    }

    @Test
    void sequentialFirstWritesAfterASnapshotWriteTheirNewDataAsFullStripes() {
        withStack((array, data, volume) -> {
            volume.createSnapshot("s");
            volume.flush();
            assertFullStripeWrites(array, volume);
        });
    }

    private static void assertFullStripeWrites(RaidArray array, SnapshotVolume volume) {
        long firstLba = 16; // the first row boundary of the partition
        int rows = 64; // 3,072 blocks: 16 host writes of 4 rows
        long hostBlocks = (long) rows * ROW_BLOCKS;
        ByteBuffer buffer = ByteBuffer.allocateDirect(HOST_WRITE_BLOCKS * BLOCK_SIZE);
        byte[] bytes = new byte[buffer.capacity()];
        Random random = new Random(21);
        array.meter().reset();
        for (long done = 0; done < hostBlocks; done += HOST_WRITE_BLOCKS) {
            random.nextBytes(bytes);
            buffer.put(0, bytes);
            volume.write(firstLba + done, HOST_WRITE_BLOCKS, buffer, 0);
        }
        volume.flush();
        IoMeter.Snapshot meter = array.meter().snapshot();
        long dataWrittenBlocks = meter.issuedWrite(IoCause.HOST).bytes() / BLOCK_SIZE;
        long parityWrittenBlocks = meter.issuedWrite(IoCause.PARITY).bytes() / BLOCK_SIZE;
        long memberReadBlocks = meter.issuedReadTotal().bytes() / BLOCK_SIZE;
        assertThat(dataWrittenBlocks).as("member data blocks written").isEqualTo(hostBlocks);
        assertThat(parityWrittenBlocks).as("parity blocks written for %d rows", rows).isEqualTo(hostBlocks / 3);
        assertThat(memberReadBlocks).as("member blocks read: the volume's diff reads of the old data only")
                .isEqualTo(hostBlocks);
    }

    private interface Body {
        void run(RaidArray array, BlockDevice data, SnapshotVolume volume);
    }

    private static void withStack(Body body) {
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            members.add(Media.memory("member" + i, new BlockGeometry(BLOCK_SIZE, 2048)));
        }
        BlockDevice store = Media.memory("store", new BlockGeometry(BLOCK_SIZE, 8192));
        RaidArray array = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK_BYTES)
                .assumeClean(true).bitmap(false).build(), members);
        SliceDevice data = SliceDevice.of("data", array, Extent.of(PARTITION_LBA, 4000));
        try (SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults())) {
            body.run(array, data, volume);
        } finally {
            data.close();
            array.close();
            store.close();
            for (BlockDevice member : members) {
                member.close();
            }
        }
    }
}
