package dev.scemu.raid.internal;

import dev.scemu.raid.Raid5Layout;

/**
 * md's RAID-5 address mapping ({@code raid5_compute_sector} in drivers/md/raid5.c), in chunks.
 * A chunk number of the array (array offset / chunk size) maps to a stripe (row) number and a
 * member (role); the member offset is {@code stripe * chunk + offset in chunk} from data_offset.
 *
 * <pre>
 * data disks D = raid_disks - 1;  stripe = chunk / D;  d = chunk % D
 * left-asymmetric  (0): parity = D - stripe % raid_disks;  member = d < parity ? d : d + 1
 * right-asymmetric (1): parity = stripe % raid_disks;      member = d < parity ? d : d + 1
 * left-symmetric   (2): parity = D - stripe % raid_disks;  member = (parity + 1 + d) % raid_disks
 * right-symmetric  (3): parity = stripe % raid_disks;      member = (parity + 1 + d) % raid_disks
 * </pre>
 */
public final class Raid5Geometry {

    private final Raid5Layout layout;
    private final int raidDisks;
    private final int dataDisks;

    public Raid5Geometry(Raid5Layout layout, int raidDisks) {
        this.layout = layout;
        this.raidDisks = raidDisks;
        this.dataDisks = raidDisks - 1;
    }

    public int dataDisks() {
        return dataDisks;
    }

    /** Member holding the parity chunk of {@code stripe}. */
    public int parityMember(long stripe) {
        int rotation = (int) (stripe % raidDisks);
        return switch (layout) {
            case LEFT_ASYMMETRIC, LEFT_SYMMETRIC -> dataDisks - rotation;
            case RIGHT_ASYMMETRIC, RIGHT_SYMMETRIC -> rotation;
        };
    }

    /** Member holding data chunk {@code dataIndex} (0..D-1) of {@code stripe}. */
    public int dataMember(long stripe, int dataIndex) {
        int parity = parityMember(stripe);
        return switch (layout) {
            case LEFT_ASYMMETRIC, RIGHT_ASYMMETRIC -> dataIndex >= parity ? dataIndex + 1 : dataIndex;
            case LEFT_SYMMETRIC, RIGHT_SYMMETRIC -> (parity + 1 + dataIndex) % raidDisks;
        };
    }

    /** Stripe of array chunk {@code chunkNumber}. */
    public long stripeOf(long chunkNumber) {
        return chunkNumber / dataDisks;
    }

    /** Member of array chunk {@code chunkNumber}. */
    public int memberOf(long chunkNumber) {
        return dataMember(chunkNumber / dataDisks, (int) (chunkNumber % dataDisks));
    }
}
