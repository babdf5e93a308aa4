package dev.scemu.testkit.fuzz;

import dev.scemu.core.FuzzSupport;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Fuzzer;
import dev.scemu.core.Media;
import dev.scemu.unit.GuidPartitionTable;
import dev.scemu.unit.UnitException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Fuzzes the GPT decoder with the primary table region mutated; reading never writes. */
class GptFuzzTest {

    private static final int DEVICE_BYTES = 4 << 20;
    private static final int REGION_BYTES = 34 * 512;

    @Test
    void mutatedPrimaryTablesDecodeOrFailCleanlyAndAreNeverWritten() {
        byte[] image = validImage();
        byte[] validPrimary = java.util.Arrays.copyOf(image, REGION_BYTES);
        byte[] blankBackup = image.clone();
        java.util.Arrays.fill(blankBackup, DEVICE_BYTES - 33 * 512, DEVICE_BYTES, (byte) 0);
        int cases = FuzzSupport.iterations(1500);
        Fuzzer.Report report = new Fuzzer(2026, cases, UnitException.class).run(List.of(validPrimary), region -> {
            byte[] mutated = blankBackup.clone();  // no backup: the mutated primary is all there is
            System.arraycopy(region, 0, mutated, 0, Math.min(region.length, REGION_BYTES));
            try (BlockDevice device = deviceOf(mutated)) {
                GuidPartitionTable.read(device);
                assertThat(contentsOf(device)).as("decoder wrote to its device").isEqualTo(mutated);
            }
        });
        FuzzSupport.print("unit.GuidPartitionTable.read", report);
        assertThat(report.rejected()).isPositive();
        assertThat(report.decodedCleanly() + report.rejected()).isEqualTo(cases);
    }

    private static byte[] validImage() {
        Random random = new Random(5);
        try (BlockDevice device = Media.memory("gpt", BlockGeometry.ofBytes(4096, DEVICE_BYTES))) {
            GuidPartitionTable.layout(new UUID(1, 2), DEVICE_BYTES, List.of(
                    new GuidPartitionTable.PartitionSpec("firmware-backup", GuidPartitionTable.TYPE_FIRMWARE_BACKUP, 1 << 20),
                    new GuidPartitionTable.PartitionSpec("data", GuidPartitionTable.TYPE_DATA, 0)),
                    () -> new UUID(random.nextLong(), random.nextLong())).write(device);
            return contentsOf(device);
        }
    }

    private static BlockDevice deviceOf(byte[] bytes) {
        BlockDevice device = Media.memory("fuzz", BlockGeometry.ofBytes(4096, bytes.length));
        device.write(0, bytes.length / 4096, ByteBuffer.wrap(bytes), 0);
        return device;
    }

    private static byte[] contentsOf(BlockDevice device) {
        ByteBuffer all = ByteBuffer.allocate((int) device.geometry().capacityBytes());
        device.read(0, (int) device.blockCount(), all, 0);
        return all.array();
    }
}
