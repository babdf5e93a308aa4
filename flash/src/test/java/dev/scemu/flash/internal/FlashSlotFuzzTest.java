package dev.scemu.flash.internal;

import dev.scemu.core.FuzzSupport;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import dev.scemu.core.Fuzzer;
import dev.scemu.core.Media;
import dev.scemu.flash.BackupRegion;
import dev.scemu.flash.FirmwareImage;
import dev.scemu.flash.FlashException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Firmware backup-region slot headers: the codec alone, and reading a slot whose header block is mutated. */
class FlashSlotFuzzTest {

    private static final int BLOCK = 512;
    private static final int SLOT_BLOCKS = 8;
    private static byte[] region;

    @BeforeAll
    static void realRegion() {
        byte[] image = FirmwareImage.builder().version("1.0.0").body(new byte[1500]).build();
        try (BlockDevice device = Media.memory("backup", new BlockGeometry(BLOCK, 2 * SLOT_BLOCKS))) {
            BackupRegion backup = BackupRegion.on(device, new Extent(0, 2 * SLOT_BLOCKS));
            backup.write(BackupRegion.Slot.BACKUP, image);
            backup.write(BackupRegion.Slot.STAGING, Arrays.copyOf(image, 900));
            region = FuzzSupport.contentsOf(device);
        }
    }

    private static List<byte[]> headerBlocks() {
        return List.of(Arrays.copyOfRange(region, 0, BLOCK),
                Arrays.copyOfRange(region, SLOT_BLOCKS * BLOCK, (SLOT_BLOCKS + 1) * BLOCK));
    }

    private static byte[] resealed(byte[] block) {
        return FuzzSupport.resealRecords(block, BLOCK, SlotHeaderLayout.MAGIC);
    }

    @Test
    void mutatedSlotHeadersDecodeOrFailWithFlashException() {
        int n = FuzzSupport.iterations(3000);
        Fuzzer.Report raw = new Fuzzer(141, n, FlashException.class)
                .run(headerBlocks(), block -> SlotHeaderLayout.decode(ByteBuffer.wrap(block), "fuzz slot"));
        Fuzzer.Report sealed = new Fuzzer(142, n, FlashException.class)
                .run(headerBlocks(), block -> SlotHeaderLayout.decode(ByteBuffer.wrap(resealed(block)), "fuzz slot"));
        Fuzzer.Report report = FuzzSupport.print("flash.SlotHeaderLayout.decode", FuzzSupport.combine(raw, sealed));
        assertThat(report.rejected()).isPositive();
        assertThat(sealed.decodedCleanly()).isPositive();
    }

    @Test
    void slotsWithMutatedHeadersReadAsCorruptOrValidAndAreNeverWritten() {
        int n = FuzzSupport.iterations(1500);
        Fuzzer.Report report = FuzzSupport.print("flash.BackupRegion.read", new Fuzzer(143, n, FlashException.class)
                .run(headerBlocks().subList(0, 1), block -> {
                    byte[] mutated = FuzzSupport.overlay(region, 0, BLOCK, resealed(block));
                    try (BlockDevice device = FuzzSupport.deviceOf("backup", BLOCK, mutated)) {
                        BackupRegion backup = BackupRegion.on(device, new Extent(0, 2 * SLOT_BLOCKS));
                        for (BackupRegion.Slot slot : BackupRegion.Slot.values()) {
                            BackupRegion.SlotContents contents = backup.read(slot);
                            if (contents.state() == BackupRegion.SlotState.VALID && slot == BackupRegion.Slot.BACKUP) {
                                FirmwareImage.parse(contents.image());
                            }
                        }
                        if (!Arrays.equals(FuzzSupport.contentsOf(device), mutated)) {
                            throw new AssertionError("reading a backup slot wrote to its device");
                        }
                    }
                }));
        assertThat(report.decodedCleanly()).isPositive();
    }
}
