package dev.scemu.flash.internal;

import dev.scemu.core.FuzzSupport;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.ExecutionLog;
import dev.scemu.core.Extent;
import dev.scemu.core.Fuzzer;
import dev.scemu.core.Media;
import dev.scemu.flash.BackupRegion;
import dev.scemu.flash.FirmwareImage;
import dev.scemu.flash.FirmwareManager;
import dev.scemu.flash.FirmwareStore;
import dev.scemu.flash.FlashDevice;
import dev.scemu.flash.FlashException;
import dev.scemu.flash.FlashGeometry;
import dev.scemu.flash.Migrations;
import dev.scemu.flash.TrustedKeys;
import dev.scemu.flash.UpdateJournal;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The firmware update journal: its execution-log region opened by {@link UpdateJournal#openOrFormat}
 * (raw and re-sealed mutations), and boot-time recovery of an interrupted update whose journaled
 * BEGIN payload ({@link UpdateRecord}: hashes and migration plan) or migration step was mutated and
 * journaled again with the real encoder.
 */
class UpdateJournalFuzzTest {

    private static final int BLOCK = 4096;
    private static final Extent JOURNAL = new Extent(0, 8);
    private static final Extent BACKUP = new Extent(8, 32);
    private static final Extent TABLE = new Extent(40, 8);

    private static byte[] image;
    private static byte[] beginPayload;
    private static byte[] migrationStep;

    @BeforeAll
    static void realRecords() {
        image = FirmwareImage.builder().version("1.0.0").body(new byte[3000]).dataFormat("mapping-table", 1).build();
        byte[] next = FirmwareImage.builder().version("1.1.0").body(new byte[3100]).dataFormat("mapping-table", 2).build();
        ByteBuffer encoded = new UpdateRecord(FirmwareImage.parse(image).sha256(), FirmwareImage.parse(next).sha256(),
                List.of(new UpdateRecord.PlannedStep("mapping-table", 1, 2, true))).encode();
        beginPayload = new byte[encoded.remaining()];
        encoded.get(beginPayload);
        migrationStep = new byte[] {0, 0};
    }

    /** The array disk with an update journal holding an interrupted update (BEGIN, staged, migration started). */
    private static byte[] diskWithInterruptedUpdate(byte[] begin, byte[] migration) {
        try (BlockDevice disk = Media.memory("array", new BlockGeometry(BLOCK, 64))) {
            ExecutionLog log = ExecutionLog.format(disk, JOURNAL);
            long tx = log.begin(UpdateRecord.OP_FIRMWARE_UPDATE, ByteBuffer.wrap(begin, 0, Math.min(begin.length, log.maxPayloadBytes())));
            log.step(tx, UpdateRecord.STEP_STAGED_VERIFIED, null);
            log.step(tx, UpdateRecord.STEP_MIGRATION_STARTED, ByteBuffer.wrap(migration, 0, Math.min(migration.length, log.maxPayloadBytes())));
            log.sync();
            return FuzzSupport.contentsOf(disk);
        }
    }

    private static void boot(byte[] diskImage) {
        try (BlockDevice disk = FuzzSupport.deviceOf("array", BLOCK, diskImage);
             FlashDevice flash = FlashDevice.builder().name("nvram").geometry(new FlashGeometry(4096, 4, 16)).seed(1)
                     .build()) {
            FirmwareStore store = FirmwareStore.onFlash(flash);
            store.write(image);
            FirmwareManager manager = FirmwareManager.builder().store(store).backupRegion(BackupRegion.on(disk, BACKUP))
                    .journal(UpdateJournal.openOrFormat(disk, JOURNAL)).trustedKeys(TrustedKeys.acceptUnsigned())
                    .migration(Migrations.recordHeaderV1ToV2("mapping-table", disk, TABLE)).build();
            manager.boot();
        }
    }

    @Test
    void mutatedJournalRegionsOpenOrFailWithFlashException() {
        int n = FuzzSupport.iterations(1000);
        byte[] region = Arrays.copyOf(diskWithInterruptedUpdate(beginPayload, migrationStep), (int) JOURNAL.blockCount() * BLOCK);
        Fuzzer.Decoder open = bytes -> {
            byte[] padded = Arrays.copyOf(bytes, region.length);
            try (BlockDevice device = FuzzSupport.deviceOf("journal", BLOCK, padded)) {
                try {
                    UpdateJournal.openOrFormat(device, JOURNAL).unfinished();
                } catch (FlashException rejected) {
                    if (!Arrays.equals(FuzzSupport.contentsOf(device), padded)) {
                        throw new AssertionError("a rejected update journal was written", rejected);
                    }
                    throw rejected;
                }
            }
        };
        Fuzzer.Report raw = new Fuzzer(201, n, FlashException.class).run(List.of(region), open);
        Fuzzer.Report sealed = new Fuzzer(202, n, FlashException.class).run(List.of(region), bytes -> open.decode(
                FuzzSupport.resealRecords(bytes, BLOCK, FuzzSupport.magic("SCLH"), FuzzSupport.magic("SCLB"))));
        Fuzzer.Report report = FuzzSupport.print("flash.UpdateJournal.openOrFormat", FuzzSupport.combine(raw, sealed));
        assertThat(report.decodedCleanly()).isPositive();
        assertThat(report.rejected()).isPositive();
    }

    @Test
    void bootRecoversMutatedInterruptedUpdatesOrFailsWithFlashException() {
        int n = FuzzSupport.iterations(200);
        boot(diskWithInterruptedUpdate(beginPayload, migrationStep)); // the seed recovers
        Fuzzer.Report begins = new Fuzzer(203, n, FlashException.class).run(List.of(beginPayload),
                begin -> boot(diskWithInterruptedUpdate(begin, migrationStep)));
        Fuzzer.Report steps = new Fuzzer(204, n / 2, FlashException.class).run(List.of(migrationStep),
                step -> boot(diskWithInterruptedUpdate(beginPayload, step)));
        Fuzzer.Report report = FuzzSupport.print("flash.FirmwareManager.boot(update journal)",
                FuzzSupport.combine(begins, steps));
        assertThat(report.decodedCleanly()).isPositive();
        assertThat(report.rejected()).isPositive();
    }
}
