package dev.scemu.backup.internal;

import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.backup.BackupTarget;
import dev.scemu.backup.ImageReader;
import dev.scemu.backup.ImageWriter;
import dev.scemu.backup.S3TargetConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Images as objects {@code <prefix><imageId>.scb} in an S3-compatible bucket (AWS SDK v2, sync
 * client). An image is written as a multipart upload, invisible until CompleteMultipartUpload
 * publishes it atomically; an image smaller than one part is a single PutObject at commit. Parts
 * are cut only at record boundaries and are at least {@link S3TargetConfig#partSizeBytes()}, so
 * the durable prefix (uploaded parts) always ends on a record and an interrupted backup resumes
 * with the same upload id. Checkpoints are objects {@code <prefix><name>.ckpt}. Reads are ranged
 * GETs with a read-ahead window.
 */
public final class S3BackupTarget implements BackupTarget {

    private static final int READ_AHEAD_BYTES = 8 << 20;

    private final S3TargetConfig config;
    private final S3Client client;
    private boolean closed;

    public S3BackupTarget(S3TargetConfig config) {
        this.config = config;
        S3ClientBuilder builder = S3Client.builder()
                .region(Region.of(config.region()))
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(config.accessKeyId(), config.secretAccessKey())))
                .forcePathStyle(config.pathStyleAccess())
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .httpClientBuilder(Apache5HttpClient.builder().connectionTimeout(Duration.ofSeconds(10)));
        if (config.endpoint() != null) {
            builder.endpointOverride(config.endpoint());
        }
        this.client = builder.build();
    }

    private String imageKey(String imageId) {
        BackupRun.checkImageId(imageId);
        return config.prefix() + imageId + DirectoryBackupTarget.IMAGE_SUFFIX;
    }

    private String checkpointKey(String name) {
        BackupRun.checkImageId(name);
        return config.prefix() + name + DirectoryBackupTarget.CHECKPOINT_SUFFIX;
    }

    @Override
    public String name() {
        return "s3://" + config.bucket() + "/" + config.prefix();
    }

    @Override
    public ImageWriter createImage(String imageId) {
        if (exists(imageId)) {
            throw new BackupException(BackupError.IMAGE_EXISTS, "image " + imageId + " already exists in " + name());
        }
        return new S3ImageWriter(imageKey(imageId), null, new ArrayList<>());
    }

    @Override
    public ImageWriter resumeImage(String imageId, long durableLength, String resumeState) {
        if (exists(imageId)) {
            throw new BackupException(BackupError.IMAGE_EXISTS, "image " + imageId + " is already committed in " + name());
        }
        String[] lines = resumeState.split("\n");
        if (lines.length < 1 || lines[0].isEmpty()) {
            throw new BackupException(BackupError.NO_CHECKPOINT, "no multipart upload recorded for image " + imageId);
        }
        List<Part> parts = new ArrayList<>();
        long length = 0;
        for (int i = 1; i < lines.length && length < durableLength; i++) {
            String[] f = lines[i].split(" ");
            Part part = new Part(Integer.parseInt(f[0]), f[1], Long.parseLong(f[2]));
            parts.add(part);
            length += part.size;
        }
        if (length != durableLength) {
            throw new BackupException(BackupError.NO_CHECKPOINT, "uploaded parts of image " + imageId + " end at " + length
                    + ", not at the checkpoint's " + durableLength + " bytes");
        }
        return new S3ImageWriter(imageKey(imageId), lines[0], parts);
    }

    @Override
    public ImageReader openImage(String imageId) {
        String key = imageKey(imageId);
        try {
            HeadObjectResponse head = client.headObject(b -> b.bucket(config.bucket()).key(key));
            return new S3ImageReader(key, head.contentLength());
        } catch (NoSuchKeyException e) {
            throw new BackupException(BackupError.IMAGE_NOT_FOUND, "image " + imageId + " is not in " + name(), e);
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                throw new BackupException(BackupError.IMAGE_NOT_FOUND, "image " + imageId + " is not in " + name(), e);
            }
            throw io("head " + key, e);
        } catch (SdkException e) {
            throw io("head " + key, e);
        }
    }

    @Override
    public boolean exists(String imageId) {
        String key = imageKey(imageId);
        try {
            client.headObject(b -> b.bucket(config.bucket()).key(key));
            return true;
        } catch (NoSuchKeyException e) {
            return false;
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return false;
            }
            throw io("head " + key, e);
        } catch (SdkException e) {
            throw io("head " + key, e);
        }
    }

    @Override
    public List<String> list() {
        try {
            List<String> ids = new ArrayList<>();
            for (S3Object o : client.listObjectsV2Paginator(b -> b.bucket(config.bucket()).prefix(config.prefix())).contents()) {
                String rest = o.key().substring(config.prefix().length());
                if (rest.endsWith(DirectoryBackupTarget.IMAGE_SUFFIX) && !rest.contains("/")) {
                    ids.add(rest.substring(0, rest.length() - DirectoryBackupTarget.IMAGE_SUFFIX.length()));
                }
            }
            ids.sort(null);
            return ids;
        } catch (SdkException e) {
            throw io("list " + name(), e);
        }
    }

    @Override
    public void delete(String imageId) {
        String key = imageKey(imageId);
        try {
            client.deleteObject(b -> b.bucket(config.bucket()).key(key));
        } catch (SdkException e) {
            throw io("delete " + key, e);
        }
    }

    @Override
    public void writeCheckpoint(String name, byte[] bytes) {
        String key = checkpointKey(name);
        try {
            client.putObject(b -> b.bucket(config.bucket()).key(key), RequestBody.fromBytes(bytes));
        } catch (SdkException e) {
            throw io("put " + key, e);
        }
    }

    @Override
    public Optional<byte[]> readCheckpoint(String name) {
        String key = checkpointKey(name);
        try {
            return Optional.of(client.getObjectAsBytes(b -> b.bucket(config.bucket()).key(key)).asByteArray());
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return Optional.empty();
            }
            throw io("get " + key, e);
        } catch (SdkException e) {
            throw io("get " + key, e);
        }
    }

    @Override
    public void deleteCheckpoint(String name) {
        String key = checkpointKey(name);
        try {
            client.deleteObject(b -> b.bucket(config.bucket()).key(key));
        } catch (SdkException e) {
            throw io("delete " + key, e);
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            client.close();
        }
    }

    private BackupException io(String what, Exception e) {
        return new BackupException(BackupError.TARGET_IO, "S3 " + name() + ": could not " + what + ": " + e.getMessage(), e);
    }

    private record Part(int number, String etag, long size) {
    }

    private final class S3ImageWriter implements ImageWriter {
        private final String key;
        private final List<Part> parts;
        private String uploadId;
        private byte[] buffer = new byte[1 << 20];
        private int buffered;
        private long durable;
        private boolean closed;

        S3ImageWriter(String key, String uploadId, List<Part> parts) {
            this.key = key;
            this.uploadId = uploadId;
            this.parts = parts;
            for (Part p : parts) {
                durable += p.size;
            }
        }

        @Override
        public void write(ByteBuffer bytes) {
            checkOpen();
            int n = bytes.remaining();
            if (buffer.length - buffered < n) {
                buffer = Arrays.copyOf(buffer, Math.max(buffer.length * 2, buffered + n));
            }
            bytes.get(buffer, buffered, n);
            buffered += n;
        }

        @Override
        public void recordBoundary() {
            if (buffered >= config.partSizeBytes()) {
                uploadPart();
            }
        }

        private void uploadPart() {
            try {
                if (uploadId == null) {
                    uploadId = client.createMultipartUpload(b -> b.bucket(config.bucket()).key(key)).uploadId();
                }
                int number = parts.size() + 1;
                String etag = client.uploadPart(b -> b.bucket(config.bucket()).key(key).uploadId(uploadId)
                        .partNumber(number).contentLength((long) buffered),
                        RequestBody.fromInputStream(new java.io.ByteArrayInputStream(buffer, 0, buffered), buffered)).eTag();
                parts.add(new Part(number, etag, buffered));
                durable += buffered;
                buffered = 0;
            } catch (SdkException e) {
                throw io("upload part " + (parts.size() + 1) + " of " + key, e);
            }
        }

        @Override
        public long position() {
            return durable + buffered;
        }

        @Override
        public void sync() {
            // parts below the S3 minimum cannot be uploaded before the end; durable = uploaded parts
        }

        @Override
        public long durableLength() {
            return durable;
        }

        @Override
        public String resumeState() {
            StringBuilder s = new StringBuilder(uploadId == null ? "" : uploadId);
            for (Part p : parts) {
                s.append('\n').append(p.number).append(' ').append(p.etag).append(' ').append(p.size);
            }
            return s.toString();
        }

        @Override
        public void commit() {
            checkOpen();
            try {
                if (uploadId == null) {
                    client.putObject(b -> b.bucket(config.bucket()).key(key),
                            RequestBody.fromInputStream(new java.io.ByteArrayInputStream(buffer, 0, buffered), buffered));
                } else {
                    if (buffered > 0) {
                        uploadPart();
                    }
                    List<CompletedPart> completed = parts.stream()
                            .map(p -> CompletedPart.builder().partNumber(p.number).eTag(p.etag).build()).toList();
                    client.completeMultipartUpload(b -> b.bucket(config.bucket()).key(key).uploadId(uploadId)
                            .multipartUpload(CompletedMultipartUpload.builder().parts(completed).build()));
                }
            } catch (SdkException e) {
                throw io("complete " + key, e);
            }
            close();
        }

        @Override
        public void abort() {
            if (uploadId != null) {
                try {
                    client.abortMultipartUpload(b -> b.bucket(config.bucket()).key(key).uploadId(uploadId));
                } catch (SdkException e) {
                    throw io("abort upload of " + key, e);
                }
            }
            close();
        }

        @Override
        public void close() {
            closed = true;
            buffer = new byte[0];
            buffered = 0;
        }

        private void checkOpen() {
            if (closed) {
                throw new BackupException(BackupError.TARGET_IO, "writer of " + key + " is closed");
            }
        }
    }

    private final class S3ImageReader implements ImageReader {
        private final String key;
        private final long size;
        private byte[] window = new byte[0];
        private long windowOffset;

        S3ImageReader(String key, long size) {
            this.key = key;
            this.size = size;
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public synchronized void read(long offset, ByteBuffer dst) {
            int length = dst.remaining();
            if (offset < 0 || offset + length > size) {
                throw new BackupException(BackupError.TRUNCATED_IMAGE, key + ": " + length + " bytes at offset " + offset
                        + " lie beyond the end (" + size + " bytes)");
            }
            if (offset >= windowOffset && offset + length <= windowOffset + window.length) {
                dst.put(window, (int) (offset - windowOffset), length);
                return;
            }
            if (length >= READ_AHEAD_BYTES) {
                dst.put(get(offset, length));
                return;
            }
            window = get(offset, (int) Math.min(READ_AHEAD_BYTES, size - offset));
            windowOffset = offset;
            dst.put(window, 0, length);
        }

        private byte[] get(long offset, int length) {
            String range = "bytes=" + offset + "-" + (offset + length - 1);
            try (ResponseInputStream<GetObjectResponse> in = client.getObject(b -> b.bucket(config.bucket()).key(key).range(range))) {
                byte[] bytes = readFully(in, length);
                return bytes;
            } catch (IOException | SdkException e) {
                throw io("get " + key + " " + range, e);
            }
        }

        private byte[] readFully(InputStream in, int length) throws IOException {
            byte[] bytes = new byte[length];
            int done = 0;
            while (done < length) {
                int n = in.read(bytes, done, length - done);
                if (n < 0) {
                    throw new BackupException(BackupError.TRUNCATED_IMAGE, key + " ended " + (length - done)
                            + " bytes early in a ranged read");
                }
                done += n;
            }
            return bytes;
        }

        @Override
        public synchronized void close() {
            window = new byte[0];
        }
    }
}
