package dev.scemu.raid.internal;

import dev.scemu.core.IoCause;
import java.nio.ByteBuffer;

/**
 * RAID-0 data path, md's single-zone mapping for equal-size members: array chunk {@code c} is on
 * member {@code c % n} at member chunk {@code c / n}. No redundancy: any member error fails the I/O.
 */
final class Raid0Engine implements LevelEngine {

    private final MdRaidArray a;
    private final int n;
    private final int chunkBlocks;
    private final int blockSize;

    Raid0Engine(MdRaidArray array) {
        this.a = array;
        this.n = array.raidDisks;
        this.chunkBlocks = array.chunkBlocks;
        this.blockSize = array.blockSize;
    }

    /** Member of array chunk {@code chunk}. */
    static int memberOf(long chunk, int raidDisks) {
        return (int) (chunk % raidDisks);
    }

    @Override
    public long unitCount() {
        return 0;
    }

    @Override
    public long unitArrayLba(long unit) {
        throw new UnsupportedOperationException("RAID-0 has no redundancy units");
    }

    @Override
    public long unitArrayBlocks(long unit) {
        throw new UnsupportedOperationException("RAID-0 has no redundancy units");
    }

    @Override
    public void read(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        long pos = lba;
        int remaining = blockCount;
        int off = bufferOffset;
        while (remaining > 0) {
            long chunk = pos / chunkBlocks;
            int inChunk = (int) (pos % chunkBlocks);
            int k = Math.min(remaining, chunkBlocks - inChunk);
            int m = memberOf(chunk, n);
            if (a.readMember(m, (chunk / n) * chunkBlocks + inChunk, k, buffer, off, IoCause.HOST)
                    != MdRaidArray.IO_OK) {
                throw a.arrayFailed("read", pos, m);
            }
            pos += k;
            remaining -= k;
            off += k * blockSize;
        }
    }

    @Override
    public void write(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        long pos = lba;
        int remaining = blockCount;
        int off = bufferOffset;
        while (remaining > 0) {
            long chunk = pos / chunkBlocks;
            int inChunk = (int) (pos % chunkBlocks);
            int k = Math.min(remaining, chunkBlocks - inChunk);
            int m = memberOf(chunk, n);
            if (!a.writeMember(m, (chunk / n) * chunkBlocks + inChunk, k, buffer, off, IoCause.HOST, fua)) {
                throw a.arrayFailed("write", pos, m);
            }
            pos += k;
            remaining -= k;
            off += k * blockSize;
        }
    }

    /** Every chunk piece passes down as a member trim: no redundancy to keep. */
    @Override
    public void trim(long lba, long blockCount) {
        long pos = lba;
        long remaining = blockCount;
        while (remaining > 0) {
            long chunk = pos / chunkBlocks;
            int inChunk = (int) (pos % chunkBlocks);
            int k = (int) Math.min(remaining, chunkBlocks - inChunk);
            int m = memberOf(chunk, n);
            if (!a.trimMember(m, (chunk / n) * chunkBlocks + inChunk, k, IoCause.HOST)) {
                throw a.arrayFailed("trim", pos, m);
            }
            pos += k;
            remaining -= k;
        }
    }

    @Override
    public int syncUnit(long unit, boolean repair, IoCause cause) {
        return -1;
    }

    @Override
    public void rebuildUnit(long unit, int role) {
        throw new UnsupportedOperationException("RAID-0 has no redundancy");
    }
}
