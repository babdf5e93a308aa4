package dev.scemu.backup;

import dev.scemu.backup.internal.DirectoryBackupTarget;
import dev.scemu.backup.internal.S3BackupTarget;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * Where images live: a local directory ({@link #directory}) or an S3-compatible object store
 * ({@link #s3}). An image is one byte stream written once (appended, then published atomically)
 * and read by ranges; small checkpoint blobs let an interrupted backup or restore resume.
 * Implementations are thread-safe. Idempotent close.
 */
public interface BackupTarget extends AutoCloseable {

    /** A short description for messages ("dir:/backups", "s3://bucket/prefix"). */
    String name();

    /** Starts a new image; fails with {@link BackupError#IMAGE_EXISTS} if one is committed under the id. */
    ImageWriter createImage(String imageId);

    /**
     * Continues a partial image after its first {@code durableLength} bytes (anything beyond is
     * dropped), with the {@link ImageWriter#resumeState()} recorded at that point.
     */
    ImageWriter resumeImage(String imageId, long durableLength, String resumeState);

    /** Opens a committed image; {@link BackupError#IMAGE_NOT_FOUND} if there is none. */
    ImageReader openImage(String imageId);

    boolean exists(String imageId);

    /** Ids of the committed images, sorted. */
    List<String> list();

    /** Deletes a committed image (and nothing else). */
    void delete(String imageId);

    /** Replaces the checkpoint blob {@code name} atomically. */
    void writeCheckpoint(String name, byte[] bytes);

    Optional<byte[]> readCheckpoint(String name);

    void deleteCheckpoint(String name);

    @Override
    void close();

    /** The default target: images are files {@code <imageId>.scb} in {@code directory}. */
    static BackupTarget directory(Path directory) {
        return new DirectoryBackupTarget(directory);
    }

    /** An S3-compatible bucket (AWS SDK v2 sync client, multipart upload). */
    static BackupTarget s3(S3TargetConfig config) {
        return new S3BackupTarget(config);
    }
}
