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
     * Continues an interrupted backup of {@code imageId} from its last checkpoint. The source must
     * be the same snapshot (same token); the password (if any) must be given again in
     * {@code options}; chunk size and compression come from the interrupted image.
     */
    public static BackupResult resumeBackup(BackupSource source, BackupTarget target, String imageId,
                                            BackupOptions options) {
        return BackupRun.resume(source, target, imageId, options);
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
