package dev.scemu.raid;

/**
 * md's RAID-5 parity layouts with md's numbers (superblock field {@code layout}); the placement of
 * data and parity is exactly md's {@code raid5_compute_sector}.
 */
public enum Raid5Layout {
    /** Parity moves from the last member down; data fills members 0.. skipping parity. */
    LEFT_ASYMMETRIC(0),
    /** Parity moves from member 0 up; data fills members 0.. skipping parity. */
    RIGHT_ASYMMETRIC(1),
    /** Parity moves from the last member down; data starts on the member after parity (md's default). */
    LEFT_SYMMETRIC(2),
    /** Parity moves from member 0 up; data starts on the member after parity. */
    RIGHT_SYMMETRIC(3);

    private final int mdNumber;

    Raid5Layout(int mdNumber) {
        this.mdNumber = mdNumber;
    }

    public int mdNumber() {
        return mdNumber;
    }

    public static Raid5Layout ofMd(int mdNumber) {
        for (Raid5Layout layout : values()) {
            if (layout.mdNumber == mdNumber) {
                return layout;
            }
        }
        throw new RaidException(RaidError.UNSUPPORTED_FEATURE, "md raid5 layout " + mdNumber + " is not supported");
    }
}
