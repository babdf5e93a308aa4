package dev.scemu.unit;

import dev.scemu.core.IoMeter;
import dev.scemu.raid.MemberState;
import dev.scemu.snapshot.SnapshotInfo;
import java.util.List;

/** A snapshot of a control unit's state for reports and the CLI. */
public record UnitStatus(String raidLevel, int chunkBytes, boolean degraded, List<MemberState> members,
                         List<GptPartition> partitions, String firmwareVersion, String firmwareSha256,
                         List<SnapshotInfo> snapshots, IoMeter.Snapshot volumeMeter, IoMeter.Snapshot arrayMeter,
                         List<IoMeter.Snapshot> diskMeters) {

    /** Physical bytes written to all disks ÷ bytes the host wrote: the end-to-end write amplification. */
    public double endToEndWriteAmplification() {
        long host = volumeMeter.receivedWrite().bytes();
        long physical = diskMeters.stream().mapToLong(m -> m.issuedWriteTotal().bytes()).sum();
        return host == 0 ? Double.NaN : (double) physical / host;
    }

    /** A human-readable multi-line report. */
    public String describe() {
        StringBuilder out = new StringBuilder();
        out.append(String.format("array      %s, chunk %d KiB, %s%n", raidLevel, chunkBytes >> 10, degraded ? "DEGRADED" : "optimal"));
        for (int i = 0; i < members.size(); i++) {
            out.append(String.format("  disk %d   %s%n", i, members.get(i)));
        }
        for (GptPartition p : partitions) {
            out.append(String.format("partition  %-16s %8d MiB at %d MiB%n", p.name(), p.sizeBytes() >> 20, p.offsetBytes() >> 20));
        }
        out.append(String.format("firmware   %s (sha256 %s...)%n", firmwareVersion, firmwareSha256.substring(0, 16)));
        out.append(String.format("snapshots  %d%n", snapshots.size()));
        for (SnapshotInfo s : snapshots) {
            out.append(String.format("  %s%n", s));
        }
        out.append(String.format("meters     host wrote %d B; array issued %d B; disks wrote %d B; end-to-end WA %.3f%n",
                volumeMeter.receivedWrite().bytes(), arrayMeter.issuedWriteTotal().bytes(),
                diskMeters.stream().mapToLong(m -> m.issuedWriteTotal().bytes()).sum(), endToEndWriteAmplification()));
        return out.toString();
    }
}
