package dev.scemu.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.backup.BackupEngine;
import dev.scemu.backup.BackupOptions;
import dev.scemu.backup.BackupTarget;
import dev.scemu.backup.RestoreOptions;
import dev.scemu.core.CrashPointExplorer;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import dev.scemu.flash.FlashGeometry;
import dev.scemu.raid.RaidLevel;
import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.unit.StorageControlUnit;
import dev.scemu.unit.UnitConfig;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The library form of the process-kill tests: the CLI's restore ({@link RestoreDestination} around
 * {@link BackupEngine#restore}) and backup (a temporary snapshot read through
 * {@link SnapshotBackupSource}) on an in-memory unit whose disks and flash share one
 * {@link PowerDomain}, with a power cut at every write index (both modes) of the operation; the
 * unit then reboots from what its media hold ({@link StorageControlUnit#crashAndReboot}).
 */
class LongCommandCrashTest {

    private static final int BLOCKS = 64;

    @TempDir
    Path temp;

    static final class World implements AutoCloseable {
        final StorageControlUnit unit;

        World(PowerDomain domain) {
            unit = StorageControlUnit.create(UnitConfig.builder().level(RaidLevel.RAID1).disks(2, 8L << 20)
                    .chunkBytes(64 << 10).blockSize(4096).firmwareBackupBytes(1L << 20).snapshotStoreBytes(2L << 20)
                    .flash(new FlashGeometry(4096, 16, 16)).seed(7).build(), domain);
            write(unit, CliTestSupport.pattern(1, BLOCKS)); // what the image holds
        }

        @Override
        public void close() {
            unit.close();
        }
    }

    private static void write(StorageControlUnit unit, ByteBuffer data) {
        unit.host().write(0, BLOCKS, data, 0);
        unit.host().flush();
    }

    private static ByteBuffer volume(StorageControlUnit unit) {
        return CliTestSupport.read(unit.host(), 0, BLOCKS);
    }

    private static void restore(StorageControlUnit unit, BackupTarget target) {
        RestoreDestination destination = RestoreDestination.of(unit, "image img");
        BackupEngine.restore(target, "img", null, destination, RestoreOptions.defaults().withThreads(1));
        destination.finish();
    }

    @Test
    void aRestoreCutAtAnyWriteIsMarkedUnlessItWroteNothingOrFinished() throws Exception {
        ByteBuffer image = CliTestSupport.pattern(1, BLOCKS);
        ByteBuffer later = CliTestSupport.pattern(2, BLOCKS);
        try (BackupTarget target = BackupTarget.directory(temp); World source = new World(new PowerDomain(1))) {
            SnapshotInfo snapshot = source.unit.snapshots().createTemporarySnapshot("backup img");
            BackupEngine.backup(SnapshotBackupSource.of(source.unit.snapshots(), "v", snapshot, false), target,
                    BackupOptions.defaults().withImageId("img").withThreads(1));
            AtomicInteger marked = new AtomicInteger();
            CrashPointExplorer.Report report = new CrashPointExplorer<World>(
                    domain -> {
                        World w = new World(domain);
                        write(w.unit, later);
                        return w;
                    },
                    w -> restore(w.unit, target),
                    (w, crash) -> {
                        w.unit.crashAndReboot(PowerCutMode.DROP_UNFLUSHED); // the restart: nothing new to drop
                        if (w.unit.snapshots().restoreIncomplete().isPresent()) {
                            marked.incrementAndGet();
                            restore(w.unit, target); // what 'backup restore' run again does
                            assertThat(w.unit.snapshots().restoreIncomplete()).isEmpty();
                            assertThat(volume(w.unit)).isEqualTo(image);
                        } else {
                            ByteBuffer now = volume(w.unit);
                            assertThat(now.equals(image) || now.equals(later))
                                    .as("unmarked: untouched or completely restored").isTrue();
                        }
                    })
                    .seed(3).modes(PowerCutMode.DROP_UNFLUSHED, PowerCutMode.KEEP_RANDOM_SUBSET).explore();
            System.out.printf("CRASH POINTS: LongCommandCrashTest[restore] explored=%d passed=%d (%d left marked)%n",
                    report.runs(), report.passed(), marked.get());
            assertThat(marked.get()).isPositive();
        }
    }

    @Test
    void aBackupCutAtAnyWriteLeavesNoSnapshotAfterTheReboot() throws Exception {
        AtomicInteger images = new AtomicInteger();
        AtomicInteger removed = new AtomicInteger();
        try (BackupTarget target = BackupTarget.directory(temp)) {
            CrashPointExplorer.Report report = new CrashPointExplorer<World>(
                    domain -> {
                        World w = new World(domain);
                        w.unit.snapshots().createSnapshot("mine");
                        return w;
                    },
                    w -> {
                        String id = "b" + images.incrementAndGet();
                        SnapshotInfo snapshot = w.unit.snapshots().createTemporarySnapshot("backup " + id);
                        BackupEngine.backup(SnapshotBackupSource.of(w.unit.snapshots(), "v", snapshot, false), target,
                                BackupOptions.defaults().withImageId(id).withThreads(1));
                    },
                    (w, crash) -> {
                        w.unit.crashAndReboot(PowerCutMode.DROP_UNFLUSHED);
                        removed.addAndGet(w.unit.snapshots().recoveredAtOpen().removedTemporarySnapshots().size());
                        assertThat(w.unit.snapshots().listSnapshots()).extracting(SnapshotInfo::name).containsExactly("mine");
                    })
                    .seed(4).modes(PowerCutMode.DROP_UNFLUSHED, PowerCutMode.KEEP_RANDOM_SUBSET).explore();
            System.out.printf("CRASH POINTS: LongCommandCrashTest[backup] explored=%d passed=%d (%d removed at open)%n",
                    report.runs(), report.passed(), removed.get());
            assertThat(removed.get()).isPositive();
        }
    }
}
