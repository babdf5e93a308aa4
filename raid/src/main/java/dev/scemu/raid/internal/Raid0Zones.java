package dev.scemu.raid.internal;

import dev.scemu.raid.RaidError;
import dev.scemu.raid.RaidException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * md's RAID-0 strip zones ({@code create_strip_zones} in drivers/md/raid0.c) and its address
 * mapping ({@code find_zone} + {@code map_sector}), in blocks. Members of different sizes make
 * several zones: zone 0 stripes every member up to the smallest one's size; each further zone
 * stripes the members larger than the previous zone's smallest, from where that one ended, up to
 * the smallest of them. Each member's size is its data_size rounded down to the chunk.
 *
 * <pre>
 * three members of 4, 6 and 8 chunks (roles 0, 1, 2), chunk numbers of the array:
 *
 *   member chunk   role 0   role 1   role 2
 *        0            0        1        2      zone 0: nb_dev 3, dev_start 0, array chunks 0..11
 *        1            3        4        5
 *        2            6        7        8
 *        3            9       10       11
 *        4                    12       13      zone 1: nb_dev 2 (roles 1, 2), dev_start 4 chunks,
 *        5                    14       15              array chunks 12..15
 *        6                             16      zone 2: nb_dev 1 (role 2), dev_start 6 chunks
 *        7                             17
 * </pre>
 *
 * In zone {@code z} (array chunks from {@code zoneStart}), array chunk {@code c} is at member chunk
 * {@code dev_start + (c - zoneStart) / nb_dev} of the zone's member number
 * <ul>
 *   <li>{@code c % nb_dev} with layout 1, RAID0_ORIG_LAYOUT (md before Linux 3.14 and again with
 *       the layout set: the device is chosen from the array-wide chunk number), or</li>
 *   <li>{@code (c - zoneStart) % nb_dev} with layout 2, RAID0_ALT_MULTIZONE_LAYOUT (Linux 3.14 to
 *       5.3: from the chunk number inside the zone).</li>
 * </ul>
 * Above, zone 1 starts at array chunk 12, and 12 % 2 = 0 = (12 - 12) % 2: both layouts agree;
 * with zone 0 ending at an odd chunk they place every chunk of zone 1 on the other member. Zone
 * 0 is the same under both, and so is every zone of one member, so md (create_strip_zones) uses
 * RAID0_ORIG_LAYOUT when there is one zone or zone 1 has one member, else the superblock's layout
 * when it is 1 or 2 and feature bit RAID0_LAYOUT (0x1000) says it is valid (super_1_validate sets
 * it to -1 otherwise), else refuses to start ("cannot assemble multi-zone RAID0 with
 * default_layout setting"; the kernel's raid0.default_layout parameter would decide).
 */
final class Raid0Zones {

    /** md's RAID0_ORIG_LAYOUT. */
    static final int ORIG_LAYOUT = 1;
    /** md's RAID0_ALT_MULTIZONE_LAYOUT. */
    static final int ALT_MULTIZONE_LAYOUT = 2;

    /**
     * One zone: array blocks {@code [arrayStart, arrayEnd)} striped over {@code roles} (in role
     * order), from member data block {@code devStart}.
     */
    record Zone(long arrayStart, long arrayEnd, long devStart, int[] roles) {
        int width() {
            return roles.length;
        }
    }

    /** A piece of one chunk: {@code blocks} array blocks at member data block {@code memberLba} of {@code role}. */
    record Piece(int role, long memberLba, int blocks) {
    }

    private final Zone[] zones;
    private final int chunkBlocks;
    private final int layout;

    private Raid0Zones(Zone[] zones, int chunkBlocks, int layout) {
        this.zones = zones;
        this.chunkBlocks = chunkBlocks;
        this.layout = layout;
    }

    /** Members of equal size: one zone. */
    static Raid0Zones uniform(int raidDisks, long memberBlocks, int chunkBlocks) {
        long[] sizes = new long[raidDisks];
        Arrays.fill(sizes, memberBlocks);
        return of(sizes, chunkBlocks, ORIG_LAYOUT, "raid0");
    }

    /**
     * The zones of members with {@code memberBlocks[role]} data blocks each (rounded down to the
     * chunk here, as create_strip_zones does); {@code mdLayout}: the layout md would use (the
     * superblock's when feature bit RAID0_LAYOUT is set, else -1). Refuses, naming the layout, a
     * multi-zone set whose layout md could not tell.
     */
    static Raid0Zones of(long[] memberBlocks, int chunkBlocks, int mdLayout, String arrayName) {
        int n = memberBlocks.length;
        long[] sizes = new long[n];
        for (int r = 0; r < n; r++) {
            sizes[r] = memberBlocks[r] / chunkBlocks * chunkBlocks;
        }
        long[] distinct = Arrays.stream(sizes).distinct().sorted().toArray();
        List<Zone> zones = new ArrayList<>();
        long arrayStart = 0;
        long devStart = 0;
        for (long zoneTop : distinct) {
            if (zoneTop == 0) {
                continue;
            }
            List<Integer> roles = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                if (sizes[r] > devStart) {
                    roles.add(r);
                }
            }
            int[] members = roles.stream().mapToInt(Integer::intValue).toArray();
            long arrayEnd = arrayStart + (zoneTop - devStart) * members.length;
            zones.add(new Zone(arrayStart, arrayEnd, devStart, members));
            arrayStart = arrayEnd;
            devStart = zoneTop;
        }
        if (zones.isEmpty()) {
            throw new RaidException(RaidError.MEMBER_GEOMETRY, "RAID-0 " + arrayName + ": no member holds a whole chunk of "
                    + chunkBlocks + " blocks");
        }
        int layout;
        if (zones.size() == 1 || zones.get(1).width() == 1) {
            layout = ORIG_LAYOUT; // the layouts cannot differ
        } else if (mdLayout == ORIG_LAYOUT || mdLayout == ALT_MULTIZONE_LAYOUT) {
            layout = mdLayout;
        } else {
            throw new RaidException(RaidError.UNSUPPORTED_FEATURE, "RAID-0 " + arrayName + " has members of different"
                    + " sizes (" + zones.size() + " zones) and " + (mdLayout < 0 ? "no valid layout (feature bit 0x1000"
                    + " (raid0 layout) not set)" : "layout " + mdLayout) + ": md cannot tell whether chunks after the"
                    + " first zone follow RAID0_ORIG_LAYOUT (1) or RAID0_ALT_MULTIZONE_LAYOUT (2) and refuses it too"
                    + " (raid0.default_layout); set the layout with mdadm --update=layout-original or"
                    + " --update=layout-alternate");
        }
        return new Raid0Zones(zones.toArray(new Zone[0]), chunkBlocks, layout);
    }

    /** Array blocks: the sum of the members' sizes rounded down to the chunk (md's raid0_size). */
    long blockCount() {
        return zones[zones.length - 1].arrayEnd();
    }

    int zoneCount() {
        return zones.length;
    }

    Zone zone(int index) {
        return zones[index];
    }

    /** md's layout in use (1 or 2; 1 whenever the layouts cannot differ). */
    int layout() {
        return layout;
    }

    /** The zone holding array block {@code lba} (md's find_zone). */
    Zone zoneOf(long lba) {
        for (Zone z : zones) {
            if (lba < z.arrayEnd()) {
                return z;
            }
        }
        throw new IllegalArgumentException("array block " + lba + " is past the end " + blockCount());
    }

    /**
     * Where array block {@code lba} is (md's map_sector), and how many of the following
     * {@code maxBlocks} blocks share its chunk.
     */
    Piece map(long lba, long maxBlocks) {
        Zone z = zoneOf(lba);
        long inZone = lba - z.arrayStart();
        int inChunk = (int) (lba % chunkBlocks); // zones start at whole chunks
        long zoneChunk = inZone / chunkBlocks;
        long deviceChunk = layout == ORIG_LAYOUT ? lba / chunkBlocks : zoneChunk;
        int role = z.roles()[(int) (deviceChunk % z.width())];
        long memberLba = z.devStart() + zoneChunk / z.width() * chunkBlocks + inChunk;
        int blocks = (int) Math.min(maxBlocks, chunkBlocks - inChunk);
        return new Piece(role, memberLba, blocks);
    }
}
