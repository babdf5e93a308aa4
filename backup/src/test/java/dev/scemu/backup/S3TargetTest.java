package dev.scemu.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import java.net.URI;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.nio2blob.TransientNio2BlobStore;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.apache5.Apache5HttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/** The S3 target against an in-process s3proxy on loopback. */
class S3TargetTest {

    static final char[] PASSWORD = "s3".toCharArray();
    static S3Proxy proxy;
    static URI endpoint;

    @BeforeAll
    static void startS3() throws Exception {
        proxy = S3Proxy.builder().blobStore(new TransientNio2BlobStore()).endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, "access", "secret").stopTimeout(0).build();
        proxy.start();
        endpoint = URI.create("http://127.0.0.1:" + proxy.getPort());
        try (S3Client client = S3Client.builder().region(Region.US_EAST_1).endpointOverride(endpoint).forcePathStyle(true)
                .httpClientBuilder(Apache5HttpClient.builder())
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("access", "secret")))
                .build()) {
            client.createBucket(b -> b.bucket("backups"));
        }
    }

    @AfterAll
    static void stopS3() throws Exception {
        proxy.stop();
    }

    private static BackupTarget target(String prefix) {
        return BackupTarget.s3(S3TargetConfig.of(endpoint, "us-east-1", "backups", prefix, "access", "secret")
                .withPartSizeBytes(S3TargetConfig.MIN_PART_SIZE_BYTES));
    }

    private static BackupOptions options() {
        return BackupOptions.defaults().withChunkSizeBytes(256 * 1024).withThreads(2).withKdf(KdfParameters.TEST_ONLY_WEAK)
                .withPassword(PASSWORD).withCheckpointIntervalBytes(1 << 20);
    }

    @Test
    void roundTripsAMultipartImageAndASmallOne() {
        long blocks = 3500; // 14 MiB of random data: three parts of at least 5 MiB
        try (BlockDevice source = Volumes.create("src", 4096, blocks, Volumes.Kind.INCOMPRESSIBLE, 41);
             BlockDevice small = Volumes.create("small", 4096, 64, Volumes.Kind.SPARSE, 42);
             BackupTarget target = target("fleet/box-1/")) {
            BackupResult big = BackupEngine.backup(BackupSource.ofDevice(source, "vol", "s1"), target,
                    options().withImageId("big"));
            assertThat(big.info().imageBytes()).isGreaterThan(2L * S3TargetConfig.MIN_PART_SIZE_BYTES);
            BackupEngine.backup(BackupSource.ofDevice(small, "small", "s1"), target, options().withImageId("small"));
            assertThat(target.list()).containsExactly("big", "small");

            BackupEngine.verify(target, "big", PASSWORD);
            try (BlockDevice restored = Volumes.patterned("dst", 4096, blocks);
                 BlockDevice restoredSmall = Volumes.patterned("dst-small", 4096, 64)) {
                BackupEngine.restore(target, "big", PASSWORD, restored, RestoreOptions.defaults());
                Volumes.assertSameBlocks(source, restored, blocks);
                BackupEngine.restore(target, "small", PASSWORD, restoredSmall, RestoreOptions.defaults());
                Volumes.assertSameBlocks(small, restoredSmall, 64);
            }
            assertThatThrownBy(() -> BackupEngine.verify(target, "absent", PASSWORD))
                    .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.IMAGE_NOT_FOUND);
        }
    }

    @Test
    void resumesAnInterruptedMultipartBackup() {
        long blocks = 3000;
        try (BlockDevice source = Volumes.create("src", 4096, blocks, Volumes.Kind.INCOMPRESSIBLE, 43);
             BackupTarget target = target("resume/")) {
            BackupSource snapshot = BackupSource.ofDevice(source, "vol", "s1");
            assertThatThrownBy(() -> BackupEngine.backup(snapshot, new FailingTarget(target, 11L << 20),
                    options().withImageId("img")))
                    .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.TARGET_IO);
            assertThat(target.exists("img")).isFalse();
            assertThat(target.readCheckpoint("img.backup")).isPresent();
            BackupEngine.resumeBackup(snapshot, target, "img", options());
            try (BlockDevice restored = Volumes.patterned("dst", 4096, blocks)) {
                BackupEngine.restore(target, "img", PASSWORD, restored, RestoreOptions.defaults());
                Volumes.assertSameBlocks(source, restored, blocks);
            }
        }
    }
}
