package dev.scemu.backup;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.Extent;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * What a backup reads: one point-in-time, read-only view of a volume (a snapshot view), with what
 * the snapshot layer knows about it. The control-unit module adapts its snapshots to this; plain
 * devices use {@link #ofDevice}.
 *
 * <p>The engine calls {@link #release()} exactly once when the backup (or its resume) ends,
 * successfully or not; a later resume takes a new source for the same snapshot token.
 */
public interface BackupSource {

    /** The snapshot view to read (HOST reads; the device meters itself). */
    BlockDevice device();

    /** Stable id of the volume the snapshot belongs to (recorded in the image; an incremental's base must match). */
    String volumeId();

    /** Identifies this snapshot; an incremental asks {@link #changedExtentsSince} with its base's token. */
    String snapshotToken();

    /**
     * Blocks that may hold data, or null if unknown: then every block is read and all-zero
     * blocks are skipped. Blocks outside these extents are recorded as zero (unused).
     */
    default List<Extent> usedExtents() {
        return null;
    }

    /**
     * Blocks changed since the snapshot {@code baseSnapshotToken}, or null if the source cannot
     * tell (an incremental then fails with {@link BackupError#CHANGED_BLOCKS_UNKNOWN}).
     */
    default List<Extent> changedExtentsSince(String baseSnapshotToken) {
        return null;
    }

    /** Called once when the backup ends; releases the snapshot. */
    default void release() {
    }

    /** A source over a plain device: everything is scanned, incrementals are not supported. */
    static BackupSource ofDevice(BlockDevice device, String volumeId, String snapshotToken) {
        return builder(device).volumeId(volumeId).snapshotToken(snapshotToken).build();
    }

    static Builder builder(BlockDevice device) {
        return new Builder(device);
    }

    /** Builds a source over a device with optional used-extent and changed-extent knowledge. */
    final class Builder {
        private final BlockDevice device;
        private String volumeId;
        private String snapshotToken;
        private List<Extent> usedExtents;
        private Function<String, List<Extent>> changedSince = token -> null;
        private Runnable onRelease = () -> { };

        private Builder(BlockDevice device) {
            this.device = Objects.requireNonNull(device, "device");
            this.volumeId = device.name();
            this.snapshotToken = "";
        }

        public Builder volumeId(String id) {
            this.volumeId = Objects.requireNonNull(id, "volumeId");
            return this;
        }

        public Builder snapshotToken(String token) {
            this.snapshotToken = Objects.requireNonNull(token, "snapshotToken");
            return this;
        }

        public Builder usedExtents(List<Extent> extents) {
            this.usedExtents = extents == null ? null : List.copyOf(extents);
            return this;
        }

        public Builder changedExtents(Function<String, List<Extent>> changedSinceToken) {
            this.changedSince = Objects.requireNonNull(changedSinceToken, "changedSinceToken");
            return this;
        }

        public Builder onRelease(Runnable action) {
            this.onRelease = Objects.requireNonNull(action, "action");
            return this;
        }

        public BackupSource build() {
            String id = volumeId;
            String token = snapshotToken;
            List<Extent> used = usedExtents;
            Function<String, List<Extent>> changed = changedSince;
            Runnable release = onRelease;
            return new BackupSource() {
                @Override
                public BlockDevice device() {
                    return device;
                }

                @Override
                public String volumeId() {
                    return id;
                }

                @Override
                public String snapshotToken() {
                    return token;
                }

                @Override
                public List<Extent> usedExtents() {
                    return used;
                }

                @Override
                public List<Extent> changedExtentsSince(String baseSnapshotToken) {
                    return changed.apply(baseSnapshotToken);
                }

                @Override
                public void release() {
                    release.run();
                }
            };
        }
    }
}
