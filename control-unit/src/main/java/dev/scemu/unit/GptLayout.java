package dev.scemu.unit;

/**
 * Byte layout of the GUID Partition Table as scemu writes it (UEFI specification 2.10, section 5),
 * with 512-byte logical sectors whatever the device's block size, so that {@code sfdisk} and
 * {@code gdisk} read an image file of the array with their defaults. All integers little-endian;
 * GUIDs in the mixed-endian on-disk form (first three fields little-endian).
 *
 * <pre>
 * sector 0        protective MBR: partition record 1 at byte 446
 *                   +0 boot 0x00 | +1 CHS 00 02 00 | +4 type 0xEE | +5 CHS FF FF FF
 *                   +8 u32 first LBA = 1 | +12 u32 size = min(sectors - 1, 0xFFFFFFFF)
 *                 bytes 510..511 = 55 AA
 * sector 1        primary header (92 bytes, rest of the sector zero)
 *                   0 "EFI PART" | 8 u32 revision 0x00010000 | 12 u32 header size 92
 *                  16 u32 header CRC32 (over 92 bytes, this field zero) | 20 u32 reserved 0
 *                  24 u64 my LBA | 32 u64 alternate LBA | 40 u64 first usable | 48 u64 last usable
 *                  56 GUID disk | 72 u64 entries LBA | 80 u32 entry count 128
 *                  84 u32 entry size 128 | 88 u32 entries CRC32
 * sectors 2..33   primary entry array: 128 entries x 128 bytes
 *                   0 GUID type | 16 GUID unique | 32 u64 first LBA | 40 u64 last LBA (inclusive)
 *                  48 u64 attributes | 56 name, 36 UTF-16LE code units
 * sectors 34..    partitions, each aligned to 1 MiB (2048 sectors)
 * last-32..last-1 backup entry array (same bytes as the primary)
 * last sector     backup header (my LBA and alternate LBA swapped, entries LBA = last - 32)
 * </pre>
 */
public final class GptLayout {

    public static final int SECTOR_BYTES = 512;
    public static final long SIGNATURE = 0x5452415020494645L; // "EFI PART" little-endian
    public static final int REVISION = 0x00010000;
    public static final int HEADER_BYTES = 92;
    public static final int ENTRY_COUNT = 128;
    public static final int ENTRY_BYTES = 128;
    public static final int ENTRY_ARRAY_BYTES = ENTRY_COUNT * ENTRY_BYTES;
    public static final int ENTRY_ARRAY_SECTORS = ENTRY_ARRAY_BYTES / SECTOR_BYTES;
    public static final int NAME_CODE_UNITS = 36;
    /** Partitions start on multiples of this many sectors (1 MiB). */
    public static final long ALIGNMENT_SECTORS = (1 << 20) / SECTOR_BYTES;
    /** Sectors needed before the first usable one: MBR, header, entry array. */
    public static final long PRIMARY_SECTORS = 2 + ENTRY_ARRAY_SECTORS;
    /** Sectors at the end of the disk: entry array and header. */
    public static final long BACKUP_SECTORS = ENTRY_ARRAY_SECTORS + 1;

    // header field offsets
    static final int H_SIGNATURE = 0;
    static final int H_REVISION = 8;
    static final int H_SIZE = 12;
    static final int H_CRC = 16;
    static final int H_MY_LBA = 24;
    static final int H_ALTERNATE_LBA = 32;
    static final int H_FIRST_USABLE = 40;
    static final int H_LAST_USABLE = 48;
    static final int H_DISK_GUID = 56;
    static final int H_ENTRIES_LBA = 72;
    static final int H_ENTRY_COUNT = 80;
    static final int H_ENTRY_SIZE = 84;
    static final int H_ENTRIES_CRC = 88;

    // entry field offsets
    static final int E_TYPE = 0;
    static final int E_UNIQUE = 16;
    static final int E_FIRST = 32;
    static final int E_LAST = 40;
    static final int E_ATTRIBUTES = 48;
    static final int E_NAME = 56;

    // protective MBR
    static final int MBR_RECORD = 446;
    static final int MBR_SIGNATURE = 510;

    private GptLayout() {
    }
}
