package dev.scemu.backup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Random;

/** Seeded test volumes and comparisons. */
final class Volumes {

    enum Kind { SPARSE, DENSE, INCOMPRESSIBLE, ALL_ZERO }

    private static final byte[] WORDS = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
            + "incididunt ut labore et dolore magna aliqua storage controller block device snapshot raid parity ")
            .getBytes(StandardCharsets.US_ASCII);

    private Volumes() {
    }

    static BlockDevice create(String name, int blockSize, long blockCount, Kind kind, long seed) {
        BlockDevice device = Media.memory(name, new BlockGeometry(blockSize, blockCount));
        Random random = new Random(seed);
        ByteBuffer block = ByteBuffer.allocateDirect(blockSize);
        for (long lba = 0; lba < blockCount; lba++) {
            switch (kind) {
                case ALL_ZERO -> {
                    continue;
                }
                case SPARSE -> {
                    if (random.nextInt(100) >= 12) {
                        continue;
                    }
                    fill(block, random, random.nextBoolean());
                }
                case DENSE -> fill(block, random, true);
                case INCOMPRESSIBLE -> fill(block, random, false);
                default -> throw new IllegalStateException();
            }
            device.write(lba, 1, block, 0);
        }
        return device;
    }

    /** Fills a block with text-like (compressible) or random bytes; never all zero. */
    static void fill(ByteBuffer block, Random random, boolean text) {
        int size = block.capacity();
        if (text) {
            int start = random.nextInt(WORDS.length);
            for (int i = 0; i < size; i++) {
                block.put(i, WORDS[(start + i * (1 + (i >> 9) % 3)) % WORDS.length]);
            }
            block.put(random.nextInt(size), (byte) ('A' + random.nextInt(26)));
        } else {
            byte[] bytes = new byte[size];
            random.nextBytes(bytes);
            bytes[0] |= 1;
            block.put(0, bytes);
        }
    }

    static void writeBlock(BlockDevice device, long lba, Random random) {
        ByteBuffer block = ByteBuffer.allocateDirect(device.blockSize());
        fill(block, random, random.nextBoolean());
        device.write(lba, 1, block, 0);
    }

    static void zeroBlock(BlockDevice device, long lba) {
        device.write(lba, 1, ByteBuffer.allocateDirect(device.blockSize()), 0);
    }

    /** A device of the geometry with every block filled with a recognisable pattern. */
    static BlockDevice patterned(String name, int blockSize, long blockCount) {
        BlockDevice device = Media.memory(name, new BlockGeometry(blockSize, blockCount));
        ByteBuffer block = ByteBuffer.allocateDirect(blockSize);
        for (long lba = 0; lba < blockCount; lba++) {
            for (int i = 0; i < blockSize; i += 8) {
                block.putLong(i, 0x5A5A_0000_0000_0000L | lba);
            }
            device.write(lba, 1, block, 0);
        }
        return device;
    }

    static byte[] content(BlockDevice device, long fromLba, long blockCount) {
        byte[] all = new byte[(int) (blockCount * device.blockSize())];
        ByteBuffer buffer = ByteBuffer.wrap(all);
        int step = 256;
        for (long lba = 0; lba < blockCount; lba += step) {
            int n = (int) Math.min(step, blockCount - lba);
            device.read(fromLba + lba, n, buffer, (int) (lba * device.blockSize()));
        }
        return all;
    }

    static byte[] content(BlockDevice device) {
        return content(device, 0, device.blockCount());
    }

    static void assertSameBlocks(BlockDevice expected, BlockDevice actual, long blockCount) {
        byte[] e = content(expected, 0, blockCount);
        byte[] a = content(actual, 0, blockCount);
        int mismatch = java.util.Arrays.mismatch(e, a);
        assertThat(mismatch).as("first differing byte (block %d)", mismatch < 0 ? -1 : mismatch / expected.blockSize())
                .isEqualTo(-1);
    }
}
