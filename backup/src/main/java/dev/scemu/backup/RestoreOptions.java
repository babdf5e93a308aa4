package dev.scemu.backup;

import java.util.Objects;

/**
 * Options of a restore. Immutable; start from {@link #defaults()}.
 *
 * @param verifyFirst check the whole chain before the first write (default): after the metadata
 *     (key, header MAC, trailer, authenticated chunk index, image MAC), an integrity pass checks
 *     every chunk's stored bytes against the authenticated index (SHA-256) without decrypting or
 *     decompressing them, so a wrong password, a tampered, swapped or truncated image leaves the
 *     destination untouched; the restore then decodes each chunk once, checking its GCM tag and
 *     size again before writing it. Without it the restore is one pass: the key, the header, the
 *     trailer and its authenticated chunk index are checked before the first write, and each chunk
 *     is authenticated before it is written (a damaged chunk stops a restore that already wrote
 *     the chunks before it).
 * @param zeroPolicy what to do with zero runs
 * @param threads worker threads for decryption/decompression
 * @param checkpointIntervalBytes restored bytes between checkpoints (flush + checkpoint blob)
 * @param checkpointName name of the restore checkpoint blob on the target, or null for
 *     {@code restore-<imageId>-<destination name>}
 * @param progress progress listener
 */
public record RestoreOptions(boolean verifyFirst, ZeroPolicy zeroPolicy, int threads, long checkpointIntervalBytes,
                             String checkpointName, ProgressListener progress) {

    public RestoreOptions {
        Objects.requireNonNull(zeroPolicy, "zeroPolicy");
        Objects.requireNonNull(progress, "progress");
        if (threads < 1 || threads > 256) {
            throw new BackupException(BackupError.INVALID_ARGUMENT, "threads " + threads + " is not in 1..256");
        }
        if (checkpointIntervalBytes < 1) {
            throw new BackupException(BackupError.INVALID_ARGUMENT,
                    "checkpoint interval " + checkpointIntervalBytes + " bytes must be positive");
        }
    }

    public static RestoreOptions defaults() {
        return new RestoreOptions(true, ZeroPolicy.TRIM, Runtime.getRuntime().availableProcessors(), 64L << 20,
                null, ProgressListener.NONE);
    }

    public RestoreOptions withVerifyFirst(boolean verify) {
        return new RestoreOptions(verify, zeroPolicy, threads, checkpointIntervalBytes, checkpointName, progress);
    }

    public RestoreOptions withZeroPolicy(ZeroPolicy policy) {
        return new RestoreOptions(verifyFirst, policy, threads, checkpointIntervalBytes, checkpointName, progress);
    }

    public RestoreOptions withThreads(int count) {
        return new RestoreOptions(verifyFirst, zeroPolicy, count, checkpointIntervalBytes, checkpointName, progress);
    }

    public RestoreOptions withCheckpointIntervalBytes(long bytes) {
        return new RestoreOptions(verifyFirst, zeroPolicy, threads, bytes, checkpointName, progress);
    }

    public RestoreOptions withCheckpointName(String name) {
        return new RestoreOptions(verifyFirst, zeroPolicy, threads, checkpointIntervalBytes, name, progress);
    }

    public RestoreOptions withProgress(ProgressListener listener) {
        return new RestoreOptions(verifyFirst, zeroPolicy, threads, checkpointIntervalBytes, checkpointName, listener);
    }
}
