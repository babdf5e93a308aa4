package dev.scemu.backup;

import java.net.URI;
import java.util.Objects;

/**
 * Where and how to reach an S3-compatible bucket.
 *
 * @param endpoint endpoint override (for example {@code http://127.0.0.1:9000}), or null for AWS
 * @param region signing region
 * @param bucket bucket name (must exist)
 * @param prefix key prefix of every object, "" or ending in '/'
 * @param accessKeyId static credentials
 * @param secretAccessKey static credentials
 * @param pathStyleAccess path-style URLs (needed by most self-hosted stores)
 * @param partSizeBytes multipart part size, at least 5 MiB; images smaller than one part are one PUT
 */
public record S3TargetConfig(URI endpoint, String region, String bucket, String prefix, String accessKeyId,
                             String secretAccessKey, boolean pathStyleAccess, int partSizeBytes) {

    public static final int MIN_PART_SIZE_BYTES = 5 << 20;
    public static final int DEFAULT_PART_SIZE_BYTES = 16 << 20;

    public S3TargetConfig {
        Objects.requireNonNull(region, "region");
        Objects.requireNonNull(bucket, "bucket");
        Objects.requireNonNull(prefix, "prefix");
        Objects.requireNonNull(accessKeyId, "accessKeyId");
        Objects.requireNonNull(secretAccessKey, "secretAccessKey");
        if (partSizeBytes < MIN_PART_SIZE_BYTES) {
            throw new BackupException(BackupError.INVALID_ARGUMENT,
                    "S3 part size " + partSizeBytes + " bytes is below the minimum " + MIN_PART_SIZE_BYTES);
        }
        if (!prefix.isEmpty() && !prefix.endsWith("/")) {
            throw new BackupException(BackupError.INVALID_ARGUMENT, "S3 prefix '" + prefix + "' must be empty or end in '/'");
        }
    }

    /** A path-style config with the default part size. */
    public static S3TargetConfig of(URI endpoint, String region, String bucket, String prefix, String accessKeyId,
                                    String secretAccessKey) {
        return new S3TargetConfig(endpoint, region, bucket, prefix, accessKeyId, secretAccessKey, true,
                DEFAULT_PART_SIZE_BYTES);
    }

    public S3TargetConfig withPartSizeBytes(int bytes) {
        return new S3TargetConfig(endpoint, region, bucket, prefix, accessKeyId, secretAccessKey, pathStyleAccess, bytes);
    }
}
