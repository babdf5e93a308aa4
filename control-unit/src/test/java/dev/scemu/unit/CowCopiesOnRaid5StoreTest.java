package dev.scemu.unit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.IoCause;
import dev.scemu.core.IoMeter;
import dev.scemu.core.Media;
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
 * A snapshot store on a RAID-5 array (#20): the copies of a batch of first writes reach the array
 * as one large write at commit, so the array computes parity over whole stripe rows and reads its
 * members only for the partial rows at the two ends of that write (and the journal's log block),
 * instead of one 4 KiB read-modify-write (old data + old parity: 2 member reads) per copy. The
 * data device is a separate medium, so every member read counted here is the store's.
 */
class CowCopiesOnRaid5StoreTest {

    private static final int BLOCK_SIZE = 4096;
    private static final int CHUNK_BYTES = 64 * 1024;
    private static final int DATA_BLOCKS = 4096;
    private static final int WRITES = 512;

    @Test
    void aBatchOfFirstWritesIssuesItsCopiesAsOneLargeWriteWithoutReadModifyWrites() {
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            members.add(Media.memory("member" + i, new BlockGeometry(BLOCK_SIZE, 4096)));
        }
        BlockDevice data = Media.memory("data", new BlockGeometry(BLOCK_SIZE, DATA_BLOCKS));
        RaidArray store = RaidArray.create(RaidConfig.builder(RaidLevel.RAID5).chunkBytes(CHUNK_BYTES)
                .assumeClean(true).bitmap(false).build(), members);
        try (SnapshotVolume volume = SnapshotVolume.format(data, store, SnapshotConfig.defaults())) {
            Random random = new Random(20);
            ByteBuffer block = ByteBuffer.allocateDirect(BLOCK_SIZE);
            ByteBuffer prefill = ByteBuffer.allocateDirect(256 * BLOCK_SIZE);
            byte[] bytes = new byte[prefill.capacity()];
            for (int lba = 0; lba < DATA_BLOCKS; lba += 256) {
                random.nextBytes(bytes);
                prefill.put(0, bytes);
                volume.write(lba, 256, prefill, 0);
            }
            volume.flush();
            volume.createSnapshot("s");
            volume.flush();
            store.meter().reset();
            volume.meter().reset();
            byte[] fresh = new byte[BLOCK_SIZE];
            for (int i = 0; i < WRITES; i++) {
                random.nextBytes(fresh);
                block.put(0, fresh);
                volume.write(7L * i, 1, block, 0); // scattered first writes: every one copies its old block
            }
            volume.flush();

            IoMeter.Snapshot copies = volume.meter().snapshot();
            assertThat(copies.issuedWrite(IoCause.COW_COPY).bytes()).isEqualTo((long) WRITES * BLOCK_SIZE);
            assertThat(copies.issuedWrite(IoCause.COW_COPY).operations())
                    .as("%d copies in consecutive pool blocks: one store write", WRITES).isEqualTo(1);
            IoMeter.Snapshot array = store.meter().snapshot();
            long memberReadBlocks = array.issuedReadTotal().bytes() / BLOCK_SIZE;
            long rowDataBlocks = 3L * CHUNK_BYTES / BLOCK_SIZE; // 48: the data blocks of one stripe row
            System.out.printf("COW COPIES ON RAID-5: %d copies, %d copy writes, %d member reads (blocks), %d store writes%n",
                    WRITES, copies.issuedWrite(IoCause.COW_COPY).operations(), memberReadBlocks,
                    array.receivedWrite().operations());
            // at most the two partial rows at the ends of the copy write, and a few for the log blocks,
            // where a copy per read-modify-write would read 2 blocks per copy (1,024 here)
            assertThat(memberReadBlocks).as("member reads for %d copies and their journal records", WRITES)
                    .isLessThanOrEqualTo(2 * rowDataBlocks + 32);
            assertThat(array.receivedWrite().operations()).as("store writes: the copies, the log blocks, the sync")
                    .isLessThan(20);
        } finally {
            store.close();
            data.close();
            for (BlockDevice member : members) {
                member.close();
            }
        }
    }
}
