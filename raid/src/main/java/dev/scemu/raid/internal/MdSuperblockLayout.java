package dev.scemu.raid.internal;

/**
 * Byte layout of Linux md's version-1 superblock ({@code struct mdp_superblock_1} in
 * {@code linux/raid/md_p.h}), all integers little-endian. For metadata 1.2 it sits 4 KiB from the
 * start of the member ({@code super_offset} = 8 sectors) and occupies at most 4 KiB.
 *
 * <pre>
 * offset  size  field                 scemu value
 * ------  ----  --------------------  ------------------------------------------------------
 *      0     4  magic                 0xa92b4efc
 *      4     4  major_version         1
 *      8     4  feature_map           bit 0 BITMAP_OFFSET, bit 1 RECOVERY_OFFSET, bit 3 BAD_BLOCKS
 *                                       (kept), bit 12 RAID0_LAYOUT (kept); others refused by name
 *     12     4  pad0                  0
 *     16    16  set_uuid              array UUID
 *     32    32  set_name              array name, NUL padded
 *     64     8  ctime                 low 40 bits seconds, high 24 bits microseconds
 *     72     4  level                 0, 1, 5
 *     76     4  layout                RAID-5 algorithm 0..3; RAID-0: as found (mdadm: 1); else 0
 *     80     8  size                  used data sectors per member (RAID-0: as found, mdadm
 *                                       writes 0 and md uses data_size rounded to the chunk)
 *     88     4  chunksize             sectors (0 for RAID-1)
 *     92     4  raid_disks
 *     96     4  bitmap_offset         signed sectors from the superblock to the bitmap
 *    100     4  new_level             0 (no reshape)
 *    104     8  reshape_position      0
 *    112     4  delta_disks           0
 *    116     4  new_layout            0
 *    120     4  new_chunk             0
 *    124     4  new_offset            0
 *    128     8  data_offset           sector where data starts
 *    136     8  data_size             sectors available for data; scemu's RAID-5 parity journal
 *                                       lives after data_offset + data_size (md never writes there)
 *    144     8  super_offset          8
 *    152     8  recovery_offset       sectors from data_offset already rebuilt
 *    160     4  dev_number            index of this device in dev_roles
 *    164     4  cnt_corrected_read    read errors repaired by rewriting
 *    168    16  device_uuid           member UUID
 *    184     1  devflags              0
 *    185     1  bblog_shift           as found (0 when scemu creates the member)
 *    186     2  bblog_size            sectors of the bad-block log; 0 = none (scemu's own members)
 *    188     4  bblog_offset          signed sectors from the superblock (mdadm: 16)
 *    192     8  utime                 like ctime
 *    200     8  events                event counter
 *    208     8  resync_offset         MaxSector (~0) when clean, 0 when dirty
 *    216     4  sb_csum               see {@link MdSuperblock#checksum}
 *    220     4  max_dev               entries in dev_roles
 *    224    32  pad3                  0
 *    256  2*n   dev_roles[max_dev]    role of dev_number i: 0..0xfeff, 0xffff spare, 0xfffe faulty
 * </pre>
 */
public final class MdSuperblockLayout {

    private MdSuperblockLayout() {
    }

    public static final int MAGIC = 0xa92b4efc;
    public static final int MAJOR_VERSION = 1;
    /** Superblock byte offset on the member for metadata 1.2. */
    public static final long SUPER_OFFSET_BYTES = 4096;
    public static final long SUPER_OFFSET_SECTORS = 8;
    /** Bytes reserved for the superblock. */
    public static final int SUPERBLOCK_BYTES = 4096;
    public static final int SECTOR_BYTES = 512;
    /** resync_offset of a clean array. */
    public static final long MAX_SECTOR = -1L;

    public static final int FEATURE_BITMAP_OFFSET = 1;
    public static final int FEATURE_RECOVERY_OFFSET = 2;
    public static final int FEATURE_RESHAPE_ACTIVE = 4;
    /** The bad-block log holds entries (md's MD_FEATURE_BAD_BLOCKS). */
    public static final int FEATURE_BAD_BLOCKS = 8;
    public static final int FEATURE_JOURNAL = 0x200;
    public static final int FEATURE_PPL = 0x400;
    /** RAID-0 layout field is meaningful (md's MD_FEATURE_RAID0_LAYOUT). */
    public static final int FEATURE_RAID0_LAYOUT = 0x1000;
    /** Every feature bit scemu understands; others are refused on assembly, by name. */
    public static final int FEATURES_SUPPORTED = FEATURE_BITMAP_OFFSET | FEATURE_RECOVERY_OFFSET | FEATURE_BAD_BLOCKS
            | FEATURE_RAID0_LAYOUT;

    /** md_p.h's name of feature bit {@code bit} (a single bit). */
    public static String featureName(int bit) {
        return switch (bit) {
            case 1 -> "bitmap";
            case 2 -> "recovery offset";
            case 4 -> "reshape active";
            case 8 -> "bad blocks";
            case 0x10 -> "replacement";
            case 0x20 -> "reshape backwards";
            case 0x40 -> "new offset";
            case 0x80 -> "recovery bitmap";
            case 0x100 -> "clustered";
            case 0x200 -> "journal";
            case 0x400 -> "ppl";
            case 0x800 -> "multiple ppls";
            case 0x1000 -> "raid0 layout";
            default -> "unknown";
        };
    }

    public static final int ROLE_SPARE = 0xffff;
    public static final int ROLE_FAULTY = 0xfffe;
    public static final int ROLE_MAX = 0xff00;

    public static final int OFF_MAGIC = 0;
    public static final int OFF_MAJOR_VERSION = 4;
    public static final int OFF_FEATURE_MAP = 8;
    public static final int OFF_PAD0 = 12;
    public static final int OFF_SET_UUID = 16;
    public static final int OFF_SET_NAME = 32;
    public static final int SET_NAME_BYTES = 32;
    public static final int OFF_CTIME = 64;
    public static final int OFF_LEVEL = 72;
    public static final int OFF_LAYOUT = 76;
    public static final int OFF_SIZE = 80;
    public static final int OFF_CHUNKSIZE = 88;
    public static final int OFF_RAID_DISKS = 92;
    public static final int OFF_BITMAP_OFFSET = 96;
    public static final int OFF_NEW_LEVEL = 100;
    public static final int OFF_RESHAPE_POSITION = 104;
    public static final int OFF_DELTA_DISKS = 112;
    public static final int OFF_NEW_LAYOUT = 116;
    public static final int OFF_NEW_CHUNK = 120;
    public static final int OFF_NEW_OFFSET = 124;
    public static final int OFF_DATA_OFFSET = 128;
    public static final int OFF_DATA_SIZE = 136;
    public static final int OFF_SUPER_OFFSET = 144;
    public static final int OFF_RECOVERY_OFFSET = 152;
    public static final int OFF_DEV_NUMBER = 160;
    public static final int OFF_CNT_CORRECTED_READ = 164;
    public static final int OFF_DEVICE_UUID = 168;
    public static final int OFF_DEVFLAGS = 184;
    public static final int OFF_BBLOG_SHIFT = 185;
    public static final int OFF_BBLOG_SIZE = 186;
    public static final int OFF_BBLOG_OFFSET = 188;
    public static final int OFF_UTIME = 192;
    public static final int OFF_EVENTS = 200;
    public static final int OFF_RESYNC_OFFSET = 208;
    public static final int OFF_SB_CSUM = 216;
    public static final int OFF_MAX_DEV = 220;
    public static final int OFF_PAD3 = 224;
    public static final int OFF_DEV_ROLES = 256;
    /** Largest max_dev that fits the 4 KiB superblock area. */
    public static final int MAX_DEV_LIMIT = (SUPERBLOCK_BYTES - OFF_DEV_ROLES) / 2;
}
