package dev.scemu.unit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.snapshot.SnapshotError;
import dev.scemu.snapshot.SnapshotException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bit rot under the snapshot store's superblock on one member of the RAID-5 below it: the volume
 * opens from the copy the other members rebuild ({@code BlockDevice.readCopy}), with its data and
 * snapshots, and the damaged member block is rewritten, so parity and data agree again. md alone
 * would pass the damaged block up, and the unit did not open at all. With the block damaged on two
 * members (beyond what RAID-5 can rebuild) the open still fails, with CORRUPT_METADATA.
 */
class RedundantMetadataReadTest {

    private static final int BLOCKS = 64;

    @TempDir
    Path dir;

    private UnitConfig config() {
        return UnitConfig.builder().directory(dir.resolve("unit")).disks(4, 16L << 20).chunkBytes(64 << 10)
                .snapshotStoreBytes(12L << 20).build();
    }

    /** Overwrites member block {@code at} with noise in the closed unit's image file, as bit rot would. */
    private void damage(long[] at, int seed) throws IOException {
        try (FileChannel file = FileChannel.open(dir.resolve("unit").resolve("disk" + at[0] + ".img"),
                StandardOpenOption.WRITE)) {
            ByteBuffer noise = pattern(seed).limit(4096);
            file.write(noise, at[1] * 4096);
        }
    }

    /** {member, member lba} of the array block holding the store's first block (md's left-symmetric RAID-5). */
    private static long[] superblockOnMember(StorageControlUnit unit, int which) {
        int disks = unit.array().raidDisks();
        int chunkBlocks = unit.array().chunkBytes() / 4096;
        long arrayLba = unit.partitions().find("snapshot-store").orElseThrow().offsetBytes() / 4096;
        long row = arrayLba / ((long) chunkBlocks * (disks - 1));
        long k = arrayLba % ((long) chunkBlocks * (disks - 1)) / chunkBlocks;
        long parity = disks - 1 - row % disks;
        long member = which == 0 ? (parity + 1 + k) % disks : parity;
        long memberLba = unit.array().dataOffsetSectors() / 8 + row * chunkBlocks + arrayLba % chunkBlocks;
        return new long[] {member, memberLba};
    }

    private static ByteBuffer pattern(int seed) {
        byte[] bytes = new byte[BLOCKS * 4096];
        new Random(seed).nextBytes(bytes);
        return ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
    }

    private static ByteBuffer read(dev.scemu.core.BlockDevice device) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(BLOCKS * 4096);
        device.read(0, BLOCKS, buffer, 0);
        return buffer;
    }

    @Test
    void aSuperblockDamagedOnOneMemberIsReadFromRedundancyAndRewritten() throws IOException {
        long id;
        long[] at;
        try (StorageControlUnit unit = StorageControlUnit.create(config())) {
            unit.host().write(0, BLOCKS, pattern(1), 0);
            id = unit.snapshots().createSnapshot("before").id();
            unit.host().write(0, BLOCKS, pattern(2), 0);
            at = superblockOnMember(unit, 0);
        }
        damage(at, 9);
        try (StorageControlUnit unit = StorageControlUnit.open(dir.resolve("unit"))) {
            assertThat(read(unit.host())).isEqualTo(pattern(2));
            assertThat(read(unit.snapshots().snapshot(id))).isEqualTo(pattern(1));
            assertThat(unit.array().scrub(false).mismatchedStripes()).as("the damaged member block was rewritten").isZero();
        }
        try (StorageControlUnit unit = StorageControlUnit.open(dir.resolve("unit"))) {
            assertThat(read(unit.snapshots().snapshot(id))).isEqualTo(pattern(1));
        }
    }

    @Test
    void aSuperblockDamagedBeyondRedundancyStillRefusesTheOpen() throws IOException {
        long[] data;
        long[] parity;
        try (StorageControlUnit unit = StorageControlUnit.create(config())) {
            unit.host().write(0, BLOCKS, pattern(3), 0);
            data = superblockOnMember(unit, 0);
            parity = superblockOnMember(unit, 1);
        }
        damage(data, 4);
        damage(parity, 5);
        assertThatThrownBy(() -> StorageControlUnit.open(dir.resolve("unit")))
                .isInstanceOf(SnapshotException.class)
                .satisfies(e -> assertThat(((SnapshotException) e).code()).isEqualTo(SnapshotError.CORRUPT_METADATA));
    }
}
