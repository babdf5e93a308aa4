package dev.scemu.testkit.sim.internal;

import dev.scemu.core.Extent;
import dev.scemu.raid.Raid5Layout;
import dev.scemu.raid.RaidArray;
import dev.scemu.raid.RaidLevel;

/**
 * Where the array keeps a row of data on its members, from the array's public figures (data
 * offset, member data size, chunk, md's layout rules), so the simulation can aim a fault at a
 * parity block or at the mirror a read will go to. A <em>row</em> is one chunk-sized unit of
 * every member (RAID-5: a stripe; RAID-1: one mirrored region).
 */
public final class MemberMap {

    private final RaidLevel level;
    private final Raid5Layout layout;
    private final int members;
    private final long dataOffsetBlocks;
    private final long chunkBlocks;
    private final long rows;
    private final long arrayBlocks;

    public MemberMap(RaidArray array) {
        int blockSize = array.blockSize();
        this.level = array.level();
        this.layout = array.raid5Layout();
        this.members = array.raidDisks();
        this.dataOffsetBlocks = array.dataOffsetSectors() * 512 / blockSize;
        this.chunkBlocks = array.chunkBytes() / blockSize;
        this.rows = array.memberDataBytes() / blockSize / chunkBlocks;
        this.arrayBlocks = array.blockCount();
    }

    public long rows() {
        return rows;
    }

    public long chunkBlocks() {
        return chunkBlocks;
    }

    /** RAID-5: the member holding the parity of {@code row} (md's raid5_compute_sector). */
    public int parityMember(long row) {
        return switch (layout) {
            case LEFT_ASYMMETRIC, LEFT_SYMMETRIC -> members - 1 - (int) (row % members);
            case RIGHT_ASYMMETRIC, RIGHT_SYMMETRIC -> (int) (row % members);
        };
    }

    /** RAID-1: the mirror a read of {@code row} goes to first while every mirror is in sync. */
    public int firstReadMirror(long row) {
        return (int) (row % members);
    }

    /** A data (not parity) member of {@code row}: RAID-5 picks among the data members, RAID-1 the first read mirror. */
    public int dataMember(long row, int pick) {
        if (level == RaidLevel.RAID1) {
            return firstReadMirror(row);
        }
        int parity = parityMember(row);
        int member = Math.floorMod(pick, members - 1);
        return member >= parity ? member + 1 : member;
    }

    /** The member-device lba of block {@code blockInChunk} of {@code row}. */
    public long memberLba(long row, long blockInChunk) {
        return dataOffsetBlocks + row * chunkBlocks + blockInChunk;
    }

    /** The array blocks whose data lives in {@code row} (clipped to the exposed size; may be empty). */
    public Extent arrayExtentOfRow(long row) {
        long width = level == RaidLevel.RAID5 ? chunkBlocks * (members - 1) : chunkBlocks;
        long start = Math.min(arrayBlocks, row * width);
        return new Extent(start, Math.min(width, arrayBlocks - start));
    }
}
