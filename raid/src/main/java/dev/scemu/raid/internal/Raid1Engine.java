package dev.scemu.raid.internal;

import static dev.scemu.raid.internal.MdRaidArray.IO_MEDIUM_ERROR;
import static dev.scemu.raid.internal.MdRaidArray.IO_OK;

import dev.scemu.core.IoCause;
import java.nio.ByteBuffer;

/**
 * RAID-1 (n-way mirror) data path: array lba = member data lba on every member. Writes go to every
 * present member under a region lock (a region is one chunk of member data, so concurrent writers
 * of one block cannot leave the mirrors different); reads go to one in-sync mirror, chosen per
 * region to spread load, and fall back to the others; a mirror that returned a medium error is
 * rewritten with the good copy.
 *
 * <p>Ordering: the region's bitmap bit is durable before the region lock is taken and any mirror
 * is written.
 */
final class Raid1Engine implements LevelEngine {

    private final MdRaidArray a;
    private final int n;
    private final int regionBlocks;
    private final int blockSize;

    Raid1Engine(MdRaidArray array) {
        this.a = array;
        this.n = array.raidDisks;
        this.regionBlocks = array.chunkBlocks;
        this.blockSize = array.blockSize;
    }

    @Override
    public long unitCount() {
        return (a.memberDataBlocks + regionBlocks - 1) / regionBlocks;
    }

    @Override
    public long unitArrayLba(long unit) {
        return unit * regionBlocks; // every member holds the whole array
    }

    @Override
    public long unitArrayBlocks(long unit) {
        return unitBlocks(unit);
    }

    private int unitBlocks(long unit) {
        return (int) Math.min(regionBlocks, a.memberDataBlocks - unit * regionBlocks);
    }

    @Override
    public void read(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        forEachPiece(lba, blockCount, bufferOffset, (region, pos, k, off) -> {
            readPiece(region, pos, k, buffer, off);
            return true;
        });
    }

    /** One piece of a range: its blocks within one region. */
    @FunctionalInterface
    private interface Piece {
        /** Whether to go on with the next piece. */
        boolean visit(long region, long lba, int blockCount, int bufferOffset);
    }

    /** Splits {@code [lba, +blockCount)} at region boundaries; false if a visit stopped it. */
    private boolean forEachPiece(long lba, long blockCount, int bufferOffset, Piece piece) {
        long pos = lba;
        long remaining = blockCount;
        int off = bufferOffset;
        while (remaining > 0) {
            long region = pos / regionBlocks;
            int k = (int) Math.min(remaining, (region + 1) * regionBlocks - pos);
            if (!piece.visit(region, pos, k, off)) {
                return false;
            }
            pos += k;
            remaining -= k;
            off += k * blockSize;
        }
        return true;
    }

    private void readPiece(long region, long lba, int k, ByteBuffer buffer, int off) {
        int first = (int) (region % n);
        int mediumMask = 0;
        for (int i = 0; i < n; i++) {
            int m = (first + i) % n;
            if (!a.readable(m, lba + k)) {
                continue;
            }
            int status = a.readMember(m, lba, k, buffer, off, IoCause.HOST);
            if (status == IO_OK) {
                if (mediumMask != 0) {
                    repair(region, lba, k, buffer, off, mediumMask);
                }
                return;
            }
            if (status == IO_MEDIUM_ERROR) {
                mediumMask |= 1 << m;
            }
        }
        throw a.arrayFailed("read", lba, first);
    }

    private void repair(long region, long lba, int k, ByteBuffer buffer, int off, int mediumMask) {
        a.locks.lockRow(region);
        try {
            // re-read under the lock so a concurrent writer's data is what gets copied
            int source = -1;
            for (int m = 0; m < n && source < 0; m++) {
                if ((mediumMask & (1 << m)) == 0 && a.readable(m, lba + k)
                        && a.readMember(m, lba, k, buffer, off, IoCause.HOST) == IO_OK) {
                    source = m;
                }
            }
            if (source < 0) {
                throw a.arrayFailed("read", lba, -1);
            }
            for (int m = 0; m < n; m++) {
                if ((mediumMask & (1 << m)) != 0 && a.writable(m)) {
                    a.repairMediumErrors(m, lba, k, buffer, off);
                }
            }
        } finally {
            a.locks.unlockRow(region);
        }
    }

    /** Each piece from the first readable mirror other than {@code excluded}, in the plain read's order. */
    @Override
    public boolean readWithout(int excluded, long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        boolean[] differs = {false};
        boolean complete = forEachPiece(lba, blockCount, bufferOffset, (region, pos, k, off) -> {
            int plain = -1;
            int other = -1;
            for (int i = 0; i < n; i++) {
                int m = (int) ((region + i) % n);
                if (a.readable(m, pos + k)) {
                    plain = plain < 0 ? m : plain;
                    other = other < 0 && m != excluded ? m : other;
                }
            }
            if (other < 0 || a.readMember(other, pos, k, buffer, off, IoCause.HOST) != IO_OK) {
                return false;
            }
            differs[0] |= plain == excluded;
            return true;
        });
        return complete && differs[0];
    }

    /** Each piece copied from another mirror to {@code excluded} under the region lock. */
    @Override
    public void repairWithout(int excluded, long lba, int blockCount) {
        ByteBuffer good = a.pool.acquire();
        try {
            forEachPiece(lba, blockCount, 0, (region, pos, k, off) -> {
                a.locks.lockRow(region);
                try {
                    if (readWithout(excluded, pos, k, good, 0)) {
                        a.rewriteFromRedundancy(excluded, pos, k, good, 0);
                    }
                } finally {
                    a.locks.unlockRow(region);
                }
                return true;
            });
        } finally {
            a.pool.release(good);
        }
    }

    /**
     * Every present mirror is trimmed, region by region under the region lock with the bitmap bit
     * set first, exactly like a write: a crash between two mirrors leaves them differing only in
     * blocks whose bit is set, and resync copies one to the other (old data or zeros, either is a
     * valid outcome of an unflushed trim).
     */
    @Override
    public void trim(long lba, long blockCount) {
        forEachRegion("trim", lba, blockCount, (m, pos, k) -> a.trimMember(m, pos, k, IoCause.HOST));
    }

    @Override
    public void write(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        forEachRegion("write", lba, blockCount, (m, pos, k) -> a.writeMember(m, pos, k, buffer,
                bufferOffset + (int) (pos - lba) * blockSize, IoCause.HOST, fua));
    }

    /** One mirror's part of a region's write or trim: whether the member took it. */
    @FunctionalInterface
    private interface MirrorOp {
        boolean apply(int member, long lba, int blockCount);
    }

    /**
     * Runs {@code op} on every writable mirror, region by region: the region's bitmap bit is set
     * first and its lock held across all mirrors; the request fails only if no mirror took a region.
     */
    private void forEachRegion(String what, long lba, long blockCount, MirrorOp op) {
        forEachPiece(lba, blockCount, 0, (region, pos, k, off) -> {
            a.bitmapStart(pos, k);
            a.locks.lockRow(region);
            try {
                int ok = 0;
                for (int m = 0; m < n; m++) {
                    if (a.writable(m) && op.apply(m, pos, k)) {
                        ok++;
                    }
                }
                if (ok == 0) {
                    throw a.arrayFailed(what, pos, -1);
                }
            } finally {
                a.locks.unlockRow(region);
                a.bitmapEnd(pos, k);
            }
            return true;
        });
    }

    @Override
    public int syncUnit(long unit, boolean repair, IoCause cause) {
        long lba = unit * regionBlocks;
        int k = unitBlocks(unit);
        if (repair) {
            a.bitmapStart(lba, k);
        }
        a.locks.lockRow(unit);
        ByteBuffer good = a.pool.acquire();
        ByteBuffer other = a.pool.acquire();
        try {
            int source = -1;
            for (int m = 0; m < n && source < 0; m++) {
                if (a.readable(m, lba + k) && a.readMember(m, lba, k, good, 0, cause) == IO_OK) {
                    source = m;
                }
            }
            if (source < 0) {
                return -1;
            }
            boolean mismatch = false;
            int length = k * blockSize;
            for (int m = 0; m < n; m++) {
                if (m == source || !a.readable(m, lba + k)) {
                    continue;
                }
                boolean same = a.readMember(m, lba, k, other, 0, cause) == IO_OK
                        && Xor.equal(good, 0, other, 0, length);
                if (!same) {
                    mismatch = true;
                    if (repair) {
                        a.writeMember(m, lba, k, good, 0, cause, false);
                    }
                }
            }
            return mismatch ? 1 : 0;
        } finally {
            a.pool.release(other);
            a.pool.release(good);
            a.locks.unlockRow(unit);
            if (repair) {
                a.bitmapEnd(lba, k);
            }
        }
    }

    @Override
    public void rebuildUnit(long unit, int role) {
        long lba = unit * regionBlocks;
        int k = unitBlocks(unit);
        a.locks.lockRow(unit);
        ByteBuffer data = a.pool.acquire();
        try {
            int source = -1;
            for (int m = 0; m < n && source < 0; m++) {
                if (m != role && a.readable(m, lba + k) && a.readMember(m, lba, k, data, 0, IoCause.REBUILD) == IO_OK) {
                    source = m;
                }
            }
            if (source < 0) {
                throw a.arrayFailed("rebuild member " + role, lba, role);
            }
            a.writeMember(role, lba, k, data, 0, IoCause.REBUILD, false);
            a.slots[role].recoveredBlocks = lba + k;
        } finally {
            a.pool.release(data);
            a.locks.unlockRow(unit);
        }
    }
}
