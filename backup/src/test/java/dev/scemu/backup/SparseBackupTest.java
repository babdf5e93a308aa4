package dev.scemu.backup;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.Allocation;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backup asks the source which blocks hold data ({@code BlockDevice.mapAllocation}) and never
 * reads the others; a restore writes only the extents the image holds. The volume of issue 21: 576
 * GiB (the data volume of 4 sparse 256 GiB members in RAID-5) holding 10 MiB in 40 scattered runs,
 * on a sparse off-heap device that reports its holes.
 */
class SparseBackupTest {

    static final int BLOCK = 4096;
    static final long VOLUME_BYTES = 576L << 30;
    static final int RUNS = 40;
    static final int RUN_BLOCKS = 64; // 256 KiB: 40 runs = 10 MiB

    @TempDir
    Path dir;

    @Test
    void sixHundredGibVolumeWithTenMibOfDataIsReadOnlyWhereItHoldsData() {
        BlockGeometry geometry = new BlockGeometry(BLOCK, VOLUME_BYTES / BLOCK);
        try (HoleReportingDevice source = new HoleReportingDevice("sparse-src", geometry);
             HoleReportingDevice restored = new HoleReportingDevice("sparse-dst", geometry);
             BackupTarget target = BackupTarget.directory(dir)) {
            List<Extent> runs = writeRuns(source, new Random(21));
            long dataBytes = (long) RUNS * RUN_BLOCKS * BLOCK;
            source.bytesRead.set(0);

            char[] password = "sparse".toCharArray();
            long t0 = System.nanoTime();
            BackupResult result = BackupEngine.backup(BackupSource.ofDevice(source, "sparse", "s1"), target,
                    BackupOptions.defaults().withImageId("sparse").withPassword(password).withKdf(KdfParameters.TEST_ONLY_WEAK));
            double seconds = (System.nanoTime() - t0) / 1e9;

            assertThat(source.bytesRead.get()).as("bytes read from the source").isEqualTo(dataBytes);
            assertThat(result.scannedBytes()).isEqualTo(dataBytes);
            ImageInfo info = result.info();
            assertThat(info.storedBlockCount() * BLOCK).as("image data before compression").isEqualTo(dataBytes);
            assertThat(info.zeroBlockCount()).isEqualTo(geometry.blockCount() - (long) RUNS * RUN_BLOCKS);
            assertThat(info.imageBytes()).as("image size").isLessThan(dataBytes + (1 << 20));
            // issue 21's "< 10 s" is a figure of the report (docs/benchmarks.md), not asserted here on a shared
            // machine: what makes it hold is asserted above (only the data blocks are read)
            System.out.printf("sparse backup: 576 GiB volume holding 10 MiB in %.2f s%n", seconds);

            // restore writes only the stored extents (SKIP: the destination is fresh), and reads back equal
            BackupEngine.restore(target, "sparse", password, restored, RestoreOptions.defaults().withZeroPolicy(ZeroPolicy.SKIP));
            assertThat(restored.bytesWritten.get()).isEqualTo(dataBytes);
            assertThat(restored.blocksTrimmed.get()).isZero();
            for (Extent run : runs) {
                assertThat(Volumes.content(restored, run.lba(), run.blockCount()))
                        .isEqualTo(Volumes.content(source, run.lba(), run.blockCount()));
            }
            assertThat(dataExtents(restored)).isEqualTo(dataExtents(source));

            // the default (TRIM) trims the zero runs where the destination may hold data, and only there
            long stray = runs.get(0).endLba() + 1000; // a zero run of the image
            ByteBuffer junk = ByteBuffer.allocateDirect(256 * BLOCK);
            Volumes.fill(junk, new Random(3), false);
            restored.write(stray, 256, junk, 0);
            restored.bytesWritten.set(0);
            BackupEngine.restore(target, "sparse", password, restored, RestoreOptions.defaults());
            assertThat(restored.bytesWritten.get()).isEqualTo(dataBytes);
            assertThat(restored.blocksTrimmed.get()).as("trimmed: only the stray data in a zero run").isEqualTo(256);
            assertThat(Volumes.content(restored, stray, 256)).containsOnly(0);
            assertThat(dataExtents(restored)).isEqualTo(dataExtents(source));
        }
    }

    /** Holes inside a window are not read; data next to them is stored with its exact extents. */
    @Test
    void holesInsideAChunkWindowAreNotReadButShortGapsAreBridged() {
        BlockGeometry geometry = new BlockGeometry(BLOCK, 4096);
        try (HoleReportingDevice source = new HoleReportingDevice("small-src", geometry);
             HoleReportingDevice restored = new HoleReportingDevice("small-dst", geometry);
             BackupTarget target = BackupTarget.directory(dir)) {
            Random random = new Random(5);
            // window 0 (blocks 0..255): data at 0..3 and 200..203; a 2-block gap at 10..11 between 8..9 and 12..13
            for (long lba : new long[] {0, 1, 2, 3, 8, 9, 12, 13, 200, 201, 202, 203, 3000}) {
                Volumes.writeBlock(source, lba, random);
            }
            source.bytesRead.set(0);
            BackupResult result = BackupEngine.backup(BackupSource.ofDevice(source, "small", "s"), target,
                    BackupOptions.defaults().withImageId("small"));
            // 0..3, 8..13 (the 2-block gap is bridged: 128 KiB = 32 blocks), 200..203, 3000; the 4..7 gap too
            long expectedReadBlocks = 14 + 4 + 1;
            assertThat(source.bytesRead.get()).isEqualTo(expectedReadBlocks * BLOCK);
            assertThat(result.info().storedBlockCount()).isEqualTo(13);
            BackupEngine.restore(target, "small", null, restored, RestoreOptions.defaults());
            Volumes.assertSameBlocks(source, restored, geometry.blockCount());
        }
    }

    private static List<Extent> writeRuns(HoleReportingDevice device, Random random) {
        List<Extent> runs = new ArrayList<>();
        long slots = device.blockCount() / RUNS;
        ByteBuffer run = ByteBuffer.allocateDirect(RUN_BLOCKS * BLOCK);
        ByteBuffer block = ByteBuffer.allocateDirect(BLOCK);
        for (int i = 0; i < RUNS; i++) {
            long lba = i * slots + (random.nextLong(slots - RUN_BLOCKS) & ~7L);
            for (int b = 0; b < RUN_BLOCKS; b++) {
                Volumes.fill(block, random, random.nextBoolean());
                run.put(b * BLOCK, block, 0, BLOCK);
            }
            device.write(lba, RUN_BLOCKS, run, 0);
            runs.add(new Extent(lba, RUN_BLOCKS));
        }
        return runs;
    }

    private static List<Extent> dataExtents(HoleReportingDevice device) {
        List<Extent> data = new ArrayList<>();
        device.mapAllocation(0, device.blockCount(), (lba, count, allocation) -> {
            if (allocation == Allocation.DATA) {
                data.add(new Extent(lba, count));
            }
            return true;
        });
        return data;
    }
}
