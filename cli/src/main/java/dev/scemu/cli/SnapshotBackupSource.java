package dev.scemu.cli;

import dev.scemu.backup.BackupSource;
import dev.scemu.core.Extent;
import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.snapshot.SnapshotVolume;
import java.util.List;

/**
 * Adapts a snapshot of a {@link SnapshotVolume} to a {@link BackupSource}: the device is the
 * snapshot's read-only view; the token is {@code snapshot-<id>@<epoch>}; changed extents since a
 * base token come from the mapping table ({@link SnapshotVolume#changedBlocks}) while the base
 * snapshot still exists; release deletes the snapshot unless it is kept.
 */
final class SnapshotBackupSource {

    private SnapshotBackupSource() {
    }

    static BackupSource of(SnapshotVolume volume, String volumeId, SnapshotInfo snapshot, boolean keepSnapshot) {
        return BackupSource.builder(volume.snapshot(snapshot.id()))
                .volumeId(volumeId)
                .snapshotToken(token(snapshot))
                .changedExtents(base -> changedSince(volume, snapshot, base))
                .onRelease(() -> {
                    if (!keepSnapshot) {
                        volume.deleteSnapshot(snapshot.id());
                    }
                })
                .build();
    }

    static String token(SnapshotInfo snapshot) {
        return "snapshot-" + snapshot.id() + "@" + snapshot.epoch();
    }

    /** Blocks changed between the base snapshot and this one, or null if the base is gone or unknown. */
    static List<Extent> changedSince(SnapshotVolume volume, SnapshotInfo snapshot, String baseToken) {
        if (baseToken == null || !baseToken.startsWith("snapshot-") || baseToken.indexOf('@') < 0) {
            return null;
        }
        long baseId;
        long baseEpoch;
        try {
            baseId = Long.parseLong(baseToken.substring("snapshot-".length(), baseToken.indexOf('@')));
            baseEpoch = Long.parseLong(baseToken.substring(baseToken.indexOf('@') + 1));
        } catch (NumberFormatException e) {
            return null;
        }
        for (SnapshotInfo info : volume.listSnapshots()) {
            if (info.id() == baseId && info.epoch() == baseEpoch) {
                return volume.changedBlocks(baseId, snapshot.id());
            }
        }
        return null;
    }
}
