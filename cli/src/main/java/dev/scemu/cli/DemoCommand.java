package dev.scemu.cli;

import dev.scemu.backup.BackupEngine;
import dev.scemu.backup.BackupOptions;
import dev.scemu.backup.BackupResult;
import dev.scemu.backup.BackupSource;
import dev.scemu.backup.BackupTarget;
import dev.scemu.backup.RestoreOptions;
import dev.scemu.backup.RestoreResult;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.IoCause;
import dev.scemu.core.IoMeter;
import dev.scemu.core.Media;
import dev.scemu.core.MediaKind;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import dev.scemu.flash.FirmwareEvent;
import dev.scemu.flash.UpdateReport;
import dev.scemu.raid.RaidLevel;
import dev.scemu.raid.RebuildListener;
import dev.scemu.raid.RebuildProgress;
import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.unit.DefaultFirmware;
import dev.scemu.unit.StorageControlUnit;
import dev.scemu.unit.UnitConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code scemu demo [DIR]}: the main job on an embedded default. Builds a 4-disk RAID-5 storage
 * control unit with firmware in a temporary directory (or DIR), writes a seeded workload, takes
 * snapshots, corrupts the flash and boots through the recovery, updates the firmware while host
 * I/O runs, fails and rebuilds a disk, backs up a snapshot and verifies and restores it, checking
 * every block against a model along the way, and prints the meters.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the built-in demonstration scenario on a 4-disk RAID-5 control unit and print a report.")
final class DemoCommand implements Callable<Integer> {

    private static final int BLOCK = 4096;

    @Spec
    CommandSpec spec;

    @Parameters(arity = "0..1", paramLabel = "DIR", description = "Directory for the images (default: a temporary one, removed afterwards).")
    Path directory;

    @Option(names = "--seed", description = "Seed of the workload and the faults (default: ${DEFAULT-VALUE}); the unit's"
            + " identity and signing key are random.")
    long seed = 2026;

    @Option(names = "--disk-size-mib", description = "Size of each of the 4 disks in MiB, 1..1048576 (default: ${DEFAULT-VALUE}).")
    int diskSizeMib = 64;

    @Option(names = "--memory", description = "Keep the disks in off-heap memory instead of memory-mapped files.")
    boolean memory;

    private PrintWriter out;

    @Override
    public Integer call() throws Exception {
        out = spec.commandLine().getOut();
        UsageException.checkRange("--disk-size-mib", diskSizeMib, 1, 1 << 20);
        long started = System.nanoTime();
        boolean temporary = directory == null && !memory;
        if (directory != null && !memory) {
            checkNewOrEmpty(directory);
        }
        Path dir = memory ? null : temporary ? Files.createTempDirectory("scemu-demo") : directory;
        // a real unit (random identity, a test signing key generated at create); the seed drives the
        // workload and the faults (the power domain's torn-write choices)
        UnitConfig.Builder config = UnitConfig.builder().level(RaidLevel.RAID5).disks(4, (long) diskSizeMib << 20)
                .chunkBytes(64 << 10);
        if (dir != null) {
            config.directory(dir.resolve("unit")).media(MediaKind.MAPPED);
        }
        try (StorageControlUnit unit = StorageControlUnit.create(config.build(), new PowerDomain(seed))) {
            run(unit, dir);
        } finally {
            if (temporary) {
                deleteTree(dir);
            }
        }
        out.printf("done in %.1f s%n", (System.nanoTime() - started) / 1e9);
        return 0;
    }

    private void run(StorageControlUnit unit, Path dir) throws Exception {
        BlockDevice host = unit.host();
        Model model = new Model(host.blockCount(), seed);
        out.printf("scemu demo, seed %d: RAID-5 of 4 x %d MiB disks (%s), chunk 64 KiB, firmware %s%n", seed, diskSizeMib,
                dir == null ? "off-heap memory" : "memory-mapped files in " + dir, unit.firmware().running().version());
        out.printf("   GPT: %s%n", unit.partitions().partitions().stream()
                .map(p -> p.name() + " " + (p.sizeBytes() >> 20) + " MiB").toList());

        // 1. workload and snapshots
        int written = model.write(host, 1500, 16);
        SnapshotInfo first = unit.snapshots().createSnapshot("after-install"); // implies a flush
        model.flushed();
        Map<Long, Long> atFirst = model.copy();
        model.write(host, 1000, 4);
        SnapshotInfo second = unit.snapshots().createSnapshot("after-update");
        model.flushed();
        Map<Long, Long> atSecond = model.copy();
        int rewrites = model.rewriteIdentical(host, 1000);
        host.flush();
        model.flushed();
        IoMeter.Snapshot volumeMeter = unit.snapshots().meter().snapshot();
        out.printf("1. wrote %d extents (up to 64 KiB), took snapshot '%s', overwrote 1000 extents, took '%s', "
                        + "rewrote %d extents with identical data%n", written, first.name(), second.name(), rewrites);
        out.printf("   diff-on-write skipped %d MiB of identical writes; copy-on-write preserved %d MiB of old blocks%n",
                volumeMeter.skippedWrite().bytes() >> 20, volumeMeter.issuedWrite(IoCause.COW_COPY).bytes() >> 20);
        printMeters(unit, "   meters of this phase");
        check(model.verify(host), "live volume");
        check(Model.verify(unit.snapshots().snapshot(first.id()), atFirst), "snapshot " + first.name());
        check(Model.verify(unit.snapshots().snapshot(second.id()), atSecond), "snapshot " + second.name());

        // 2. flash corruption, power cut, boot recovery
        unit.flash().program(100_000, new byte[256]);
        model.write(host, 200, 1);   // in flight when power fails: may or may not survive
        unit.crashAndReboot(PowerCutMode.KEEP_RANDOM_SUBSET);
        host = unit.host();
        out.printf("2. cleared 256 bytes of the firmware in flash, then cut the power with writes in flight; boot: %s%n",
                unit.bootReport().events().stream().map(e -> e.type().toString()).distinct().toList());
        if (!unit.bootReport().has(FirmwareEvent.Type.RECOVERED)) {
            throw new IllegalStateException("the corrupted firmware was not recovered");
        }
        model.forgetUnflushed(host);
        check(model.verify(host), "live volume after the power cut");
        check(Model.verify(unit.snapshots().snapshot(second.id()), atSecond), "snapshot after the power cut");

        // 3. firmware update while host I/O runs
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong duringUpdate = new AtomicLong();
        BlockDevice liveHost = host;
        Model.Writer writer = model.concurrentWriter(liveHost, stop, duringUpdate);
        Thread thread = new Thread(writer, "demo-host-io");
        thread.start();
        UpdateReport update;
        try {
            unit.firmware().stage(DefaultFirmware.image("1.1.0", unit.testSigningKey().orElseThrow()));
            update = unit.firmware().update();
        } finally {
            stop.set(true);
            thread.join();
        }
        writer.rethrow();
        liveHost.flush();
        model.flushed();
        out.printf("3. firmware update %s -> %s: %s while the host wrote %d blocks; host I/O paused %.3f ms for the switch%n",
                update.from(), update.to(), update.outcome(), duringUpdate.get(), update.switchPauseNanos() / 1e6);
        check(model.verify(host), "live volume after the update");

        // 4. disk failure and rebuild
        unit.disk(2).failDevice();
        check(model.verify(host), "live volume with disk 2 failed");
        long rebuildStart = System.nanoTime();
        RebuildProgress rebuilt = unit.replaceDisk(2, new RebuildListener() { }).get(5, TimeUnit.MINUTES);
        out.printf("4. failed disk 2: every block still read back (degraded); replaced it and rebuilt %d MiB in %.2f s%n",
                rebuilt.doneBytes() >> 20, (System.nanoTime() - rebuildStart) / 1e9);
        check(model.verify(host), "live volume after the rebuild");

        // 5. backup of a snapshot, verify, restore elsewhere
        Path backupDir = dir == null ? Files.createTempDirectory("scemu-demo-backup") : dir.resolve("backups");
        try {
            Files.createDirectories(backupDir);
            char[] password = "demo password".toCharArray();
            BlockDevice view = unit.snapshots().snapshot(second.id());
            String volumeId = unit.identity().volumeId().toString(); // the unit's own, random
            BackupResult backup = BackupEngine.backup(BackupSource.ofDevice(view, volumeId, "snapshot-" + second.id()),
                    BackupTarget.directory(backupDir), BackupOptions.defaults().withPassword(password));
            RestoreResult verified = BackupEngine.verify(BackupTarget.directory(backupDir), backup.info().imageId(), password);
            try (BlockDevice other = Media.memory("restored", view.geometry())) {
                BackupEngine.restore(BackupTarget.directory(backupDir), backup.info().imageId(), password, other,
                        RestoreOptions.defaults());
                check(Model.verify(other, atSecond), "restored backup");
            }
            out.printf("5. backed up snapshot '%s' (%d MiB volume, %d blocks stored) into %d KiB, compressed and encrypted; "
                            + "verified %d MiB; restored to another volume: identical%n", second.name(),
                    view.geometry().capacityBytes() >> 20, backup.info().storedBlockCount(),
                    backup.info().imageBytes() >> 10, verified.dataBytes() >> 20);
        } finally {
            if (dir == null) {
                deleteTree(backupDir);
            }
        }

        // 6. status
        out.println("6. status (meters count since the last boot; they include the rebuild):");
        out.print(indent(unit.status().describe()));
    }

    private void printMeters(StorageControlUnit unit, String title) {
        IoMeter.Snapshot volume = unit.snapshots().meter().snapshot();
        IoMeter.Snapshot array = unit.array().meter().snapshot();
        out.println(title + " (bytes written):");
        out.printf("   snapshot layer: host %,d  skipped %,d  cow-copy %,d  journal %,d  metadata %,d%n",
                volume.receivedWrite().bytes(), volume.skippedWrite().bytes(), volume.issuedWrite(IoCause.COW_COPY).bytes(),
                volume.issuedWrite(IoCause.JOURNAL).bytes(), volume.issuedWrite(IoCause.METADATA).bytes());
        out.printf("   raid layer:     received %,d  data %,d  parity %,d  rebuild %,d  metadata %,d%n",
                array.receivedWrite().bytes(), array.issuedWrite(IoCause.HOST).bytes(), array.issuedWrite(IoCause.PARITY).bytes(),
                array.issuedWrite(IoCause.REBUILD).bytes(), array.issuedWrite(IoCause.METADATA).bytes());
        out.printf("   write amplification: snapshot layer %.2f x raid layer %.2f = %.2f physical bytes per host byte%n",
                volume.writeAmplification(), array.writeAmplification(),
                volume.writeAmplification() * array.writeAmplification());
    }

    private void check(long badBlocks, String what) {
        if (badBlocks != 0) {
            throw new IllegalStateException(what + ": " + badBlocks + " blocks differ from the model: this is a bug");
        }
    }

    private static String indent(String text) {
        return text.lines().map(l -> "   " + l + System.lineSeparator()).reduce("", String::concat);
    }

    /**
     * The demo builds its own unit in {@code DIR/unit} and its backups in {@code DIR/backups}:
     * {@code DIR} must be new or empty. A unit's own directory (served or not) is refused before
     * anything is written into it, as is any other directory that holds files.
     */
    private static void checkNewOrEmpty(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        if (!Files.isDirectory(dir)) {
            throw new UsageException(dir + " is not a directory");
        }
        try (Stream<Path> entries = Files.list(dir)) {
            if (entries.findAny().isPresent()) {
                throw new UsageException(dir + (StorageControlUnit.isUnitDirectory(dir) ? " is a unit's directory"
                        : " is not empty") + ": the demo builds its own unit in DIR/unit and its backups in"
                        + " DIR/backups; give a new or empty directory");
            }
        }
    }

    private static void deleteTree(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The reference model: for each written block, the seed of its content; plus the versions
     * written since the last flush (a power cut may keep any one of them).
     */
    private static final class Model {
        /** Distinct blocks the concurrent host writer touches (see {@link Writer}). */
        private static final long WRITER_BLOCKS = 256;
        private final long blockCount;
        private final Random random;
        private final Map<Long, Long> blocks = new HashMap<>();          // latest content of each written block
        private final Map<Long, Long> durable = new HashMap<>();         // content as of the last flush
        private final Map<Long, java.util.List<Long>> unflushed = new HashMap<>();

        Model(long blockCount, long seed) {
            this.blockCount = blockCount;
            this.random = new Random(seed);
        }

        Map<Long, Long> copy() {
            return new HashMap<>(blocks);
        }

        int write(BlockDevice host, int extents, int maxBlocks) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(maxBlocks * BLOCK);
            for (int i = 0; i < extents; i++) {
                int count = 1 + random.nextInt(maxBlocks);
                long lba = (random.nextLong() & Long.MAX_VALUE) % (blockCount - count);
                for (int b = 0; b < count; b++) {
                    long content = random.nextLong();
                    fill(buffer, b * BLOCK, content);
                    blocks.put(lba + b, content);
                    unflushed.computeIfAbsent(lba + b, k -> new java.util.ArrayList<>()).add(content);
                }
                host.write(lba, count, buffer, 0);
            }
            return extents;
        }

        int rewriteIdentical(BlockDevice host, int extents) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(BLOCK);
            Long[] lbas = blocks.keySet().toArray(new Long[0]);
            java.util.Arrays.sort(lbas);
            for (int i = 0; i < extents; i++) {
                long lba = lbas[random.nextInt(lbas.length)];
                fill(buffer, 0, blocks.get(lba));
                host.write(lba, 1, buffer, 0);
            }
            return extents;
        }

        /** After a power cut: each block written since the last flush holds one of its versions, or its older content. */
        void forgetUnflushed(BlockDevice host) {
            ByteBuffer actual = ByteBuffer.allocateDirect(BLOCK);
            ByteBuffer expected = ByteBuffer.allocateDirect(BLOCK);
            for (Map.Entry<Long, java.util.List<Long>> entry : unflushed.entrySet()) {
                host.read(entry.getKey(), 1, actual, 0);
                Long kept = null;
                for (long version : entry.getValue()) {
                    fill(expected, 0, version);
                    if (actual.equals(expected)) {
                        kept = version;
                    }
                }
                if (kept != null) {
                    blocks.put(entry.getKey(), kept);
                } else {
                        Long old = durable.get(entry.getKey());
                    if (old == null) {
                        blocks.remove(entry.getKey()); // never flushed: whatever it holds is allowed
                    } else {
                        blocks.put(entry.getKey(), old);
                    }
                }
            }
            unflushed.clear();
            durable.putAll(blocks);
        }

        /** The host flushed: everything written so far is durable. */
        void flushed() {
            durable.putAll(blocks);
            unflushed.clear();
        }

        long verify(BlockDevice device) {
            return verify(device, blocks);
        }

        static long verify(BlockDevice device, Map<Long, Long> expectedBlocks) {
            ByteBuffer actual = ByteBuffer.allocateDirect(BLOCK);
            ByteBuffer expected = ByteBuffer.allocateDirect(BLOCK);
            long bad = 0;
            for (Map.Entry<Long, Long> entry : expectedBlocks.entrySet()) {
                device.read(entry.getKey(), 1, actual, 0);
                fill(expected, 0, entry.getValue());
                bad += actual.equals(expected) ? 0 : 1;
            }
            return bad;
        }

        Writer concurrentWriter(BlockDevice host, AtomicBoolean stop, AtomicLong count) {
            return new Writer(host, stop, count, random.nextLong());
        }

        /**
         * Writes random blocks of the first {@link #WRITER_BLOCKS} until stopped; records them in the model
         * when done. The region is bounded so that the copies it forces into the snapshot store are bounded
         * however long the update takes (a faster machine writes more blocks, not more distinct ones).
         */
        final class Writer implements Runnable {
            private final BlockDevice host;
            private final AtomicBoolean stop;
            private final AtomicLong count;
            private final Random writerRandom;
            private volatile Throwable failure;

            Writer(BlockDevice host, AtomicBoolean stop, AtomicLong count, long seed) {
                this.host = host;
                this.stop = stop;
                this.count = count;
                this.writerRandom = new Random(seed);
            }

            @Override
            public void run() {
                ByteBuffer buffer = ByteBuffer.allocateDirect(BLOCK);
                Map<Long, Long> mine = new HashMap<>();
                try {
                    while (!stop.get()) {
                        long lba = (writerRandom.nextLong() & Long.MAX_VALUE) % Math.min(blockCount, WRITER_BLOCKS);
                        long content = writerRandom.nextLong();
                        fill(buffer, 0, content);
                        host.write(lba, 1, buffer, 0);
                        mine.put(lba, content);
                        count.incrementAndGet();
                    }
                } catch (Throwable t) {
                    failure = t;
                }
                synchronized (Model.this) {
                    blocks.putAll(mine);
                }
            }

            void rethrow() {
                if (failure != null) {
                    throw new IllegalStateException("host writer failed during the update: " + failure, failure);
                }
            }
        }

        static void fill(ByteBuffer buffer, int offset, long content) {
            Random r = new Random(content);
            for (int i = 0; i < BLOCK; i += 8) {
                buffer.putLong(offset + i, r.nextLong());
            }
        }
    }
}
