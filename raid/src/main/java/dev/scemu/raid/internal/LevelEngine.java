package dev.scemu.raid.internal;

import dev.scemu.core.IoCause;
import java.nio.ByteBuffer;

/**
 * The level-specific part of an array: address mapping, reads with reconstruction, writes with
 * parity or mirroring, and the per-unit work of resync, scrub and rebuild. A unit is the span of
 * member data blocks {@code [unit * chunkBlocks, ...)} (RAID-5: one stripe row).
 */
interface LevelEngine {

    void read(long lba, int blockCount, ByteBuffer buffer, int bufferOffset);

    void write(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua);

    /** A write whose current contents the caller holds ({@code BlockDevice.writeOver}); default: ignores them. */
    default void writeOver(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, ByteBuffer old,
                           int oldOffset, boolean fua) {
        write(lba, blockCount, buffer, bufferOffset, fua);
    }

    /**
     * The member data blocks {@code {first, end}} whose bitmap bits a write of array blocks
     * {@code [lba, lba + blockCount)} sets through {@link MdRaidArray#bitmapStart}; the default is
     * the same blocks (RAID-1: every mirror holds array block b at member block b). RAID-0 has no
     * bitmap.
     */
    default long[] bitmapSpan(long lba, long blockCount) {
        return new long[] {lba, lba + blockCount};
    }

    /**
     * Trims array blocks {@code [lba, lba + blockCount)}: afterwards they read zeros (durable at
     * the next flush). What redundancy allows passes down as member trims, under the same bitmap
     * and lock rules as a write; the rest is zeros written through {@link #write}
     * ({@link MdRaidArray#writeZeros}), which keeps parity and mirrors right by construction.
     */
    void trim(long lba, long blockCount);

    /** Units of member data that resync, scrub and rebuild walk. */
    long unitCount();

    /** First array block whose data unit {@code unit} protects (RAID-0: no units). */
    long unitArrayLba(long unit);

    /** Array blocks whose data unit {@code unit} protects. */
    long unitArrayBlocks(long unit);

    /**
     * Checks unit {@code unit} and with {@code repair} rewrites parity/mirrors from the data;
     * returns 1 if it was inconsistent, 0 if consistent, -1 if it cannot be checked (degraded).
     */
    int syncUnit(long unit, boolean repair, IoCause cause);

    /** Reconstructs unit {@code unit} of member {@code role} from the others and writes it there. */
    void rebuildUnit(long unit, int role);

    /**
     * Reads the range as it reads without member {@code excluded} ({@code BlockDevice.readCopy}):
     * false when no block of the range lies where a plain read takes it from that member, or when
     * the other members cannot supply it. Default: no copies.
     */
    default boolean readWithout(int excluded, long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        return false;
    }

    /**
     * Rewrites what member {@code excluded} holds of the range from the other members
     * ({@code BlockDevice.repairFromCopy}); only blocks a plain read takes from that member change.
     */
    default void repairWithout(int excluded, long lba, int blockCount) {
        throw new dev.scemu.raid.RaidException(dev.scemu.raid.RaidError.UNSUPPORTED_FEATURE,
                "this level keeps no redundant copy to repair from");
    }
}
