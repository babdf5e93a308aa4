package dev.scemu.flash;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.Media;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class FlashDeviceTest {

    private static final FlashGeometry SMALL = new FlashGeometry(512, 4, 8); // 2 KiB erase blocks, 16 KiB

    private static FlashDevice small() {
        return FlashDevice.builder().geometry(SMALL).seed(7).build();
    }

    private static byte[] filled(int length, int value) {
        byte[] bytes = new byte[length];
        Arrays.fill(bytes, (byte) value);
        return bytes;
    }

    @Test
    void defaultGeometryIs16MiBOf4KiBPagesIn64KiBEraseBlocks() {
        FlashGeometry geometry = FlashGeometry.defaults();
        assertThat(geometry.capacityBytes()).isEqualTo(16L << 20);
        assertThat(geometry.pageSizeBytes()).isEqualTo(4096);
        assertThat(geometry.eraseBlockSizeBytes()).isEqualTo(65536);
    }

    @Test
    void freshFlashReadsErased() {
        try (FlashDevice flash = small()) {
            assertThat(flash.read(0, (int) SMALL.capacityBytes())).containsOnly((byte) 0xFF);
        }
    }

    @Test
    void programAndsWithTheStoredBitsLikeNor() {
        try (FlashDevice flash = small()) {
            flash.program(100, new byte[] {(byte) 0b1111_0000, (byte) 0x5A});
            flash.program(100, new byte[] {(byte) 0b1010_1111, (byte) 0xFF});
            assertThat(flash.read(100, 2)).containsExactly((byte) 0b1010_0000, (byte) 0x5A);
            assertThat(flash.read(99, 1)).containsExactly((byte) 0xFF);
        }
    }

    @Test
    void strictModeRefusesSettingBitsAndChangesNothing() {
        try (FlashDevice flash = FlashDevice.builder().geometry(SMALL).strict(true).build()) {
            flash.program(510, new byte[] {0x0F, 0x0F, 0x0F});
            long ops = flash.operationCount();
            assertThatThrownBy(() -> flash.program(510, new byte[] {0x0F, 0x1F, 0x0F}))
                    .isInstanceOf(FlashException.class)
                    .satisfies(e -> assertThat(((FlashException) e).code()).isEqualTo(FlashError.PROGRAM_WOULD_SET_BITS))
                    .hasMessageContaining("offset 511");
            assertThat(flash.read(510, 3)).containsExactly(0x0F, 0x0F, 0x0F);
            assertThat(flash.operationCount()).isEqualTo(ops);
            flash.program(510, new byte[] {0x0E, 0x0F, 0x00});
            assertThat(flash.read(510, 3)).containsExactly(0x0E, 0x0F, 0x00);
        }
    }

    @Test
    void eraseSetsTheWholeBlockTo0xFFAndCountsCycles() {
        try (FlashDevice flash = small()) {
            flash.program(SMALL.eraseBlockSizeBytes() - 1, filled(SMALL.eraseBlockSizeBytes() + 2, 0));
            flash.erase(1);
            assertThat(flash.read(SMALL.eraseBlockSizeBytes(), SMALL.eraseBlockSizeBytes())).containsOnly((byte) 0xFF);
            assertThat(flash.read(SMALL.eraseBlockSizeBytes() - 1, 1)).containsExactly(0);
            assertThat(flash.read(2L * SMALL.eraseBlockSizeBytes(), 1)).containsExactly(0);
            assertThat(flash.eraseCount(1)).isEqualTo(1);
            assertThat(flash.eraseCount(0)).isZero();
        }
    }

    @Test
    void metersBytesProgrammedAndErased() {
        try (FlashDevice flash = small()) {
            flash.program(0, filled(1000, 0x11));
            flash.erase(0);
            flash.read(0, 10);
            FlashStats stats = flash.stats();
            assertThat(stats.bytesProgrammed()).isEqualTo(1000);
            assertThat(stats.pagesProgrammed()).isEqualTo(2);
            assertThat(stats.eraseBlocksErased()).isEqualTo(1);
            assertThat(stats.bytesErased()).isEqualTo(SMALL.eraseBlockSizeBytes());
            assertThat(stats.bytesRead()).isEqualTo(10);
        }
    }

    @Test
    void rejectsOutOfRangeAccessWithClearErrors() {
        try (FlashDevice flash = small()) {
            assertThatThrownBy(() -> flash.read(SMALL.capacityBytes() - 1, 2)).isInstanceOf(FlashException.class)
                    .hasMessageContaining("outside the flash");
            assertThatThrownBy(() -> flash.erase(8)).isInstanceOf(FlashException.class)
                    .hasMessageContaining("erase block 8");
            assertThatThrownBy(() -> flash.programPage(64, new byte[1])).isInstanceOf(FlashException.class);
            assertThatThrownBy(() -> flash.program(-1, new byte[1])).isInstanceOf(FlashException.class);
        }
    }

    @Test
    void wornOutBlockReadsShowSeededBitErrorsGrowingWithCycles() {
        FlashDevice flash = FlashDevice.builder().geometry(SMALL).endurance(3).seed(11).build();
        FlashDevice twin = FlashDevice.builder().geometry(SMALL).endurance(3).seed(11).build();
        for (FlashDevice device : new FlashDevice[] {flash, twin}) {
            for (int i = 0; i < 3; i++) {
                device.erase(2);
            }
        }
        int blockBytes = SMALL.eraseBlockSizeBytes();
        long base = SMALL.offsetOfEraseBlock(2);
        assertThat(flash.read(base, blockBytes)).containsOnly((byte) 0xFF);
        assertThat(flash.isWornOut(2)).isFalse();
        flash.erase(2);
        twin.erase(2);
        assertThat(flash.isWornOut(2)).isTrue();
        byte[] first = flash.read(base, blockBytes);
        assertThat(bitsDifferingFrom0xFF(first)).isEqualTo(1);
        assertThat(flash.read(base, blockBytes)).containsExactly(first);
        assertThat(twin.read(base, blockBytes)).containsExactly(first);
        for (int i = 0; i < 5; i++) {
            flash.erase(2);
        }
        assertThat(bitsDifferingFrom0xFF(flash.read(base, blockBytes))).isBetween(2, 6);
        assertThat(flash.read(0, blockBytes)).containsOnly((byte) 0xFF);
    }

    private static int bitsDifferingFrom0xFF(byte[] bytes) {
        int count = 0;
        for (byte b : bytes) {
            count += Integer.bitCount(~b & 0xFF);
        }
        return count;
    }

    @Test
    void retentionFlipsAreSeededAndPersist() {
        FlashDevice a = FlashDevice.builder().geometry(SMALL).seed(5).build();
        FlashDevice b = FlashDevice.builder().geometry(SMALL).seed(5).build();
        long[] flippedA = a.injectRetentionFlips(3);
        long[] flippedB = b.injectRetentionFlips(3);
        assertThat(flippedA).containsExactly(flippedB);
        byte[] contents = a.read(0, (int) SMALL.capacityBytes());
        assertThat(bitsDifferingFrom0xFF(contents)).isBetween(1, 3);
        assertThat(b.read(0, (int) SMALL.capacityBytes())).containsExactly(contents);
    }

    @Test
    void powerCutDuringProgramTearsThePageAndRefusesIoUntilRestored() {
        try (FlashDevice flash = small()) {
            flash.program(0, filled(512, 0xF0));
            flash.armCutAtOperation(flash.operationCount(), PowerCutMode.DROP_UNFLUSHED);
            assertThatThrownBy(() -> flash.program(0, filled(512, 0x00)))
                    .isInstanceOf(FlashException.class)
                    .satisfies(e -> assertThat(((FlashException) e).code()).isEqualTo(FlashError.POWER_LOST));
            assertThatThrownBy(() -> flash.read(0, 1)).hasMessageContaining("no power");
            flash.restorePower();
            byte[] page = flash.read(0, 512);
            int cleared = 0;
            int kept = 0;
            for (byte b : page) {
                assertThat(b & 0x0F).isZero(); // never sets a bit
                if (b == 0) {
                    cleared++;
                } else {
                    kept++;
                }
            }
            assertThat(cleared).isPositive();
            assertThat(kept).isPositive();
        }
    }

    @Test
    void powerCutDuringEraseLeavesAPartiallyErasedBlock() {
        try (FlashDevice flash = small()) {
            flash.program(0, filled(SMALL.eraseBlockSizeBytes(), 0x00));
            flash.armCutAtOperation(flash.operationCount(), PowerCutMode.DROP_UNFLUSHED);
            assertThatThrownBy(() -> flash.erase(0)).isInstanceOf(FlashException.class);
            flash.restorePower();
            byte[] block = flash.read(0, SMALL.eraseBlockSizeBytes());
            int ones = 0;
            for (byte b : block) {
                ones += Integer.bitCount(b & 0xFF);
            }
            assertThat(ones).isBetween(1, SMALL.eraseBlockSizeBytes() * 8 - 1);
            assertThat(flash.eraseCount(0)).isEqualTo(1);
        }
    }

    @Test
    void tornOperationsReplayExactlyFromTheSeed() {
        byte[][] results = new byte[2][];
        for (int run = 0; run < 2; run++) {
            try (FlashDevice flash = small()) {
                flash.armCutAtOperation(1, PowerCutMode.DROP_UNFLUSHED);
                flash.program(0, filled(512, 0x0F));
                assertThatThrownBy(() -> flash.program(512, filled(512, 0x00))).isInstanceOf(FlashException.class);
                flash.restorePower();
                results[run] = flash.read(0, 1024);
            }
        }
        assertThat(results[0]).containsExactly(results[1]);
    }

    @Test
    void sharesPowerWithADomain() {
        PowerDomain domain = new PowerDomain(3);
        BlockDevice disk = domain.attach(Media.memory("disk", new dev.scemu.core.BlockGeometry(512, 8)));
        try (FlashDevice flash = FlashDevice.builder().geometry(SMALL).powerDomain(domain).build()) {
            disk.write(0, 1, java.nio.ByteBuffer.allocate(512), 0);
            flash.armCutAtOperation(0, PowerCutMode.DROP_UNFLUSHED);
            assertThatThrownBy(() -> flash.erase(0)).isInstanceOf(FlashException.class);
            assertThat(domain.isPowered()).isFalse();
            domain.restore();
            flash.restorePower();
            domain.cut(PowerCutMode.DROP_UNFLUSHED);
            assertThatThrownBy(() -> flash.read(0, 1)).isInstanceOf(FlashException.class)
                    .hasMessageContaining("no power");
            domain.restore();
            assertThat(flash.read(0, 1)).hasSize(1);
        }
    }

    @Test
    void contentsAndEraseCountsPersistInTheBackingDevice() {
        BlockDevice backing = Media.memory("nvram", FlashDevice.backingGeometry(SMALL));
        try (FlashDevice flash = FlashDevice.builder().geometry(SMALL).backing(backing, false).build()) {
            flash.program(3000, new byte[] {1, 2, 3});
            flash.erase(5);
            flash.erase(5);
        }
        try (FlashDevice reopened = FlashDevice.builder().geometry(SMALL).backing(backing, true).build()) {
            assertThat(reopened.read(3000, 3)).containsExactly(1, 2, 3);
            assertThat(reopened.eraseCount(5)).isEqualTo(2);
        }
    }

    @Test
    void damagedEraseCountPagesAreReportedOnOpen() {
        BlockDevice backing = Media.memory("nvram", FlashDevice.backingGeometry(SMALL));
        try (FlashDevice flash = FlashDevice.builder().geometry(SMALL).backing(backing, false).build()) {
            flash.erase(0);
        }
        java.nio.ByteBuffer page = java.nio.ByteBuffer.allocate(512);
        long countPage = SMALL.pageCount();
        backing.read(countPage, 1, page, 0);
        page.put(20, (byte) (page.get(20) ^ 1));
        backing.write(countPage, 1, page, 0);
        assertThatThrownBy(() -> FlashDevice.builder().geometry(SMALL).backing(backing, true).build())
                .isInstanceOf(FlashException.class)
                .satisfies(e -> assertThat(((FlashException) e).code()).isEqualTo(FlashError.CORRUPT_METADATA));
    }

    @Test
    void meterCountsLogicalAndPhysicalBytes() {
        try (FlashDevice flash = small()) {
            flash.program(0, new byte[100]);
            flash.erase(1);
            flash.read(0, 7);
            var snapshot = flash.meter().snapshot();
            assertThat(snapshot.receivedWrite().bytes()).isEqualTo(100);
            assertThat(snapshot.receivedRead().bytes()).isEqualTo(7);
            assertThat(snapshot.issuedWrite(dev.scemu.core.IoCause.HOST).bytes()).isEqualTo(512);
            assertThat(snapshot.issuedWrite(dev.scemu.core.IoCause.METADATA).operations()).isEqualTo(1);
        }
    }

    @Test
    void closedFlashRefusesIo() {
        FlashDevice flash = small();
        flash.close();
        flash.close();
        assertThatThrownBy(() -> flash.read(0, 1)).isInstanceOf(FlashException.class)
                .satisfies(e -> assertThat(((FlashException) e).code()).isEqualTo(FlashError.CLOSED));
    }
}
