package dev.scemu.testkit.sim.internal;

import java.nio.ByteBuffer;

/**
 * The content of a simulated host block: a 64-bit token written in the block's first 8 bytes, the
 * block's own lba in the next 8, and the rest derived from both. A read block is decoded back to
 * its token, so a model can check it against every version it allows without comparing each one;
 * a block written to the wrong lba or torn inside does not decode. Token 0 is the all-zero block.
 */
public final class BlockPattern {

    /** What {@link #tokenOf} returns for a block that is neither zeros nor a pattern of its lba. */
    public static final long GARBAGE = Long.MIN_VALUE;

    private BlockPattern() {
    }

    /** A token for a new version: never 0 (zeros) nor {@link #GARBAGE}. */
    public static long token(long random) {
        return random == 0 || random == GARBAGE ? 1 : random;
    }

    /** Fills {@code blockSize} bytes of {@code buffer} at {@code offset} (absolute) with the pattern of (lba, token). */
    public static void fill(ByteBuffer buffer, int offset, int blockSize, long lba, long token) {
        if (token == 0) {
            for (int i = 0; i < blockSize; i += 8) {
                buffer.putLong(offset + i, 0);
            }
            return;
        }
        buffer.putLong(offset, token);
        buffer.putLong(offset + 8, lba);
        long state = token ^ (lba * 0x9E3779B97F4A7C15L);
        for (int i = 16; i < blockSize; i += 8) {
            state += 0x9E3779B97F4A7C15L;
            buffer.putLong(offset + i, mix(state));
        }
    }

    /** The token of the block at {@code offset}, 0 for zeros, {@link #GARBAGE} for anything else. */
    public static long tokenOf(ByteBuffer buffer, int offset, int blockSize, long lba) {
        long token = buffer.getLong(offset);
        if (token == 0) {
            for (int i = 8; i < blockSize; i += 8) {
                if (buffer.getLong(offset + i) != 0) {
                    return GARBAGE;
                }
            }
            return 0;
        }
        if (token == GARBAGE || buffer.getLong(offset + 8) != lba) {
            return GARBAGE;
        }
        long state = token ^ (lba * 0x9E3779B97F4A7C15L);
        for (int i = 16; i < blockSize; i += 8) {
            state += 0x9E3779B97F4A7C15L;
            if (buffer.getLong(offset + i) != mix(state)) {
                return GARBAGE;
            }
        }
        return token;
    }

    /** murmur3's fmix64. */
    public static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xFF51AFD7ED558CCDL;
        z = (z ^ (z >>> 33)) * 0xC4CEB93FE53B5A3BL;
        return z ^ (z >>> 33);
    }
}
