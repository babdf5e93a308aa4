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
        SnapshotInfo base = snapshotOf(volume, baseToken);
        return base == null ? null : volume.changedBlocks(base.id(), snapshot.id());
    }

    /** The snapshot of {@code volume} that {@code token} names, or null if it is gone or the token is not one of {@link #token}'s. */
    static SnapshotInfo snapshotOf(SnapshotVolume volume, String token) {
        if (token == null || !token.startsWith("snapshot-") || token.indexOf('@') < 0) {
            return null;
        }
        long id;
        long epoch;
        try {
            id = Long.parseLong(token.substring("snapshot-".length(), token.indexOf('@')));
            epoch = Long.parseLong(token.substring(token.indexOf('@') + 1));
        } catch (NumberFormatException e) {
            return null;
        }
        for (SnapshotInfo info : volume.listSnapshots()) {
            if (info.id() == id && info.epoch() == epoch) {
                return info;
            }
        }
        return null;
    }
}
