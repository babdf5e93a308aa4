package dev.scemu.backup;

import java.util.List;

/**
 * An image chain opened and checked for a restore, before any destination is involved
 * ({@link BackupEngine#checkForRestore}): its metadata, key and image MACs and, with
 * {@link RestoreOptions#verifyFirst()}, every chunk's stored bytes against the authenticated index
 * (the integrity pass). A caller runs this on another thread while it opens the destination (the
 * CLI looks at the unit meanwhile), then restores with
 * {@link BackupEngine#restore(CheckedImage, dev.scemu.core.BlockDevice, RestoreOptions)}: the guarantees are those
 * of {@link BackupEngine#restore(BackupTarget, String, char[], dev.scemu.core.BlockDevice, RestoreOptions)}.
 *
 * <p>Holds the image readers of the chain open until {@link #close()} (idempotent). Not
 * thread-safe: hand it over to one thread at a time.
 */
public interface CheckedImage extends AutoCloseable {

    /** The images of the chain, base (the full image) first. */
    List<ImageInfo> chain();

    /** True if the integrity pass ran over every chunk of the chain. */
    boolean verified();

    /**
     * The blocks a restore of this chain with {@code zeroPolicy} may write or trim, from the
     * images' extent maps (no chunk read): every image's covered extents (its stored extents and
     * its zero runs), or with {@link ZeroPolicy#SKIP} the stored extents only; increasing,
     * disjoint, not clipped to a destination. An upper bound: zero runs are applied only where the
     * destination may hold data. For a destination that weighs a restore before its first write
     * (a snapshot volume's store: {@code SnapshotVolume.requireRoomToOverwrite}).
     */
    List<dev.scemu.core.Extent> restoreExtents(ZeroPolicy zeroPolicy);

    @Override
    void close();
}
