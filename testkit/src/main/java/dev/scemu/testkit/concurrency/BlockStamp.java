package dev.scemu.testkit.concurrency;

import java.nio.ByteBuffer;

/**
 * The content of a checked 4 KiB block: the id of the write that wrote it, the block's own lba and
 * a CRC-style checksum over both, repeated as a seeded pattern over the whole block, so that a block
 * decodes back to exactly one write or to {@link #TORN}.
 *
 * <pre>
 * offset  0: write id      (8 bytes, big-endian, never 0)
 * offset  8: lba           (8 bytes)
 * offset 16: fill          (blockSize - 24 bytes: fmix64(write id, lba, i) per 8-byte word)
 * offset -8: checksum      (8 bytes: fmix64 of the id, the lba and every fill word)
 * </pre>
 *
 * A block that is all zeros decodes as write 0 (never written). A block half of one write and half
 * of another (torn), written to another lba (misdirected), or otherwise corrupt decodes as
 * {@link #TORN}.
 */
public final class BlockStamp {

    /** What {@link #decode} returns for a block that is neither zeros nor one whole stamp of its lba. */
    public static final long TORN = -1;

    private BlockStamp() {
    }

    /** Stamps {@code blockSize} bytes of {@code buffer} at absolute {@code offset} with (writeId, lba). */
    public static void stamp(ByteBuffer buffer, int offset, int blockSize, long lba, long writeId) {
        if (writeId <= 0) {
            throw new IllegalArgumentException("write id " + writeId + " is not positive");
        }
        buffer.putLong(offset, writeId);
        buffer.putLong(offset + 8, lba);
        long sum = mix(writeId ^ mix(lba));
        long state = writeId * 0x9E3779B97F4A7C15L ^ lba;
        for (int i = 16; i < blockSize - 8; i += 8) {
            state += 0x9E3779B97F4A7C15L;
            long word = mix(state);
            buffer.putLong(offset + i, word);
            sum = mix(sum ^ word);
        }
        buffer.putLong(offset + blockSize - 8, sum);
    }

    /** The write id stamped into the block at absolute {@code offset}: 0 for zeros, {@link #TORN} for anything else. */
    public static long decode(ByteBuffer buffer, int offset, int blockSize, long lba) {
        long writeId = buffer.getLong(offset);
        if (writeId == 0) {
            for (int i = 8; i < blockSize; i += 8) {
                if (buffer.getLong(offset + i) != 0) {
                    return TORN;
                }
            }
            return 0;
        }
        if (writeId < 0 || buffer.getLong(offset + 8) != lba) {
            return TORN;
        }
        long sum = mix(writeId ^ mix(lba));
        long state = writeId * 0x9E3779B97F4A7C15L ^ lba;
        for (int i = 16; i < blockSize - 8; i += 8) {
            state += 0x9E3779B97F4A7C15L;
            long word = buffer.getLong(offset + i);
            if (word != mix(state)) {
                return TORN;
            }
            sum = mix(sum ^ word);
        }
        return buffer.getLong(offset + blockSize - 8) == sum ? writeId : TORN;
    }

    /** "w17", "zeros" or "torn". */
    public static String describe(long decoded) {
        return decoded == 0 ? "zeros" : decoded == TORN ? "torn" : "w" + decoded;
    }

    /** murmur3's fmix64. */
    static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
        z = (z ^ (z >>> 33)) * 0xC4CEB93FE53B5A3BL;
        return z ^ (z >>> 33);
    }
}
