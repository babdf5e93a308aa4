package dev.scemu.raid.internal;

import static dev.scemu.raid.internal.MdSuperblockLayout.*;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.CoreException;
import dev.scemu.raid.AssembleOptions;
import dev.scemu.raid.MemberState;
import dev.scemu.raid.Raid5Layout;
import dev.scemu.raid.RaidException;
import java.util.List;

/**
 * What scemu reads from each md member, as text ({@code scemu md examine}): level, layout, chunk,
 * sizes, offsets, events, role, array state, bitmap, bad-block log and feature bits; then whether
 * the set assembles (a read-only assembly, which writes nothing) and why not. Only reads.
 */
public final class MdExamination {

    private MdExamination() {
    }

    /** The report of {@code members} (each left open). */
    public static String report(List<? extends BlockDevice> members) {
        StringBuilder out = new StringBuilder();
        for (BlockDevice d : members) {
            out.append(member(d));
        }
        out.append(assembles(members));
        return out.toString();
    }

    private static String member(BlockDevice d) {
        StringBuilder out = new StringBuilder();
        out.append(d.name()).append(":\n");
        MdSuperblock sb;
        try {
            sb = MdSuperblock.decode(MetadataIo.read(d, SUPER_OFFSET_BYTES, SUPERBLOCK_BYTES), d.name());
        } catch (RaidException | CoreException e) {
            String other = MemberSelection.otherMetadata(d);
            out.append("  ").append(other != null ? "md metadata " + other + " (not supported: metadata 1.2 only)"
                    : strip(e.getMessage())).append('\n');
            return out.toString();
        }
        line(out, "metadata", "1.2 (superblock at sector " + sb.superOffsetSectors + ")");
        line(out, "array uuid", MdSuperblock.mdadmUuid(sb.setUuid));
        line(out, "name", sb.setName);
        line(out, "level", levelName(sb.level));
        line(out, "layout", layoutName(sb));
        line(out, "chunk", sb.chunkSectors == 0 ? "none" : sb.chunkSectors / 2 + " KiB");
        line(out, "raid disks", Integer.toString(sb.raidDisks));
        line(out, "size", sb.sizeSectors + " sectors per member" + (sb.level == 0 && sb.sizeSectors == 0
                ? " (RAID-0: md uses data_size rounded to the chunk, " + MemberSelection.usedSectors(sb) + ")" : ""));
        line(out, "data offset", sb.dataOffsetSectors + " sectors");
        line(out, "data size", sb.dataSizeSectors + " sectors (member: " + d.geometry().capacityBytes() / 512
                + " sectors; after data: " + (d.geometry().capacityBytes() / 512 - sb.dataOffsetSectors
                - sb.dataSizeSectors) + ")");
        line(out, "events", Long.toString(sb.events));
        int role = sb.role();
        line(out, "role", (role == ROLE_SPARE ? "spare" : role == ROLE_FAULTY ? "faulty" : "active device " + role)
                + " (device number " + sb.devNumber + ")" + (sb.isRecovering()
                ? ", rebuilding: recovered " + sb.recoveryOffsetSectors + " sectors" : ""));
        line(out, "state", sb.isClean() ? "clean" : "active (resync_offset " + sb.resyncOffsetSectors + ")");
        line(out, "array state", arrayState(sb));
        line(out, "bitmap", bitmap(d, sb));
        line(out, "bad-block log", badBlocks(d, sb));
        line(out, "feature map", features(sb.featureMap));
        line(out, "max_dev", Integer.toString(sb.devRoles.length));
        return out.toString();
    }

    private static String assembles(List<? extends BlockDevice> members) {
        try {
            MdRaidArray array = MdArrayStartup.assemble(members, AssembleOptions.defaults().withReadOnly(true));
            try {
                StringBuilder s = new StringBuilder("set: assembles as ").append(levelName(array.level.mdLevel()))
                        .append(" of ").append(array.raidDisks).append(" members, ")
                        .append(array.geometry().capacityBytes()).append(" bytes");
                if (array.engine instanceof Raid0Engine r0 && r0.zones().zoneCount() > 1) {
                    Raid0Zones z = r0.zones();
                    s.append(", ").append(z.zoneCount()).append(" zones (members of different sizes, layout ")
                            .append(z.layout() == Raid0Zones.ORIG_LAYOUT ? "original" : "alternate").append(')');
                }
                for (int r = 0; r < array.raidDisks; r++) {
                    if (array.memberState(r) != MemberState.ACTIVE) {
                        s.append("; member ").append(r).append(' ').append(array.memberState(r))
                                .append(array.memberFault(r) != null ? ": " + array.memberFault(r) : "");
                    }
                }
                List<BlockDevice> spares = array.spareDevices();
                if (!spares.isEmpty()) {
                    s.append("; ").append(spares.size()).append(spares.size() == 1 ? " spare: " : " spares: ")
                            .append(String.join(", ", spares.stream().map(BlockDevice::name).toList()))
                            .append(array.isDegraded() ? " (a writable start rebuilds the empty role onto it)" : "");
                }
                return s.append(array.isDegraded() ? " (degraded)" : "").append('\n').toString();
            } finally {
                array.stop();
            }
        } catch (RaidException | CoreException e) {
            return "set: does not assemble: " + e.getMessage() + "\n";
        }
    }

    private static String bitmap(BlockDevice d, MdSuperblock sb) {
        if (!sb.hasBitmap()) {
            return "none";
        }
        long start = SUPER_OFFSET_BYTES + (long) sb.bitmapOffsetSectors * SECTOR_BYTES;
        try {
            MdBitmapLayout.Header h = MdBitmapLayout.decodeHeader(MetadataIo.read(d, start,
                    MdBitmapLayout.HEADER_BYTES), d.name());
            long[] bits = MdBitmapLayout.decodeBits(MetadataIo.read(d, start,
                    MdBitmapLayout.HEADER_BYTES + (int) ((h.bitCount() + 7) / 8)), h.bitCount());
            long dirty = 0;
            for (long w : bits) {
                dirty += Long.bitCount(w);
            }
            return sb.bitmapOffsetSectors + " sectors from superblock, chunk " + h.chunkBytes() / 1024 + " KiB, "
                    + h.bitCount() + " bits, " + dirty + " dirty, events " + h.events() + ", events cleared "
                    + h.eventsCleared() + ", sectors reserved " + h.sectorsReserved();
        } catch (RaidException | CoreException e) {
            return "unreadable: " + strip(e.getMessage());
        }
    }

    private static String badBlocks(BlockDevice d, MdSuperblock sb) {
        if (!sb.hasBadBlockLog()) {
            return "none";
        }
        try {
            BadBlockLog log = BadBlockLog.read(d, sb);
            StringBuilder s = new StringBuilder().append(sb.bblogSize).append(" sectors at superblock ")
                    .append(sb.bblogOffsetSectors >= 0 ? "+" : "").append(sb.bblogOffsetSectors).append(" (")
                    .append(log.capacity()).append(" entries, shift ").append(sb.bblogShift).append("), ")
                    .append(log.ranges().size()).append(" bad range(s)");
            for (long[] r : log.ranges()) {
                s.append(' ').append(r[0]).append('+').append(r[1]);
            }
            return s.toString();
        } catch (RaidException | CoreException e) {
            return "unreadable: " + strip(e.getMessage());
        }
    }

    private static String arrayState(MdSuperblock sb) {
        StringBuilder s = new StringBuilder();
        for (int r = 0; r < sb.raidDisks; r++) {
            boolean active = false;
            for (int role : sb.devRoles) {
                active |= role == r;
            }
            s.append(active ? 'A' : '.');
        }
        return s.toString();
    }

    private static String features(int map) {
        StringBuilder s = new StringBuilder(String.format("0x%x", map));
        String sep = " (";
        for (int bit = 1; bit != 0; bit <<= 1) {
            if ((map & bit) != 0) {
                s.append(sep).append(featureName(bit)).append((bit & FEATURES_SUPPORTED) == 0 ? " - unsupported" : "");
                sep = ", ";
            }
        }
        return map == 0 ? s.toString() : s.append(')').toString();
    }

    private static String layoutName(MdSuperblock sb) {
        if (sb.level == 0) {
            String valid = (sb.featureMap & FEATURE_RAID0_LAYOUT) != 0 ? "" : ", not valid: feature bit 0x1000 unset";
            return switch (sb.layout) {
                case 1 -> "original (1" + valid + ")";
                case 2 -> "alternate (2" + valid + ")";
                default -> sb.layout + (valid.isEmpty() ? "" : " (" + valid.substring(2) + ")");
            };
        }
        if (sb.level == 5) {
            try {
                return Raid5Layout.ofMd(sb.layout).toString().toLowerCase().replace('_', '-') + " (" + sb.layout + ")";
            } catch (RaidException e) {
                return "unknown (" + sb.layout + ")";
            }
        }
        return Integer.toString(sb.layout);
    }

    static String levelName(int level) {
        return switch (level) {
            case 0 -> "raid0";
            case 1 -> "raid1";
            case 4 -> "raid4";
            case 5 -> "raid5";
            case 6 -> "raid6";
            case 10 -> "raid10";
            default -> "level " + level;
        };
    }

    private static void line(StringBuilder out, String key, String value) {
        out.append(String.format("  %-14s %s%n", key, value));
    }

    private static String strip(String message) {
        return message == null ? "" : message.replaceFirst("^[A-Z_]+: ", "");
    }
}
