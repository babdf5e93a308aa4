package dev.scemu.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import dev.scemu.core.IoCause;
import dev.scemu.core.Media;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class BackupRoundTripTest {

    static final char[] PASSWORD = "correct horse battery staple".toCharArray();

    @TempDir
    Path dir;

    static BackupOptions options(boolean encrypted) {
        BackupOptions o = BackupOptions.defaults().withChunkSizeBytes(64 * 1024).withThreads(2)
                .withKdf(KdfParameters.TEST_ONLY_WEAK).withUserLabel("test");
        return encrypted ? o.withPassword(PASSWORD) : o;
    }

    static List<Arguments> volumes() {
        List<Arguments> args = new ArrayList<>();
        long seed = 1;
        for (Volumes.Kind kind : Volumes.Kind.values()) {
            for (boolean encrypted : new boolean[] {false, true}) {
                args.add(Arguments.of(kind, encrypted, 4096, seed++));
            }
        }
        args.add(Arguments.of(Volumes.Kind.SPARSE, true, 512, 99L));
        return args;
    }

    @ParameterizedTest(name = "{0} encrypted={1} blockSize={2}")
    @MethodSource("volumes")
    void roundTripsSeededVolumes(Volumes.Kind kind, boolean encrypted, int blockSize, long seed) {
        long blocks = 2000; // not a multiple of the chunk window
        try (BlockDevice source = Volumes.create("src", blockSize, blocks, kind, seed);
             BlockDevice restored = Volumes.patterned("dst", blockSize, blocks);
             BackupTarget target = BackupTarget.directory(dir)) {
            AtomicInteger released = new AtomicInteger();
            BackupSource backupSource = BackupSource.builder(source).volumeId("vol-1").snapshotToken("snap-1")
                    .onRelease(released::incrementAndGet).build();
            List<BackupProgress> reports = new ArrayList<>();
            BackupResult result = BackupEngine.backup(backupSource, target, options(encrypted).withProgress(reports::add));
            assertThat(released).hasValue(1);
            assertThat(reports).isNotEmpty();
            assertThat(reports.get(reports.size() - 1).bytesDone()).isEqualTo(blocks * blockSize);
            ImageInfo info = result.info();
            assertThat(info.encrypted()).isEqualTo(encrypted);
            assertThat(info.blockCount()).isEqualTo(blocks);
            assertThat(info.userLabel()).isEqualTo("test");
            assertThat(info.storedBlockCount() + info.zeroBlockCount()).isEqualTo(blocks);
            if (kind == Volumes.Kind.ALL_ZERO) {
                assertThat(info.chunkCount()).isZero();
                assertThat(info.imageBytes()).isLessThan(1024);
            }
            assertThat(BackupEngine.info(target, result.imageId(), encrypted ? PASSWORD : null)).isEqualTo(info);

            RestoreResult verified = BackupEngine.verify(target, result.imageId(), encrypted ? PASSWORD : null);
            assertThat(verified.dataBytes()).isEqualTo(info.storedBlockCount() * blockSize);

            BackupEngine.restore(target, result.imageId(), encrypted ? PASSWORD : null, restored, RestoreOptions.defaults());
            Volumes.assertSameBlocks(source, restored, blocks);
        }
    }

    @Test
    void storesOnlyUsedExtentsAndSkipsZeroBlocks() {
        int blockSize = 4096;
        try (BlockDevice source = Volumes.create("src", blockSize, 4096, Volumes.Kind.INCOMPRESSIBLE, 5);
             BackupTarget target = BackupTarget.directory(dir)) {
            Volumes.zeroBlock(source, 10);
            source.meter().reset();
            List<Extent> used = List.of(new Extent(0, 100), new Extent(1000, 24));
            BackupSource backupSource = BackupSource.builder(source).volumeId("v").snapshotToken("s").usedExtents(used).build();
            BackupResult result = BackupEngine.backup(backupSource, target, options(false));
            assertThat(result.info().storedBlockCount()).isEqualTo(123);
            assertThat(result.scannedBytes()).isEqualTo(124L * blockSize);
            // backup reads are host reads on the source, and only the used extents are read
            assertThat(source.meter().snapshot().issuedRead(IoCause.HOST).bytes()).isEqualTo(124L * blockSize);

            try (BlockDevice restored = Volumes.patterned("dst", blockSize, 4096)) {
                BackupEngine.restore(target, result.imageId(), null, restored, RestoreOptions.defaults());
                byte[] expected = Volumes.content(source);
                java.util.Arrays.fill(expected, 10 * blockSize, 11 * blockSize, (byte) 0);
                java.util.Arrays.fill(expected, 100 * blockSize, 1000 * blockSize, (byte) 0);
                java.util.Arrays.fill(expected, 1024 * blockSize, expected.length, (byte) 0);
                assertThat(Volumes.content(restored)).isEqualTo(expected);
            }
        }
    }

    @Test
    void restoresToALargerDeviceAndLeavesTheRestUntouched() {
        try (BlockDevice source = Volumes.create("src", 4096, 1000, Volumes.Kind.SPARSE, 7);
             BlockDevice larger = Volumes.patterned("big", 4096, 1500);
             BlockDevice pattern = Volumes.patterned("ref", 4096, 1500);
             BackupTarget target = BackupTarget.directory(dir)) {
            BackupResult result = BackupEngine.backup(BackupSource.ofDevice(source, "v", "s"), target, options(true));
            BackupEngine.restore(target, result.imageId(), PASSWORD, larger, RestoreOptions.defaults()
                    .withZeroPolicy(ZeroPolicy.WRITE_ZEROS));
            Volumes.assertSameBlocks(source, larger, 1000);
            assertThat(Volumes.content(larger, 1000, 500)).isEqualTo(Volumes.content(pattern, 1000, 500));
        }
    }

    @Test
    void restoresToASmallerDeviceOnlyWhenEveryStoredExtentFits() {
        try (BlockDevice source = Media.memory("src", new BlockGeometry(4096, 1000));
             BackupTarget target = BackupTarget.directory(dir)) {
            java.util.Random random = new java.util.Random(3);
            for (long lba = 0; lba < 600; lba += 7) {
                Volumes.writeBlock(source, lba, random);
            }
            BackupResult result = BackupEngine.backup(BackupSource.ofDevice(source, "v", "s"), target, options(false));
            assertThat(result.info().storedEndLba()).isEqualTo(596);
            try (BlockDevice fits = Volumes.patterned("fits", 4096, 596)) {
                BackupEngine.restore(target, result.imageId(), null, fits, RestoreOptions.defaults());
                Volumes.assertSameBlocks(source, fits, 596);
            }
            try (BlockDevice small = Volumes.patterned("small", 4096, 595)) {
                byte[] before = Volumes.content(small);
                small.meter().reset();
                assertThatThrownBy(() -> BackupEngine.restore(target, result.imageId(), null, small, RestoreOptions.defaults()
                        .withVerifyFirst(false)))
                        .isInstanceOf(BackupException.class)
                        .hasMessageContaining("596").hasMessageContaining("595")
                        .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.DESTINATION_TOO_SMALL);
                assertThat(Volumes.content(small)).isEqualTo(before);
                assertThat(small.meter().snapshot().receivedWrite().bytes()).isZero();
            }
        }
    }

    @Test
    void refusesWrongOrMissingPasswordBeforeWriting() {
        try (BlockDevice source = Volumes.create("src", 4096, 300, Volumes.Kind.DENSE, 11);
             BlockDevice dst = Volumes.patterned("dst", 4096, 300);
             BackupTarget target = BackupTarget.directory(dir)) {
            BackupResult result = BackupEngine.backup(BackupSource.ofDevice(source, "v", "s"), target, options(true));
            byte[] before = Volumes.content(dst);
            dst.meter().reset();
            for (RestoreOptions o : List.of(RestoreOptions.defaults(), RestoreOptions.defaults().withVerifyFirst(false))) {
                assertThatThrownBy(() -> BackupEngine.restore(target, result.imageId(), "wrong".toCharArray(), dst, o))
                        .isInstanceOf(BackupException.class)
                        .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.WRONG_PASSWORD);
                assertThatThrownBy(() -> BackupEngine.restore(target, result.imageId(), null, dst, o))
                        .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.PASSWORD_REQUIRED);
            }
            assertThatThrownBy(() -> BackupEngine.verify(target, result.imageId(), "wrong".toCharArray()))
                    .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.WRONG_PASSWORD);
            assertThat(dst.meter().snapshot().receivedWrite().bytes()).isZero();
            assertThat(Volumes.content(dst)).isEqualTo(before);
        }
    }

    @Test
    void refusesADestinationWithAnotherBlockSize() {
        try (BlockDevice source = Volumes.create("src", 4096, 64, Volumes.Kind.DENSE, 12);
             BlockDevice dst = Volumes.patterned("dst", 512, 8 * 64);
             BackupTarget target = BackupTarget.directory(dir)) {
            BackupResult result = BackupEngine.backup(BackupSource.ofDevice(source, "v", "s"), target, options(false));
            assertThatThrownBy(() -> BackupEngine.restore(target, result.imageId(), null, dst, RestoreOptions.defaults()))
                    .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.GEOMETRY_MISMATCH);
        }
    }

    @Test
    void refusesAnExistingImageIdAndAnUnknownOne() {
        try (BlockDevice source = Volumes.create("src", 4096, 64, Volumes.Kind.DENSE, 13);
             BackupTarget target = BackupTarget.directory(dir)) {
            BackupEngine.backup(BackupSource.ofDevice(source, "v", "s"), target, options(false).withImageId("img-1"));
            assertThat(target.list()).containsExactly("img-1");
            assertThatThrownBy(() -> BackupEngine.backup(BackupSource.ofDevice(source, "v", "s"), target,
                    options(false).withImageId("img-1")))
                    .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.IMAGE_EXISTS);
            assertThatThrownBy(() -> BackupEngine.verify(target, "nope", null))
                    .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.IMAGE_NOT_FOUND);
            assertThatThrownBy(() -> BackupEngine.verify(target, "../etc", null))
                    .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.INVALID_ARGUMENT);
        }
    }
}
