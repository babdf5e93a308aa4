package dev.scemu.flash;

import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.Media;
import dev.scemu.core.PowerDomain;
import dev.scemu.flash.internal.RecordHeaderLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A controller in miniature: one power domain feeding the flash and a fault-injecting "array"
 * disk that holds the update journal, the backup region and a mapping-table region (the data the
 * migration rewrites). {@link #reboot()} builds a fresh manager over the surviving media.
 */
final class Rig {

    static final FlashGeometry FLASH = new FlashGeometry(4096, 4, 16); // 16 KiB erase blocks, 256 KiB
    static final int BLOCK = 4096;
    static final Extent JOURNAL = new Extent(0, 8); // execution log: 2 header slots + 6 ring blocks
    static final Extent BACKUP = new Extent(8, 32); // two slots of 15 image blocks (60 KiB)
    static final Extent TABLE = new Extent(40, 8);
    static final int TABLE_RECORDS = 5;

    final PowerDomain domain;
    final FaultInjectingDevice disk;
    final FlashDevice flash;
    final FirmwareStore store;
    final List<FirmwareEvent> events = new ArrayList<>();
    SelfCheck selfCheck = SelfCheck.alwaysPasses();
    FirmwareManager manager;

    Rig(long seed) {
        domain = new PowerDomain(seed);
        disk = domain.attach(Media.memory("array", new BlockGeometry(BLOCK, 64)));
        flash = FlashDevice.builder().name("nvram").geometry(FLASH).seed(seed).powerDomain(domain).build();
        store = FirmwareStore.onFlash(flash);
    }

    /** Flash holds {@code image}, the table holds v{@code tableVersion} records; nothing else written. */
    static Rig provisioned(long seed, byte[] image, int tableVersion) {
        Rig rig = new Rig(seed);
        rig.store.write(image);
        rig.writeTable(tableVersion);
        return rig;
    }

    void writeTable(int version) {
        ByteBuffer block = ByteBuffer.allocate(BLOCK);
        for (int i = 0; i < TABLE_RECORDS; i++) {
            for (int j = RecordHeaderLayout.HEADER_BYTES; j < BLOCK; j++) {
                block.put(j, (byte) (i * 31 + j));
            }
            if (version == 1) {
                RecordHeaderLayout.encodeV1(block, 100 + i);
            } else {
                RecordHeaderLayout.encodeV2(block, 100 + i);
            }
            disk.write(TABLE.lba() + i, 1, block, 0);
        }
        disk.flush();
    }

    /** The version of every used table record; fails if they differ or a payload changed. */
    int tableVersion() {
        ByteBuffer block = ByteBuffer.allocate(BLOCK);
        int version = -1;
        for (int i = 0; i < TABLE_RECORDS; i++) {
            disk.read(TABLE.lba() + i, 1, block, 0);
            RecordHeaderLayout.Header header = RecordHeaderLayout.decode(block);
            if (header.entryCount() != 100 + i) {
                throw new AssertionError("record " + i + " entry count " + header.entryCount());
            }
            for (int j = RecordHeaderLayout.HEADER_BYTES; j < BLOCK; j++) {
                if (block.get(j) != (byte) (i * 31 + j)) {
                    throw new AssertionError("record " + i + " payload byte " + j + " changed");
                }
            }
            if (version != -1 && version != header.version()) {
                throw new AssertionError("records in versions " + version + " and " + header.version());
            }
            version = header.version();
        }
        return version;
    }

    /** A manager over the media as they are now (as after a restart). */
    FirmwareManager newManager() {
        return FirmwareManager.builder()
                .store(store)
                .backupRegion(BackupRegion.on(disk, BACKUP))
                .journal(UpdateJournal.openOrFormat(disk, JOURNAL))
                .trustedKeys(TestImages.TRUSTED)
                .migration(Migrations.recordHeaderV1ToV2("mapping-table", disk, TABLE))
                .selfCheck(image -> selfCheck.check(image))
                .listener(events::add)
                .build();
    }

    InspectionReport boot() {
        manager = newManager();
        return manager.boot();
    }

    /** Restores power and boots a fresh manager. */
    InspectionReport reboot() {
        flash.disarm();
        domain.disarm();
        flash.restorePower();
        return boot();
    }

    BackupRegion backupRegion() {
        return BackupRegion.on(disk, BACKUP);
    }
}
