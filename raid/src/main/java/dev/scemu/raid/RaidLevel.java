package dev.scemu.raid;

/** Supported RAID levels with md's level number (superblock field {@code level}). */
public enum RaidLevel {
    /** Striping, no redundancy; all members the same size. */
    RAID0(0, 1),
    /** n-way mirror. */
    RAID1(1, 1),
    /** Striping with one rotating parity chunk per stripe; two members work as md's do (a mirror). */
    RAID5(5, 2);

    private final int mdLevel;
    private final int minMembers;

    RaidLevel(int mdLevel, int minMembers) {
        this.mdLevel = mdLevel;
        this.minMembers = minMembers;
    }

    /** md's number for this level. */
    public int mdLevel() {
        return mdLevel;
    }

    public int minMembers() {
        return minMembers;
    }

    /** How many members may be missing with the array still serving all data. */
    public int redundancy(int raidDisks) {
        return switch (this) {
            case RAID0 -> 0;
            case RAID1 -> raidDisks - 1;
            case RAID5 -> 1;
        };
    }

    public static RaidLevel ofMd(int mdLevel) {
        for (RaidLevel level : values()) {
            if (level.mdLevel == mdLevel) {
                return level;
            }
        }
        throw new RaidException(RaidError.UNSUPPORTED_FEATURE, "md level " + mdLevel + " is not supported");
    }
}
