package dev.scemu.core;

/**
 * The writes a device takes best, as Linux's {@code io_opt} and {@code alignment_offset} of a
 * block queue: a write that covers whole units of {@code unitBlocks} blocks, each starting at a
 * unit boundary, needs no read of the device's old contents (on a RAID-5 array a unit is a
 * stripe row, {@code (raid disks - 1) x chunk}, and such a write is a full-stripe write: parity
 * from the new data alone, no read-modify-write). A write that ends inside a unit makes the
 * device read (or reconstruct) the rest of that unit.
 *
 * <p>Unit boundaries are the lbas {@code b} with {@code b mod unitBlocks == boundaryLba}; a
 * window onto a parent device (a partition) sees the parent's units shifted by its first block
 * ({@link #seenFrom}). {@link #ANY} (units of one block) is a device without a preference.
 *
 * @param unitBlocks  blocks of one unit, at least 1
 * @param boundaryLba the first unit boundary, in {@code [0, unitBlocks)}
 */
public record OptimalWrite(int unitBlocks, long boundaryLba) {

    /** No preference: every block is a unit. */
    public static final OptimalWrite ANY = new OptimalWrite(1, 0);

    public OptimalWrite {
        if (unitBlocks < 1 || boundaryLba < 0 || boundaryLba >= unitBlocks) {
            throw new IllegalArgumentException("optimal write of " + unitBlocks + " blocks with its first boundary at lba "
                    + boundaryLba + ": need unitBlocks >= 1 and 0 <= boundaryLba < unitBlocks");
        }
    }

    /** Units of {@code unitBlocks} starting at lba 0. */
    public static OptimalWrite of(int unitBlocks) {
        return new OptimalWrite(unitBlocks, 0);
    }

    /** The same units as seen from a window whose block 0 is block {@code firstLba} of this device. */
    public OptimalWrite seenFrom(long firstLba) {
        return new OptimalWrite(unitBlocks, Math.floorMod(boundaryLba - firstLba, (long) unitBlocks));
    }

    /** Whether {@code lba} is a unit boundary. */
    public boolean isBoundary(long lba) {
        return Math.floorMod(lba - boundaryLba, (long) unitBlocks) == 0;
    }
}
