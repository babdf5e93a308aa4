package dev.scemu.raid.internal;

import static dev.scemu.raid.internal.MdSuperblockLayout.*;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.CoreException;
import dev.scemu.raid.AssembleOptions;
import dev.scemu.raid.RaidError;
import dev.scemu.raid.RaidException;
import dev.scemu.raid.RaidLevel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which members an assembly trusts: mdadm's {@code Assemble.c} and md's {@code super_1_validate}
 * rules, always with {@code --run} (see {@code docs/raid-on-disk.md}, "Assembly and degraded
 * start"). It only reads; {@link MdRaidArray#assemble} starts the array from the result.
 *
 * <ol>
 *   <li><b>Read.</b> Every candidate's superblock is read and decoded. One that cannot be read,
 *       or carries no valid superblock (magic, version, super_offset, checksum), is left out with
 *       the reason.</li>
 *   <li><b>Which array.</b> The set UUID the options name ({@code mdadm --uuid}), or else the one
 *       most decodable candidates carry; a tie is refused ({@link RaidError#FOREIGN_MEMBER}).
 *       Candidates of another set are left out ("belongs to array ..."); members of the set must
 *       agree on its shape.</li>
 *   <li><b>Freshest wins.</b> The superblock with the highest events is the reference. A member
 *       whose role it does not list as active, or more than one event behind it (md's and mdadm's
 *       margin), is stale and left out.</li>
 *   <li><b>Spares.</b> A candidate whose own role is spare (0xffff) and whose device number the
 *       freshest superblock's dev_roles lists as spare is a spare of the array, whatever its events (super_1_validate
 *       checks events only of devices with an active role).</li>
 *   <li><b>Enough members.</b> More missing in-sync members than the level tolerates is refused
 *       ({@link RaidError#NOT_ENOUGH_MEMBERS}) naming every missing role and why; on RAID-0, which
 *       has no redundancy, any missing member.</li>
 * </ol>
 *
 * <p>Each role left empty gets the reason of the candidate that held it (see
 * {@link #faultsOfEmptyRoles}), or "missing".
 */
final class MemberSelection {

    private static final Logger LOG = LoggerFactory.getLogger(MemberSelection.class);

    /** The freshest superblock of the set: the array's shape, events and role table. */
    final MdSuperblock ref;
    /** Block size of the members. */
    final int blockSize;
    /** The member of each role; null when the role is empty. */
    final BlockDevice[] byRole;
    /** The superblock of each role's member; null when the role is empty. */
    final MdSuperblock[] sbByRole;
    /** Why each empty role is empty; null for a role with a member. */
    final String[] faults;
    /** Roles with a member (in sync or rebuilding). */
    final int present;
    /** Roles with an in-sync member. */
    final int inSync;
    /** Spares of the set (role 0xffff here and in the freshest superblock), in the caller's order. */
    final List<Spare> spares;

    /** A spare: a device of the set that holds no role (md's dev_roles 0xffff). */
    record Spare(BlockDevice device, MdSuperblock sb) {
    }

    private MemberSelection(MdSuperblock ref, int blockSize, BlockDevice[] byRole, MdSuperblock[] sbByRole,
                            String[] faults, int present, int inSync, List<Spare> spares) {
        this.ref = ref;
        this.blockSize = blockSize;
        this.byRole = byRole;
        this.sbByRole = sbByRole;
        this.faults = faults;
        this.present = present;
        this.inSync = inSync;
        this.spares = spares;
    }

    /** A candidate member with a decoded superblock: its position in the caller's list and device. */
    private record Candidate(int index, BlockDevice device, MdSuperblock sb) {
        String label() {
            return index + " (" + device.name() + ")";
        }
    }

    /** A candidate left out of the array and why; {@code role} is the slot it is known to have held, or -1. */
    private record LeftOut(int index, BlockDevice device, int role, String reason) {
    }

    /** Applies the rules above to {@code candidates} (the caller's order gives each its index). */
    static MemberSelection select(List<? extends BlockDevice> candidates, AssembleOptions options) {
        if (candidates.isEmpty()) {
            throw new RaidException(RaidError.NOT_ENOUGH_MEMBERS, "no members to assemble");
        }
        List<Candidate> decoded = new ArrayList<>();
        List<LeftOut> leftOut = new ArrayList<>();
        RaidException firstDecodeError = null;
        for (int i = 0; i < candidates.size(); i++) {
            BlockDevice d = candidates.get(i);
            String label = i + " (" + d.name() + ")";
            byte[] bytes;
            try {
                bytes = MetadataIo.read(d, SUPER_OFFSET_BYTES, SUPERBLOCK_BYTES);
            } catch (CoreException e) {
                MdRaidArray.rethrowIfFatal(e);
                leftOut.add(new LeftOut(i, d, -1, "unreadable: " + e.getMessage()));
                continue;
            }
            MdSuperblock sb;
            try {
                sb = MdSuperblock.decode(bytes, label);
            } catch (RaidException e) {
                String other = otherMetadata(d);
                if (other != null) {
                    throw new RaidException(RaidError.UNSUPPORTED_FEATURE, "member " + d.name() + " has md metadata "
                            + other + " (scemu reads metadata 1.2 only)");
                }
                firstDecodeError = firstDecodeError == null ? e : firstDecodeError;
                String prefix = e.code() + ": member " + label + ": ";
                String message = e.getMessage();
                leftOut.add(new LeftOut(i, d, -1, message.startsWith(prefix) ? message.substring(prefix.length()) : message));
                continue;
            }
            checkSupported(sb, d);
            decoded.add(new Candidate(i, d, sb));
        }
        if (decoded.isEmpty()) {
            String why = describe(leftOut);
            throw firstDecodeError != null
                    ? new RaidException(RaidError.NO_SUPERBLOCK, "none of the " + candidates.size()
                            + " members has a valid md superblock: " + why)
                    : new RaidException(RaidError.NOT_ENOUGH_MEMBERS, "none of the " + candidates.size()
                            + " members has a readable superblock: " + why);
        }
        UUID set = options.setUuid() != null ? options.setUuid() : majoritySet(decoded);
        List<Candidate> members = new ArrayList<>();
        for (Candidate c : decoded) {
            if (c.sb().setUuid.equals(set)) {
                members.add(c);
            } else {
                leftOut.add(new LeftOut(c.index(), c.device(), -1, "belongs to array "
                        + MdSuperblock.mdadmUuid(c.sb().setUuid) + ", not " + MdSuperblock.mdadmUuid(set)));
            }
        }
        if (members.isEmpty()) {
            throw new RaidException(RaidError.FOREIGN_MEMBER, "no member belongs to array "
                    + MdSuperblock.mdadmUuid(set) + ": " + describe(leftOut));
        }
        Candidate fresh = members.get(0);
        for (Candidate c : members) {
            if (c.sb().events > fresh.sb().events) {
                fresh = c;
            }
        }
        MdSuperblock ref = fresh.sb();
        checkShape(ref, fresh.device(), fresh.index());
        for (Candidate c : members) {
            MdSuperblock sb = c.sb();
            if (sb.level != ref.level || sb.raidDisks != ref.raidDisks || sb.chunkSectors != ref.chunkSectors
                    || sb.layout != ref.layout || sb.sizeSectors != ref.sizeSectors
                    || sb.dataOffsetSectors != ref.dataOffsetSectors
                    || c.device().blockSize() != fresh.device().blockSize()) {
                throw new RaidException(RaidError.FOREIGN_MEMBER, "member " + c.label()
                        + " has a different shape: level " + sb.level + " disks " + sb.raidDisks + " chunk "
                        + sb.chunkSectors + " layout " + sb.layout + " size " + sb.sizeSectors
                        + " than the freshest member " + fresh.label());
            }
            if (usedSectors(sb) != usedSectors(ref)) {
                // RAID-0 (size 0): members of different data_size make md's strip zones (Raid0Zones);
                // each member's own data must fit it
                checkShape(sb, c.device(), c.index());
            }
        }
        RaidLevel level = RaidLevel.ofMd(ref.level);
        int blockSize = fresh.device().blockSize();
        int spb = blockSize / SECTOR_BYTES;
        BlockDevice[] byRole = new BlockDevice[ref.raidDisks];
        MdSuperblock[] sbByRole = new MdSuperblock[ref.raidDisks];
        List<Spare> spares = new ArrayList<>();
        for (Candidate c : members) {
            MdSuperblock sb = c.sb();
            int roleInRef = sb.devNumber < ref.devRoles.length ? ref.devRoles[sb.devNumber] : ROLE_SPARE;
            int knownRole = sb.role() < ref.raidDisks ? sb.role() : -1;
            if (sb.role() == ROLE_SPARE && sb.devNumber < ref.devRoles.length && roleInRef == ROLE_SPARE
                    && level(ref) != RaidLevel.RAID0) {
                // a spare needs no event count (super_1_validate checks events only of devices with
                // an active role); it holds no data, and is not a member until a rebuild makes it one
                boolean duplicate = spares.stream().anyMatch(x -> x.sb().devNumber == sb.devNumber);
                if (!duplicate) {
                    spares.add(new Spare(c.device(), sb));
                    continue;
                }
            }
            if (roleInRef != sb.role() || roleInRef >= ref.raidDisks) {
                // the members that ran on recorded it faulty (or gave its role to another device)
                leftOut.add(new LeftOut(c.index(), c.device(), knownRole, "stale: the freshest superblock lists device "
                        + sb.devNumber + " as " + roleName(roleInRef) + ", it claims " + roleName(sb.role())
                        + " (events " + sb.events + ", the freshest member has " + ref.events + ")"));
                continue;
            }
            // like md (super_1_validate) and mdadm (event_margin): one event behind is still current
            if (sb.events + 1 < ref.events) {
                leftOut.add(new LeftOut(c.index(), c.device(), knownRole,
                        "stale: events " + sb.events + ", the freshest member has " + ref.events));
                continue;
            }
            if (byRole[roleInRef] != null) {
                throw new RaidException(RaidError.DUPLICATE_ROLE, "members " + c.device().name() + " and "
                        + byRole[roleInRef].name() + " both claim role " + roleInRef);
            }
            byRole[roleInRef] = c.device();
            sbByRole[roleInRef] = sb;
        }
        List<LeftOut> unattributed = new ArrayList<>();
        String[] faults = faultsOfEmptyRoles(byRole, leftOut, candidates.size(), unattributed);
        for (LeftOut l : leftOut) {
            LOG.warn("assemble {}: member {} ({}) left out: {}", ref.setName, l.index(), l.device().name(), l.reason());
        }
        int present = 0;
        int inSync = 0;
        List<String> absent = new ArrayList<>();
        for (int r = 0; r < ref.raidDisks; r++) {
            if (byRole[r] != null) {
                present++;
                if (!sbByRole[r].isRecovering()) {
                    inSync++;
                } else {
                    absent.add("member " + r + ": rebuilding, not in sync");
                }
            } else {
                absent.add("member " + r + ": " + faults[r]);
            }
        }
        int missing = ref.raidDisks - inSync;
        if (missing > level.redundancy(ref.raidDisks)) {
            throw new RaidException(RaidError.NOT_ENOUGH_MEMBERS, (level == RaidLevel.RAID0
                    ? "RAID-0 has no redundancy: array " + MdSuperblock.mdadmUuid(ref.setUuid)
                            + " cannot start without every member; " + String.join("; ", absent)
                    : level + " of " + ref.raidDisks + " members has " + inSync + " in-sync members (" + present
                            + " present), needs " + (ref.raidDisks - level.redundancy(ref.raidDisks)) + "; "
                            + String.join("; ", absent))
                    + (unattributed.isEmpty() ? "" : "; also left out: " + describe(unattributed)));
        }
        return new MemberSelection(ref, blockSize, byRole, sbByRole, faults, present, inSync, spares);
    }

    /**
     * Refuses by name what scemu does not implement: feature bits other than
     * {@link MdSuperblockLayout#FEATURES_SUPPORTED} (reshape, journal, PPL, clustered, ...) and levels
     * other than 0, 1 and 5.
     */
    static void checkSupported(MdSuperblock sb, BlockDevice member) {
        int unsupported = sb.featureMap & ~FEATURES_SUPPORTED;
        if (unsupported != 0) {
            int bit = Integer.lowestOneBit(unsupported);
            throw new RaidException(RaidError.UNSUPPORTED_FEATURE, String.format(
                    "member %s has feature bit 0x%x (%s)%s", member.name(), bit, featureName(bit),
                    bit == FEATURE_RESHAPE_ACTIVE ? ": a reshape is in progress (finish it with mdadm first)" : ""));
        }
        if (sb.level != 0 && sb.level != 1 && sb.level != 5) {
            throw new RaidException(RaidError.UNSUPPORTED_FEATURE, "member " + member.name() + " has raid level "
                    + sb.level + " (" + levelName(sb.level) + "); scemu serves RAID-0, RAID-1 and RAID-5");
        }
    }

    private static String levelName(int level) {
        return switch (level) {
            case 4 -> "RAID-4";
            case 6 -> "RAID-6";
            case 10 -> "RAID-10";
            case -1 -> "linear";
            case -4 -> "multipath";
            case -5 -> "faulty";
            default -> "unknown";
        };
    }

    /**
     * The md metadata version other than 1.2 that {@code member} carries ("0.90", "1.0" or "1.1",
     * where md puts each: end of the device rounded to 64 KiB, 8 KiB before its end, its start), or
     * null.
     */
    static String otherMetadata(BlockDevice member) {
        try {
            long bytes = member.geometry().capacityBytes();
            long v090 = (bytes & ~(65536L - 1)) - 65536;
            if (v090 >= 0 && magicAt(member, v090, 0)) {
                return "0.90";
            }
            long v10 = ((bytes / SECTOR_BYTES - 16) & ~7L) * SECTOR_BYTES;
            if (v10 > 0 && magicAt(member, v10, 1)) {
                return "1.0";
            }
            if (magicAt(member, 0, 1)) {
                return "1.1";
            }
        } catch (CoreException e) {
            MdRaidArray.rethrowIfFatal(e);
        }
        return null;
    }

    private static boolean magicAt(BlockDevice member, long byteOffset, int majorVersion) {
        byte[] b = MetadataIo.read(member, byteOffset, 8);
        java.nio.ByteBuffer le = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        return le.getInt(0) == MAGIC && le.getInt(4) == majorVersion;
    }

    /** The freshest superblock must describe an array that fits its member (the others must match it). */
    private static void checkShape(MdSuperblock sb, BlockDevice member, int index) {
        long spb = member.blockSize() / SECTOR_BYTES;
        long memberSectors = member.blockCount() * spb;
        long used = usedSectors(sb);
        boolean chunkOk = sb.chunkSectors == 0 && sb.level == RaidLevel.RAID1.mdLevel()
                || sb.chunkSectors > 0 && sb.chunkSectors % spb == 0 && Integer.bitCount(sb.chunkSectors) == 1
                && sb.chunkSectors <= used;
        if (sb.raidDisks < 1 || sb.raidDisks > 256 || !chunkOk
                || sb.dataOffsetSectors < (SUPER_OFFSET_BYTES + SUPERBLOCK_BYTES) / SECTOR_BYTES
                || sb.dataOffsetSectors % spb != 0 || used <= 0 || sb.dataOffsetSectors > memberSectors
                || used > memberSectors - sb.dataOffsetSectors) {
            throw new RaidException(RaidError.MEMBER_GEOMETRY, "member " + index + " (" + member.name()
                    + "): superblock describes raid_disks " + sb.raidDisks + ", chunk " + sb.chunkSectors
                    + " sectors, data_offset " + sb.dataOffsetSectors + " and size " + sb.sizeSectors
                    + " sectors, which do not fit a member of " + memberSectors + " sectors");
        }
    }

    /**
     * Data sectors used on each member: {@code size}, except on RAID-0, where mdadm writes 0 and
     * md's raid0 ({@code create_strip_zones}) uses data_size rounded down to the chunk.
     */
    static long usedSectors(MdSuperblock sb) {
        if (sb.level == 0 && sb.sizeSectors == 0 && sb.chunkSectors > 0) {
            return sb.dataSizeSectors / sb.chunkSectors * sb.chunkSectors;
        }
        return sb.sizeSectors;
    }

    private static RaidLevel level(MdSuperblock sb) {
        return RaidLevel.ofMd(sb.level);
    }

    /** The set UUID most candidates carry; a tie between sets is refused (which array is meant is unknown). */
    private static UUID majoritySet(List<Candidate> decoded) {
        Map<UUID, Integer> counts = new LinkedHashMap<>();
        for (Candidate c : decoded) {
            counts.merge(c.sb().setUuid, 1, Integer::sum);
        }
        int best = counts.values().stream().max(Integer::compare).orElse(0);
        List<UUID> top = counts.entrySet().stream().filter(e -> e.getValue() == best).map(Map.Entry::getKey)
                .toList();
        if (top.size() > 1) {
            StringBuilder sets = new StringBuilder();
            for (Candidate c : decoded) {
                sets.append(sets.length() == 0 ? "" : "; ").append("member ").append(c.label())
                        .append(" belongs to array ").append(MdSuperblock.mdadmUuid(c.sb().setUuid));
            }
            throw new RaidException(RaidError.FOREIGN_MEMBER, "the members belong to " + counts.size()
                    + " arrays with " + best + " member(s) each, which one to start is ambiguous: " + sets);
        }
        return top.get(0);
    }

    /**
     * Why each role without a member has none. A left-out candidate is matched to the role it is
     * known to have held (a stale member's superblock says); else, when the caller passed one
     * candidate per role, to the role of its position (how {@link #create} assigns roles); else,
     * when one role and one candidate remain, to that role. Other roles are "missing".
     */
    private static String[] faultsOfEmptyRoles(BlockDevice[] byRole, List<LeftOut> leftOut, int candidateCount,
                                               List<LeftOut> unmatched) {
        String[] faults = new String[byRole.length];
        for (LeftOut l : leftOut) {
            int role = l.role() >= 0 ? l.role() : candidateCount == byRole.length ? l.index() : -1;
            if (role >= 0 && byRole[role] == null && faults[role] == null) {
                faults[role] = l.reason();
            } else {
                unmatched.add(l);
            }
        }
        List<Integer> empty = new ArrayList<>();
        for (int r = 0; r < byRole.length; r++) {
            if (byRole[r] == null && faults[r] == null) {
                empty.add(r);
            }
        }
        if (empty.size() == 1 && unmatched.size() == 1) {
            faults[empty.get(0)] = unmatched.remove(0).reason();
        } else {
            for (int r : empty) {
                faults[r] = "missing";
            }
        }
        return faults;
    }

    private static String describe(List<LeftOut> leftOut) {
        StringBuilder out = new StringBuilder();
        for (LeftOut l : leftOut) {
            out.append(out.length() == 0 ? "" : "; ").append("member ").append(l.index()).append(" (")
                    .append(l.device().name()).append("): ").append(l.reason());
        }
        return out.toString();
    }

    private static String roleName(int role) {
        return role == ROLE_FAULTY ? "faulty" : role == ROLE_SPARE ? "spare" : "role " + role;
    }
}
