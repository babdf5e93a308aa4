package dev.scemu.unit;

import dev.scemu.core.IoCause;
import dev.scemu.core.IoMeter;
import dev.scemu.raid.MemberState;
import dev.scemu.snapshot.SnapshotInfo;
import java.util.List;
import java.util.Map;

/**
 * A snapshot of a control unit's state for reports and the CLI.
 *
 * <p>{@code lastScrub} is the last recorded scrub (null: never scrubbed). The array is reported
 * {@code INCONSISTENT} rather than {@code optimal} while that scrub left mismatches unrepaired.
 *
 * @param memberFaults why each failed member is out of the array, by disk index ("missing (image
 *        file disk2.img not found)", "md superblock checksum mismatch: ...", "belongs to array ...",
 *        "stale: ...", or the error that failed it); members in the array are absent
 */
public record UnitStatus(String raidLevel, int chunkBytes, boolean degraded, List<MemberState> members,
                         List<GptPartition> partitions, String firmwareVersion, String firmwareSha256,
                         List<SnapshotInfo> snapshots, IoMeter.Snapshot volumeMeter, IoMeter.Snapshot arrayMeter,
                         List<IoMeter.Snapshot> diskMeters, ScrubRecord lastScrub, Map<Integer, String> memberFaults) {

    public UnitStatus {
        memberFaults = Map.copyOf(memberFaults);
    }

    /**
     * Bytes the array wrote to its disks for the host's sake ÷ bytes the host wrote: the end-to-end
     * write amplification (COW copies, journal, metadata, parity included; rebuild and scrub,
     * which are not caused by host writes, excluded).
     */
    public double endToEndWriteAmplification() {
        long host = volumeMeter.receivedWrite().bytes();
        long physical = arrayMeter.issuedWriteTotal().bytes() - arrayMeter.issuedWrite(IoCause.REBUILD).bytes()
                - arrayMeter.issuedWrite(IoCause.SCRUB).bytes();
        return host == 0 ? Double.NaN : (double) physical / host;
    }

    /** A human-readable multi-line report. */
    public String describe() {
        StringBuilder out = new StringBuilder();
        long inSync = members.stream().filter(state -> state == MemberState.ACTIVE).count();
        int needed = "RAID1".equals(raidLevel) ? 1 : members.size() - 1; // RAID-5 (RAID-0 below)
        String health = degraded
                ? ("RAID0".equals(raidLevel) ? "FAILED (RAID-0 has no redundancy)"
                : inSync < needed ? "FAILED (" + inSync + " of " + members.size() + " disks in sync, " + raidLevel
                + " needs " + needed + ": reads and writes fail)" : "DEGRADED")
                : lastScrub != null && lastScrub.leftMismatches()
                ? "INCONSISTENT (" + (lastScrub.mismatchedStripes() - lastScrub.repairedStripes())
                + " stripes failed the last scrub; scemu scrub --repair)" : "optimal";
        out.append(String.format("array      %s, chunk %d KiB, %s%n", raidLevel, chunkBytes >> 10, health));
        for (int i = 0; i < members.size(); i++) {
            String fault = memberFaults.get(i);
            out.append(String.format("  disk %d   %s%s%n", i, members.get(i), fault == null ? "" : ": " + fault));
        }
        for (GptPartition p : partitions) {
            out.append(String.format("partition  %-16s %8d MiB at %d MiB%n", p.name(), p.sizeBytes() >> 20, p.offsetBytes() >> 20));
        }
        out.append(String.format("scrub      %s%n", lastScrub == null ? "never" : "last " + lastScrub.describe()));
        out.append(String.format("firmware   %s (sha256 %s...)%n", firmwareVersion, firmwareSha256.substring(0, 16)));
        out.append(String.format("snapshots  %d%n", snapshots.size()));
        for (SnapshotInfo s : snapshots) {
            out.append(String.format("  id %-4d %-24s created %s (epoch %d)%n", s.id(), "'" + s.name() + "'", s.createdAt(), s.epoch()));
        }
        double amplification = endToEndWriteAmplification();
        out.append(String.format("meters     host wrote %,d B; array wrote %,d B to disks (rebuild %,d B); "
                        + "end-to-end WA %s%n",
                volumeMeter.receivedWrite().bytes(), arrayMeter.issuedWriteTotal().bytes(),
                arrayMeter.issuedWrite(IoCause.REBUILD).bytes(),
                Double.isNaN(amplification) ? "n/a (the host wrote nothing since open)"
                        : String.format("%.2f (rebuild excluded)", amplification)));
        return out.toString();
    }
}
