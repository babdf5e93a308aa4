package dev.scemu.unit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Media;
import dev.scemu.core.SliceDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GuidPartitionTableTest {

    private static final long DEVICE_BYTES = 64L << 20;
    private final BlockDevice device = Media.memory("array", BlockGeometry.ofBytes(4096, DEVICE_BYTES));

    @TempDir
    Path tempDir;

    @AfterEach
    void close() {
        device.close();
    }

    private static GuidPartitionTable standardLayout(long deviceBytes) {
        Random random = new Random(1);
        return GuidPartitionTable.layout(new UUID(random.nextLong(), random.nextLong()), deviceBytes, List.of(
                new GuidPartitionTable.PartitionSpec("firmware-backup", GuidPartitionTable.TYPE_FIRMWARE_BACKUP, 4 << 20),
                new GuidPartitionTable.PartitionSpec("snapshot-store", GuidPartitionTable.TYPE_SNAPSHOT_STORE, 16 << 20),
                new GuidPartitionTable.PartitionSpec("data", GuidPartitionTable.TYPE_DATA, 0)),
                () -> new UUID(random.nextLong(), random.nextLong()));
    }

    private void corruptByte(long offset) {
        ByteBuffer block = ByteBuffer.allocateDirect(4096);
        device.read(offset / 4096, 1, block, 0);
        int at = (int) (offset % 4096);
        block.put(at, (byte) (block.get(at) ^ 0x10));
        device.write(offset / 4096, 1, block, 0);
    }

    private Path dumpImage() throws IOException {
        Path image = tempDir.resolve("array.img");
        ByteBuffer chunk = ByteBuffer.allocateDirect(1 << 20);
        try (FileChannel out = FileChannel.open(image, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            for (long lba = 0; lba < device.blockCount(); lba += 256) {
                device.read(lba, 256, chunk, 0);
                chunk.clear();
                while (chunk.hasRemaining()) {
                    out.write(chunk);
                }
                chunk.clear();
            }
        }
        return image;
    }

    private static String run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("%s finished", command[0]).isTrue();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.exitValue()).as("%s exit status, output:%n%s", command[0], output).isZero();
        return output;
    }

    private static boolean installed(String tool) {
        return Files.isExecutable(Path.of("/usr/sbin", tool)) || Files.isExecutable(Path.of("/usr/bin", tool));
    }

    @Test
    void layoutIsAlignedAndFillsTheDisk() {
        GuidPartitionTable table = standardLayout(DEVICE_BYTES);
        List<GptPartition> partitions = table.partitions();
        assertThat(partitions).extracting(GptPartition::name).containsExactly("firmware-backup", "snapshot-store", "data");
        assertThat(partitions.get(0).firstSector()).isEqualTo(2048);
        assertThat(partitions.get(0).sizeBytes()).isEqualTo(4 << 20);
        assertThat(partitions.get(1).firstSector()).isEqualTo(partitions.get(0).lastSector() + 1);
        for (GptPartition p : partitions) {
            assertThat(p.firstSector() % GptLayout.ALIGNMENT_SECTORS).isZero();
            assertThat((p.lastSector() + 1) % GptLayout.ALIGNMENT_SECTORS).isZero();
        }
        assertThat(partitions.get(2).lastSector()).isLessThanOrEqualTo(DEVICE_BYTES / 512 - 34);
    }

    @Test
    void writtenTableReadsBackIdentically() {
        GuidPartitionTable table = standardLayout(DEVICE_BYTES);
        table.write(device);
        GuidPartitionTable read = GuidPartitionTable.read(device);
        assertThat(read.readFromBackup()).isFalse();
        assertThat(read.diskGuid()).isEqualTo(table.diskGuid());
        assertThat(read.partitions()).isEqualTo(table.partitions());
    }

    @Test
    void writingTheTableLeavesPartitionContentsAlone() {
        ByteBuffer pattern = ByteBuffer.allocateDirect(1 << 20);
        for (int i = 0; i < pattern.capacity(); i++) {
            pattern.put(i, (byte) 0x5A);
        }
        for (long lba = 0; lba < device.blockCount(); lba += 256) {
            device.write(lba, 256, pattern, 0);
        }
        GuidPartitionTable table = standardLayout(DEVICE_BYTES);
        table.write(device);
        for (GptPartition p : table.partitions()) {
            try (SliceDevice slice = table.open(p.name(), device)) {
                ByteBuffer first = ByteBuffer.allocateDirect(4096);
                slice.read(0, 1, first, 0);
                ByteBuffer last = ByteBuffer.allocateDirect(4096);
                slice.read(slice.blockCount() - 1, 1, last, 0);
                assertThat(first.get(0)).isEqualTo((byte) 0x5A);
                assertThat(last.get(4095)).isEqualTo((byte) 0x5A);
            }
        }
    }

    @Test
    void partitionWritesLandAtThePartitionOffset() {
        GuidPartitionTable table = standardLayout(DEVICE_BYTES);
        table.write(device);
        GptPartition store = table.find("snapshot-store").orElseThrow();
        ByteBuffer block = ByteBuffer.allocateDirect(4096);
        block.putLong(0, 0x1122334455667788L);
        try (SliceDevice slice = table.open("snapshot-store", device)) {
            slice.write(3, 1, block, 0);
        }
        ByteBuffer back = ByteBuffer.allocateDirect(4096);
        device.read(store.offsetBytes() / 4096 + 3, 1, back, 0);
        assertThat(back.getLong(0)).isEqualTo(0x1122334455667788L);
    }

    @Test
    void damagedPrimaryFallsBackToTheBackupCopy() {
        GuidPartitionTable table = standardLayout(DEVICE_BYTES);
        table.write(device);
        corruptByte(512 + 60);   // inside the disk GUID of the primary header
        GuidPartitionTable read = GuidPartitionTable.read(device);
        assertThat(read.readFromBackup()).isTrue();
        assertThat(read.partitions()).isEqualTo(table.partitions());
    }

    @Test
    void everyBitFlipInThePrimaryHeaderAndEntriesIsDetected() {
        GuidPartitionTable table = standardLayout(DEVICE_BYTES);
        table.write(device);
        ByteBuffer block = ByteBuffer.allocateDirect(4096);
        device.read(0, 1, block, 0);
        int[] offsets = {512, 512 + 8, 512 + 16, 512 + 24, 512 + 40, 512 + 56, 512 + 72, 512 + 80, 512 + 88, 512 + 91,
                1024, 1024 + 32, 1024 + 56, 1024 + 128 + 40, 1024 + 3 * 128 - 1};
        for (int offset : offsets) {
            for (int bit = 0; bit < 8; bit++) {
                ByteBuffer damaged = ByteBuffer.allocateDirect(4096);
                damaged.put(0, block, 0, 4096);
                damaged.put(offset, (byte) (damaged.get(offset) ^ (1 << bit)));
                device.write(0, 1, damaged, 0);
                GuidPartitionTable read = GuidPartitionTable.read(device);
                assertThat(read.readFromBackup()).as("flip of bit %d at byte %d", bit, offset).isTrue();
                assertThat(read.partitions()).isEqualTo(table.partitions());
            }
        }
        device.write(0, 1, block, 0);
        assertThat(GuidPartitionTable.read(device).readFromBackup()).isFalse();
    }

    @Test
    void bothCopiesDamagedIsAClearError() {
        standardLayout(DEVICE_BYTES).write(device);
        corruptByte(512 + 20 + 4);
        corruptByte(DEVICE_BYTES - 512 + 70);
        assertThatThrownBy(() -> GuidPartitionTable.read(device))
                .isInstanceOf(UnitException.class)
                .hasMessageContaining("primary GPT").hasMessageContaining("backup GPT")
                .satisfies(e -> assertThat(((UnitException) e).code()).isEqualTo(UnitError.CORRUPT_PARTITION_TABLE));
    }

    @Test
    void blankDeviceHasNoTable() {
        assertThatThrownBy(() -> GuidPartitionTable.read(device))
                .hasMessageContaining("no 'EFI PART' signature");
    }

    @Test
    void layoutThatDoesNotFitIsRefused() {
        assertThatThrownBy(() -> standardLayout(16L << 20))
                .satisfies(e -> assertThat(((UnitException) e).code()).isEqualTo(UnitError.INVALID_LAYOUT))
                .hasMessageContaining("does not fit");
    }

    @Test
    void sfdiskReadsTheThreePartitions() throws Exception {
        dev.scemu.core.RequiredTool.require("sfdisk", "fdisk");
        GuidPartitionTable table = standardLayout(DEVICE_BYTES);
        table.write(device);
        String json = run("sfdisk", "--json", dumpImage().toString());
        assertThat(json).contains("\"label\": \"gpt\"")
                .contains("\"name\": \"firmware-backup\"")
                .contains("\"name\": \"snapshot-store\"")
                .contains("\"name\": \"data\"")
                .contains("\"type\": \"0FC63DAF-8483-4772-8E79-3D69D8477DE4\"")
                .containsPattern("\"start\": 2048,\\s*\"size\": 8192,")
                .containsIgnoringCase(table.diskGuid().toString());
    }

    @Test
    void sgdiskFindsNoProblems() throws Exception {
        dev.scemu.core.RequiredTool.require("sgdisk", "gdisk");
        standardLayout(DEVICE_BYTES).write(device);
        String verify = run("sgdisk", "--verify", dumpImage().toString());
        assertThat(verify).contains("No problems found");
    }
}
