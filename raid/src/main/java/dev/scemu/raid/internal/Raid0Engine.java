package dev.scemu.raid.internal;

import dev.scemu.core.IoCause;
import java.nio.ByteBuffer;

/**
 * RAID-0 data path, md's strip zones ({@link Raid0Zones}: one zone for members of equal size, where
 * array chunk {@code c} is on member {@code c % n} at member chunk {@code c / n}; more for members of
 * different sizes). No redundancy: any member error fails the I/O.
 */
final class Raid0Engine implements LevelEngine {

    private final MdRaidArray a;
    private final Raid0Zones zones;
    private final int blockSize;

    Raid0Engine(MdRaidArray array, Raid0Zones zones) {
        this.a = array;
        this.zones = zones;
        this.blockSize = array.blockSize;
    }

    Raid0Zones zones() {
        return zones;
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
            Raid0Zones.Piece p = zones.map(pos, remaining);
            if (a.readMember(p.role(), p.memberLba(), p.blocks(), buffer, off, IoCause.HOST) != MdRaidArray.IO_OK) {
                throw a.arrayFailed("read", pos, p.role());
            }
            pos += p.blocks();
            remaining -= p.blocks();
            off += p.blocks() * blockSize;
        }
    }

    @Override
    public void write(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        long pos = lba;
        int remaining = blockCount;
        int off = bufferOffset;
        while (remaining > 0) {
            Raid0Zones.Piece p = zones.map(pos, remaining);
            if (!a.writeMember(p.role(), p.memberLba(), p.blocks(), buffer, off, IoCause.HOST, fua)) {
                throw a.arrayFailed("write", pos, p.role());
            }
            pos += p.blocks();
            remaining -= p.blocks();
            off += p.blocks() * blockSize;
        }
    }

    /** Every chunk piece passes down as a member trim: no redundancy to keep. */
    @Override
    public void trim(long lba, long blockCount) {
        long pos = lba;
        long remaining = blockCount;
        while (remaining > 0) {
            Raid0Zones.Piece p = zones.map(pos, remaining);
            if (!a.trimMember(p.role(), p.memberLba(), p.blocks(), IoCause.HOST)) {
                throw a.arrayFailed("trim", pos, p.role());
            }
            pos += p.blocks();
            remaining -= p.blocks();
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
