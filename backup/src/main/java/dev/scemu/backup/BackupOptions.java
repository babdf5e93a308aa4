package dev.scemu.backup;

import java.util.Objects;

/**
 * Options of a backup. Immutable; start from {@link #defaults()} and use the {@code with*} methods.
 *
 * @param imageId id of the new image, or null for a random UUID
 * @param baseImageId id of the base image for an incremental, or null for a full backup
 * @param password password, or null for an unencrypted (but still checksummed) image
 * @param kdf Argon2id cost parameters (used when a password is given)
 * @param compressionLevel zstd level, 1..22 (default 3); 0 stores chunks uncompressed
 * @param chunkSizeBytes bytes of volume per chunk, a multiple of the block size (default 8 MiB: see
 *     docs/backup-format.md, "Chunk size")
 * @param threads worker threads for compression/encryption (default: available processors)
 * @param checkpointIntervalBytes archive bytes between checkpoints (resume points)
 * @param userLabel free text stored in the header
 * @param progress progress listener
 * @param simulationSeed null (the default): a missing image id is a random UUID from
 *                       {@code SecureRandom}; a seed makes that id deterministic, for simulations
 *                       only. Salts and AES-GCM nonces are always {@code SecureRandom}: a seeded
 *                       nonce could repeat under the same key.
 */
public record BackupOptions(String imageId, String baseImageId, char[] password, KdfParameters kdf,
                            int compressionLevel, int chunkSizeBytes, int threads, long checkpointIntervalBytes,
                            String userLabel, ProgressListener progress, Long simulationSeed) {

    public static final int DEFAULT_CHUNK_SIZE_BYTES = 8 << 20;
    public static final int MAX_CHUNK_SIZE_BYTES = 64 << 20;

    public BackupOptions {
        Objects.requireNonNull(kdf, "kdf");
        Objects.requireNonNull(userLabel, "userLabel");
        Objects.requireNonNull(progress, "progress");
        if (compressionLevel < 0 || compressionLevel > 22) {
            throw new BackupException(BackupError.INVALID_ARGUMENT, "zstd level " + compressionLevel + " is not in 0..22");
        }
        if (chunkSizeBytes < 512 || chunkSizeBytes > MAX_CHUNK_SIZE_BYTES) {
            throw new BackupException(BackupError.INVALID_ARGUMENT,
                    "chunk size " + chunkSizeBytes + " bytes is not in 512.." + MAX_CHUNK_SIZE_BYTES);
        }
        if (threads < 1 || threads > 256) {
            throw new BackupException(BackupError.INVALID_ARGUMENT, "threads " + threads + " is not in 1..256");
        }
        if (checkpointIntervalBytes < 1) {
            throw new BackupException(BackupError.INVALID_ARGUMENT,
                    "checkpoint interval " + checkpointIntervalBytes + " bytes must be positive");
        }
        if (password != null && password.length == 0) {
            throw new BackupException(BackupError.INVALID_ARGUMENT, "password is empty; pass null for no password");
        }
    }

    public static BackupOptions defaults() {
        return new BackupOptions(null, null, null, KdfParameters.DEFAULT, 3, DEFAULT_CHUNK_SIZE_BYTES,
                Runtime.getRuntime().availableProcessors(), 64L << 20, "", ProgressListener.NONE, null);
    }

    public BackupOptions withImageId(String id) {
        return new BackupOptions(id, baseImageId, password, kdf, compressionLevel, chunkSizeBytes, threads,
                checkpointIntervalBytes, userLabel, progress, simulationSeed);
    }

    /** Makes this an incremental backup on {@code baseId}. */
    public BackupOptions withBase(String baseId) {
        return new BackupOptions(imageId, baseId, password, kdf, compressionLevel, chunkSizeBytes, threads,
                checkpointIntervalBytes, userLabel, progress, simulationSeed);
    }

    public BackupOptions withPassword(char[] pw) {
        return new BackupOptions(imageId, baseImageId, pw == null ? null : pw.clone(), kdf, compressionLevel,
                chunkSizeBytes, threads, checkpointIntervalBytes, userLabel, progress, simulationSeed);
    }

    public BackupOptions withKdf(KdfParameters parameters) {
        return new BackupOptions(imageId, baseImageId, password, parameters, compressionLevel, chunkSizeBytes,
                threads, checkpointIntervalBytes, userLabel, progress, simulationSeed);
    }

    public BackupOptions withCompressionLevel(int level) {
        return new BackupOptions(imageId, baseImageId, password, kdf, level, chunkSizeBytes, threads,
                checkpointIntervalBytes, userLabel, progress, simulationSeed);
    }

    public BackupOptions withChunkSizeBytes(int bytes) {
        return new BackupOptions(imageId, baseImageId, password, kdf, compressionLevel, bytes, threads,
                checkpointIntervalBytes, userLabel, progress, simulationSeed);
    }

    public BackupOptions withThreads(int count) {
        return new BackupOptions(imageId, baseImageId, password, kdf, compressionLevel, chunkSizeBytes, count,
                checkpointIntervalBytes, userLabel, progress, simulationSeed);
    }

    public BackupOptions withCheckpointIntervalBytes(long bytes) {
        return new BackupOptions(imageId, baseImageId, password, kdf, compressionLevel, chunkSizeBytes, threads,
                bytes, userLabel, progress, simulationSeed);
    }

    public BackupOptions withUserLabel(String label) {
        return new BackupOptions(imageId, baseImageId, password, kdf, compressionLevel, chunkSizeBytes, threads,
                checkpointIntervalBytes, label, progress, simulationSeed);
    }

    public BackupOptions withProgress(ProgressListener listener) {
        return new BackupOptions(imageId, baseImageId, password, kdf, compressionLevel, chunkSizeBytes, threads,
                checkpointIntervalBytes, userLabel, listener, simulationSeed);
    }

    /**
     * Makes a missing image id deterministic for a simulation ({@code null}: random again). Only the
     * id: salts and nonces stay {@code SecureRandom}.
     */
    public BackupOptions withSimulationSeed(Long seed) {
        return new BackupOptions(imageId, baseImageId, password, kdf, compressionLevel, chunkSizeBytes, threads,
                checkpointIntervalBytes, userLabel, progress, seed);
    }

    @Override
    public String toString() {
        return "BackupOptions[imageId=" + imageId + ", base=" + baseImageId + ", encrypted=" + (password != null)
                + ", kdf=" + kdf + ", zstd=" + compressionLevel + ", chunk=" + chunkSizeBytes + " B, threads=" + threads
                + ", checkpointInterval=" + checkpointIntervalBytes + " B, label=" + userLabel
                + (simulationSeed != null ? ", simulationSeed=" + simulationSeed : "") + "]";
    }
}
