package dev.scemu.backup;

import dev.scemu.core.BlockGeometry;

/**
 * The base of an incremental backup, opened and checked by {@link BackupEngine#checkBase(BackupTarget, BackupOptions)}
 * before the caller takes the snapshot it will back up: the image named by
 * {@link BackupOptions#baseImageId()}, its header and image MACs verified with the options' password
 * (one Argon2id run), its whole-image hash recorded. A caller that needs no volume to make this
 * check (the CLI) runs it on another thread while it opens the volume, checks the volume with
 * {@link #checkVolume} once it has one, and hands the result to
 * {@link BackupEngine#backup(BackupSource, BackupTarget, BackupOptions, ImageKey, CheckedBase)}, which then
 * neither opens the base again nor runs its key derivation a second time.
 *
 * <p>The new image records the base's whole-image hash as checked here: a base replaced on the
 * target after the check (another image under its id) makes the incremental's chain fail at restore
 * ({@code BASE_MISMATCH}), never restore other data. Holds no open reader; immutable, thread-safe.
 */
public interface CheckedBase {

    /** The base image's metadata. */
    ImageInfo info();

    /**
     * {@code BASE_MISMATCH} unless the base was made from the volume {@code volumeId} with
     * {@code geometry} (block size and count): an incremental must be made on a base of the same volume.
     */
    void checkVolume(String volumeId, BlockGeometry geometry);
}
