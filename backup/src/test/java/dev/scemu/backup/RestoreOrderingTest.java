package dev.scemu.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.backup.internal.DirectoryBackupTarget;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.ForwardingBlockDevice;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The restore reads, decodes and writes chunks on several workers, so chunks finish out of image
 * order, and applies an image's zero runs on one more thread beside them. These tests force the
 * out-of-order case (the first chunk's write is held until a later chunk has been written) and
 * check that every extent still lands at its own offset and every zero run is cleared, with
 * progress still counted in image order; and that a chunk damaged in the middle of the image
 * leaves the destination untouched: no chunk written, no zero run trimmed.
 */
class RestoreOrderingTest {

    static final char[] PASSWORD = "ordering".toCharArray();
    static final int BLOCK_SIZE = 4096;
    static final long BLOCKS = 4096; // 16 MiB: 16 windows of 1 MiB, about 12 % of the blocks stored

    @TempDir
    Path dir;

    private ImageInfo backup(DirectoryBackupTarget target, boolean encrypted, BlockDevice source) {
        BackupOptions o = BackupOptions.defaults().withChunkSizeBytes(1 << 20).withThreads(2)
                .withKdf(KdfParameters.TEST_ONLY_WEAK).withImageId("img");
        return BackupEngine.backup(BackupSource.ofDevice(source, "v", "s"), target,
                encrypted ? o.withPassword(PASSWORD) : o).info();
    }

    @ParameterizedTest(name = "encrypted={0}")
    @ValueSource(booleans = {false, true})
    void chunksThatFinishOutOfOrderStillLandAtTheirOffsets(boolean encrypted) throws Exception {
        DirectoryBackupTarget target = new DirectoryBackupTarget(dir);
        try (BlockDevice source = Volumes.create("src", BLOCK_SIZE, BLOCKS, Volumes.Kind.SPARSE, 11)) {
            ImageInfo info = backup(target, encrypted, source);
            assertThat(info.chunkCount()).isGreaterThanOrEqualTo(8);
            long windowBlocks = (1 << 20) / BLOCK_SIZE;
            // the first stored window is held until a window three chunks later has been written
            long firstWindow = firstStoredLba(source) / windowBlocks;
            List<Long> completed = Collections.synchronizedList(new ArrayList<>());
            CountDownLatch laterWritten = new CountDownLatch(1);
            AtomicLong laterWindow = new AtomicLong(-1);
            try (BlockDevice patterned = Volumes.patterned("dst", BLOCK_SIZE, BLOCKS);
                 BlockDevice dst = new ForwardingBlockDevice("held", patterned, false) {
                     @Override
                     protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
                         long window = lba / windowBlocks;
                         if (window == firstWindow) {
                             try {
                                 assertThat(laterWritten.await(30, TimeUnit.SECONDS))
                                         .as("a later chunk is written while the first one is held").isTrue();
                             } catch (InterruptedException e) {
                                 Thread.currentThread().interrupt();
                                 throw new IllegalStateException(e);
                             }
                         }
                         super.doWrite(lba, blockCount, buffer, bufferOffset, fua);
                         completed.add(window);
                         if (window > firstWindow + 2 && laterWindow.compareAndSet(-1, window)) {
                             laterWritten.countDown();
                         }
                     }
                 }) {
                List<Long> progress = Collections.synchronizedList(new ArrayList<>());
                RestoreResult result = BackupEngine.restore(target, "img", encrypted ? PASSWORD : null, dst,
                        RestoreOptions.defaults().withThreads(4).withProgress(p -> {
                            if (p.operation().equals("restore")) {
                                progress.add(p.bytesDone());
                            }
                        }));
                assertThat(completed.indexOf(firstWindow)).as("the first window was written after window %s",
                        laterWindow.get()).isGreaterThan(completed.indexOf(laterWindow.get()));
                Volumes.assertSameBlocks(source, patterned, BLOCKS); // stored extents and cleared zero runs
                assertThat(result.dataBytes()).isEqualTo(info.storedBlockCount() * BLOCK_SIZE);
                assertThat(progress).isSorted();
            }
        }
    }

    @ParameterizedTest(name = "encrypted={0}")
    @ValueSource(booleans = {false, true})
    void damagedChunkInTheMiddleLeavesEveryBlockAndZeroRunUnchanged(boolean encrypted) throws Exception {
        DirectoryBackupTarget target = new DirectoryBackupTarget(dir);
        ImageInfo info;
        try (BlockDevice source = Volumes.create("src", BLOCK_SIZE, BLOCKS, Volumes.Kind.SPARSE, 12)) {
            info = backup(target, encrypted, source);
        }
        int middle = (int) info.chunkCount() / 2;
        Path file = target.imagePath("img");
        byte[] image = Files.readAllBytes(file);
        RestoreIntegrityPassTest.Chunk chunk = RestoreIntegrityPassTest.Chunk.of(image, middle);
        image[chunk.storedOffset() + chunk.storedLength() / 3] ^= 0x01;
        Files.write(file, image);
        try (BlockDevice dst = Volumes.patterned("dst", BLOCK_SIZE, BLOCKS)) {
            byte[] before = Volumes.content(dst);
            dst.meter().reset();
            for (ZeroPolicy policy : ZeroPolicy.values()) {
                assertThatThrownBy(() -> BackupEngine.restore(target, "img", encrypted ? PASSWORD : null, dst,
                        RestoreOptions.defaults().withThreads(4).withZeroPolicy(policy)))
                        .isInstanceOf(BackupException.class)
                        .hasMessageContaining("chunk " + chunk.sequence())
                        .extracting(e -> ((BackupException) e).code()).isEqualTo(BackupError.CORRUPT_IMAGE);
                assertThat(dst.meter().snapshot().receivedWrite().bytes()).as("bytes written, %s", policy).isZero();
                assertThat(Volumes.content(dst)).as("content after a refused restore, %s", policy).isEqualTo(before);
            }
        }
    }

    private static long firstStoredLba(BlockDevice source) {
        ByteBuffer block = ByteBuffer.allocateDirect(BLOCK_SIZE);
        for (long lba = 0; lba < source.blockCount(); lba++) {
            source.read(lba, 1, block, 0);
            for (int i = 0; i < BLOCK_SIZE; i++) {
                if (block.get(i) != 0) {
                    return lba;
                }
            }
        }
        throw new IllegalStateException("empty source");
    }
}
