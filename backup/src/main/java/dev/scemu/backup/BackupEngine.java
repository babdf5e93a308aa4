package dev.scemu.backup;

import dev.scemu.backup.internal.BackupRun;
import dev.scemu.backup.internal.RestoreRun;
import dev.scemu.core.BlockDevice;

/**
 * Volume image backup, verify and restore. Stateless; every method runs on the calling thread
 * with a small pool of worker threads for compression, encryption and hashing.
 *
 * <p>Format: docs/backup-format.md. Guarantees of a restore: see {@link RestoreOptions#verifyFirst()}.
 */
public final class BackupEngine {

    private BackupEngine() {
    }

    /**
     * Backs up {@code source} (full, or incremental when {@link BackupOptions#baseImageId()} is
     * set) into a new image on {@code target}. Calls {@link BackupSource#release()} when done.
     */
    public static BackupResult backup(BackupSource source, BackupTarget target, BackupOptions options) {
        return BackupRun.backup(source, target, options);
    }

    /**
     * {@link #backup(BackupSource, BackupTarget, BackupOptions)} with the new image's key derived
     * beforehand by {@link #deriveImageKey} from the same options' password and KDF parameters
     * (checked: {@code INVALID_ARGUMENT} if the parameters differ, the options have no password, or
     * the key was used or closed). The key is used once; the caller still closes it.
     */
    public static BackupResult backup(BackupSource source, BackupTarget target, BackupOptions options, ImageKey key) {
        return BackupRun.backup(source, target, options, java.util.Objects.requireNonNull(key, "key"), null);
    }

    /**
     * {@link #backup(BackupSource, BackupTarget, BackupOptions)} with what a caller prepared while it
     * opened its source: the new image's {@code key} from {@link #deriveImageKey} (null without a
     * password; checked as in {@link #backup(BackupSource, BackupTarget, BackupOptions, ImageKey)}) and,
     * for an incremental, its base from {@link #checkBase(BackupTarget, BackupOptions)} made with the same
     * options (null: the base is opened here). The base is not opened again: its volume is checked
     * against the source ({@code BASE_MISMATCH}); {@code INVALID_ARGUMENT} if it names another image than
     * {@link BackupOptions#baseImageId()}, was opened with another password, or the options name no base.
     */
    public static BackupResult backup(BackupSource source, BackupTarget target, BackupOptions options, ImageKey key,
                                      CheckedBase base) {
        return BackupRun.backup(source, target, options, key, base);
    }

    /**
     * The checks {@link #backup} makes of an incremental's base ({@link BackupOptions#baseImageId()}),
     * made before the caller takes the snapshot it will back up, so that a refused base changes
     * nothing on the volume: the base opens with the options' password (MACs checked) and is of
     * the volume {@code volumeId} with {@code geometry} ({@code IMAGE_NOT_FOUND},
     * {@code WRONG_PASSWORD}, {@code NOT_ENCRYPTED}, {@code BASE_MISMATCH}, ... otherwise, the
     * errors {@code backup} would throw). Returns the base's info, whose
     * {@link ImageInfo#snapshotToken()} the caller's source must know. {@code backup} checks it
     * again (opening the base once more); {@link #checkBase(BackupTarget, BackupOptions)} returns a
     * result that {@code backup} takes instead.
     */
    public static ImageInfo checkBase(BackupTarget target, BackupOptions options, String volumeId,
                                      dev.scemu.core.BlockGeometry geometry) {
        CheckedBase base = checkBase(target, options);
        base.checkVolume(volumeId, geometry);
        return base.info();
    }

    /**
     * Opens and checks the base of an incremental ({@link BackupOptions#baseImageId()}) with the
     * options' password, without a volume: header and image MACs, whole-image hash
     * ({@code IMAGE_NOT_FOUND}, {@code WRONG_PASSWORD}, {@code NOT_ENCRYPTED}, {@code CORRUPT_IMAGE},
     * {@code AUTHENTICATION_FAILED}, ...; {@code INVALID_ARGUMENT} if the options name no base). Needs
     * no volume, so a caller runs it while it opens one; then {@link CheckedBase#checkVolume} and
     * {@link #backup(BackupSource, BackupTarget, BackupOptions, ImageKey, CheckedBase)}.
     */
    public static CheckedBase checkBase(BackupTarget target, BackupOptions options) {
        return BackupRun.openBase(target, options);
    }

    /**
     * Derives the key of a new encrypted image from {@code options.password()} with
     * {@code options.kdf()} and a fresh random salt: the one Argon2id run of a backup, taken out so
     * that a caller can run it on another thread while it opens its source (the parameters are the
     * security setting they always are; only the moment changes). {@code INVALID_ARGUMENT} without
     * a password.
     */
    public static ImageKey deriveImageKey(BackupOptions options) {
        return dev.scemu.backup.internal.NewImageKey.derive(options.password(), options.kdf());
    }

    /**
     * Loads and self-tests the native libraries the engine uses (OpenSSL libcrypto's known-answer
     * comparison, zstd-jni, libargon2's comparison with BouncyCastle), which the first backup or
     * restore in a JVM otherwise does on its calling thread. Optional; idempotent; a caller with
     * start-up work of its own runs it on another thread meanwhile.
     */
    public static void warmUp() {
        dev.scemu.backup.internal.ChunkCodec.warmUp();
    }

    /**
     * Continues an interrupted backup of {@code imageId} from its last checkpoint. The source must
     * be the same snapshot (same token); the password (if any) must be given again in
     * {@code options}; chunk size and compression come from the interrupted image.
     */
    public static BackupResult resumeBackup(BackupSource source, BackupTarget target, String imageId,
                                            BackupOptions options) {
        return BackupRun.resume(source, target, imageId, options);
    }

    /**
     * Drops what a failed or interrupted backup of {@code imageId} left on {@code target} for
     * {@link #resumeBackup}: the partial image (an S3 multipart upload is aborted when its checkpoint
     * names it) and its checkpoint. For a caller that will not resume, because the snapshot the backup
     * read is gone (the CLI deletes its temporary snapshot when a backup fails): the partial image can
     * then never be finished and would only hold the target's space. A committed image is left alone;
     * nothing to drop is not an error.
     */
    public static void discardPartial(BackupTarget target, String imageId) {
        dev.scemu.backup.internal.BackupRun.discardPartial(target, imageId);
    }

    /**
     * What computes AES-256-GCM and SHA-256 in this JVM: OpenSSL libcrypto when it loads and passes
     * its self test (the default), else the JDK's providers, with the reason; for reports.
     * {@code -Dscemu.backup.crypto=jdk} selects the JDK. Both write and read the same bytes.
     */
    public static String cryptoImplementation() {
        return dev.scemu.backup.internal.ChunkCodec.cryptoImplementation();
    }

    /**
     * What computes the Argon2id key derivation in this JVM: libargon2 when it loads and passes its
     * known-answer comparison with BouncyCastle, else BouncyCastle; {@code -Dscemu.backup.argon2=bouncycastle}
     * selects BouncyCastle. Both derive the same key from the same password and parameters.
     */
    public static String kdfImplementation() {
        return dev.scemu.backup.internal.ChunkCodec.kdfImplementation();
    }

    /** Checks an image and its bases (every record, hash, tag and decompression); writes nothing. */
    public static RestoreResult verify(BackupTarget target, String imageId, char[] password) {
        return RestoreRun.verify(target, imageId, password, Runtime.getRuntime().availableProcessors(),
                ProgressListener.NONE);
    }

    public static RestoreResult verify(BackupTarget target, String imageId, char[] password, ProgressListener progress) {
        return RestoreRun.verify(target, imageId, password, Runtime.getRuntime().availableProcessors(), progress);
    }

    /** What the image's header and trailer say (metadata checked, chunks not read). */
    public static ImageInfo info(BackupTarget target, String imageId, char[] password) {
        return RestoreRun.info(target, imageId, password);
    }

    /**
     * Opens and checks {@code imageId} and its bases for a restore, before any destination is
     * involved: every record and key check, the header and image MACs, the whole-image hash and,
     * with {@link RestoreOptions#verifyFirst()}, the integrity pass over every chunk (the work a
     * restore does before its first write, apart from the destination's geometry). Reads only;
     * close the result. A caller runs this on another thread while it opens the destination, then
     * calls {@link #restore(CheckedImage, BlockDevice, RestoreOptions)}.
     */
    public static CheckedImage checkForRestore(BackupTarget target, String imageId, char[] password,
                                               RestoreOptions options) {
        return RestoreRun.check(target, imageId, password, options);
    }

    /**
     * Restores a chain {@link #checkForRestore} checked to {@code destination}, with the guarantees
     * of {@link #restore(BackupTarget, String, char[], BlockDevice, RestoreOptions)} (if the check
     * ran without the integrity pass and {@code options} ask for it, it runs now, before the first
     * write). The image stays open; the caller closes it.
     */
    public static RestoreResult restore(CheckedImage image, BlockDevice destination, RestoreOptions options) {
        return RestoreRun.restore(checked(image), destination, options, false);
    }

    /** {@link #restore(CheckedImage, BlockDevice, RestoreOptions)} from the destination's last restore checkpoint. */
    public static RestoreResult resumeRestore(CheckedImage image, BlockDevice destination, RestoreOptions options) {
        return RestoreRun.restore(checked(image), destination, options, true);
    }

    private static dev.scemu.backup.internal.CheckedChain checked(CheckedImage image) {
        if (image instanceof dev.scemu.backup.internal.CheckedChain chain) {
            return chain;
        }
        throw new BackupException(BackupError.INVALID_ARGUMENT, "the checked image " + image
                + " was not made by BackupEngine.checkForRestore");
    }

    /**
     * Restores {@code imageId} (base chain first) to {@code destination}: the same volume or any
     * device with the same block size whose block count covers every stored block.
     */
    public static RestoreResult restore(BackupTarget target, String imageId, char[] password, BlockDevice destination,
                                        RestoreOptions options) {
        return RestoreRun.restore(target, imageId, password, destination, options, false);
    }

    /** Continues an interrupted restore to the same destination from its last checkpoint. */
    public static RestoreResult resumeRestore(BackupTarget target, String imageId, char[] password,
                                              BlockDevice destination, RestoreOptions options) {
        return RestoreRun.restore(target, imageId, password, destination, options, true);
    }
}
