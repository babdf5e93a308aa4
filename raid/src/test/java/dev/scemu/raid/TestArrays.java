package dev.scemu.raid;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.Media;
import dev.scemu.core.PowerDomain;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Shared helpers of the raid tests: members, random data, whole-device comparison. */
final class TestArrays {

    static final int BLOCK = 4096;

    private TestArrays() {
    }

    static List<BlockDevice> memoryMembers(String prefix, int count, long bytes) {
        List<BlockDevice> members = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            members.add(Media.memory(prefix + i, BlockGeometry.ofBytes(BLOCK, bytes)));
        }
        return members;
    }

    /** {@code count} memory members of {@code bytes} each, attached to {@code domain} (named prefix0, prefix1, ...). */
    static List<FaultInjectingDevice> domainMembers(PowerDomain domain, String prefix, int count, long bytes) {
        List<FaultInjectingDevice> members = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            members.add(domain.attach(Media.memory(prefix + i, BlockGeometry.ofBytes(BLOCK, bytes))));
        }
        return members;
    }

    static int membersFor(RaidLevel level) {
        return switch (level) {
            case RAID0 -> 3;
            case RAID1 -> 3;
            case RAID5 -> 4;
        };
    }

    static ByteBuffer randomBuffer(Random random, int blocks) {
        byte[] bytes = new byte[blocks * BLOCK];
        random.nextBytes(bytes);
        return ByteBuffer.allocateDirect(bytes.length).put(bytes).clear();
    }

    /** Block {@code lba} of {@code device}, read into a direct buffer and copied out. */
    static byte[] readBlock(BlockDevice device, long lba) {
        ByteBuffer block = ByteBuffer.allocateDirect(BLOCK);
        device.read(lba, 1, block, 0);
        byte[] bytes = new byte[BLOCK];
        block.get(0, bytes);
        return bytes;
    }

    /** Block {@code lba} of an image held in {@code bytes}. */
    static byte[] blockOf(byte[] bytes, long lba) {
        return java.util.Arrays.copyOfRange(bytes, (int) lba * BLOCK, (int) (lba + 1) * BLOCK);
    }

    /** Reads both devices in 256-block pieces and reports the first differing block. */
    static void assertSameContents(BlockDevice actual, BlockDevice expected, String what) {
        assertThat(actual.blockCount()).isEqualTo(expected.blockCount());
        int piece = 256;
        ByteBuffer a = ByteBuffer.allocateDirect(piece * BLOCK);
        ByteBuffer e = ByteBuffer.allocateDirect(piece * BLOCK);
        for (long lba = 0; lba < actual.blockCount(); lba += piece) {
            int n = (int) Math.min(piece, actual.blockCount() - lba);
            actual.read(lba, n, a, 0);
            expected.read(lba, n, e, 0);
            int mismatch = a.slice(0, n * BLOCK).mismatch(e.slice(0, n * BLOCK));
            assertThat(mismatch < 0 ? -1L : lba + mismatch / BLOCK)
                    .as("%s: first differing block (-1 = identical)", what).isEqualTo(-1L);
        }
    }
}
