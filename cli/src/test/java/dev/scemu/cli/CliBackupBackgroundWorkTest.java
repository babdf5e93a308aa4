package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static dev.scemu.cli.CliTestSupport.imageHashes;
import static dev.scemu.cli.CliTestSupport.passwordFile;
import static dev.scemu.cli.CliTestSupport.pattern;
import static dev.scemu.cli.CliTestSupport.read;
import static dev.scemu.cli.CliTestSupport.scemu;
import static dev.scemu.cli.CliTestSupport.writeVolume;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.backup.BackupEngine;
import dev.scemu.unit.StorageControlUnit;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The work {@code backup create} and {@code backup restore} run on a second thread while the unit
 * opens ({@link Background}): the new image's key derivation, and the restore's image check
 * (key, MACs, integrity pass). When that work fails, or the main thread's part fails first, the
 * command refuses with one clear line, no thread of it is left running, and nothing is left behind:
 * no image, no partial image, no snapshot; the unit's files unchanged by a refused restore.
 */
class CliBackupBackgroundWorkTest {

    @Test
    void aFailedKeyDerivationLeavesNoImageNoSnapshotAndNoThread(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("unit");
        Path backups = tmp.resolve("backups");
        createSmallUnit(dir);
        writeVolume(dir, 0, pattern(31, 64));
        Path password = passwordFile(tmp, "correct horse");
        var saved = BackupCommand.keyDerivation;
        BackupCommand.keyDerivation = options -> {
            throw new IllegalStateException("libargon2 argon2id_hash_raw failed with error -22 (test)");
        };
        try {
            scemu("backup", "create", dir, "--target", backups, "--image-id", "full", "--password-file", password)
                    .failsWithOneLine("argon2id_hash_raw failed with error -22 (test)");
        } finally {
            BackupCommand.keyDerivation = saved;
        }
        assertThat(backgroundThreads()).as("threads of the command still alive").isEmpty();
        try (Stream<Path> files = Files.list(backups)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).as("files in the backup directory").isEmpty();
        }
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(unit.snapshots().listSnapshots()).as("the backup's temporary snapshot was never taken").isEmpty();
        }
        // the same command with the real derivation works
        scemu("backup", "create", dir, "--target", backups, "--image-id", "full", "--password-file", password).ok();
        assertThat(BackupEngine.info(dev.scemu.backup.BackupTarget.directory(backups), "full",
                "correct horse".toCharArray()).encrypted()).isTrue();
    }

    @Test
    void aRestoreWhoseUnitCannotBeOpenedStopsTheImageCheckAndLeavesEverythingAsItWas(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("unit");
        Path backups = tmp.resolve("backups");
        Path notAUnit = Files.createDirectories(tmp.resolve("not-a-unit"));
        createSmallUnit(dir);
        ByteBuffer imaged = pattern(32, 256);
        writeVolume(dir, 0, imaged);
        Path password = passwordFile(tmp, "correct horse");
        Path wrong = passwordFile(tmp, "battery staple");
        scemu("backup", "create", dir, "--target", backups, "--image-id", "full", "--password-file", password).ok();
        byte[] image = Files.readAllBytes(backups.resolve("full.scb"));

        // the look fails at once while the check (key derivation, integrity pass) runs: the look's error is the one shown
        scemu("backup", "restore", notAUnit, "full", "--target", backups, "--password-file", password)
                .failsWithOneLine("no scemu unit in");
        assertThat(backgroundThreads()).as("threads of the command still alive").isEmpty();
        // both fail: still the look's error, and still nothing left running
        scemu("backup", "restore", notAUnit, "full", "--target", backups, "--password-file", wrong)
                .failsWithOneLine("no scemu unit in");
        assertThat(backgroundThreads()).as("threads of the command still alive").isEmpty();
        try (Stream<Path> files = Files.list(notAUnit)) {
            assertThat(files.toList()).isEmpty();
        }
        assertThat(Files.readAllBytes(backups.resolve("full.scb"))).isEqualTo(image);

        // the check fails while the look succeeds: the unit's files are unchanged (CliRefusedRestoreTest does every kind)
        writeVolume(dir, 0, pattern(33, 256));
        Map<String, String> before = imageHashes(dir);
        scemu("backup", "restore", dir, "full", "--target", backups, "--password-file", wrong)
                .failsWithOneLine("WRONG_PASSWORD");
        assertThat(backgroundThreads()).as("threads of the command still alive").isEmpty();
        assertThat(imageHashes(dir)).isEqualTo(before);

        scemu("backup", "restore", dir, "full", "--target", backups, "--password-file", password).ok();
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(read(unit.host(), 0, 256)).isEqualTo(imaged);
        }
    }

    /**
     * An incremental's base is opened and checked once, on the background thread beside the unit
     * open (its Argon2id off the main thread, not run again by the backup); a base refused there (a
     * wrong password) fails the command before the snapshot is taken, with the new image's key wiped.
     */
    @Test
    void anIncrementalOpensItsBaseOnceAndARefusedBaseLeavesNothingBehind(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("unit");
        Path backups = tmp.resolve("backups");
        createSmallUnit(dir);
        writeVolume(dir, 0, pattern(36, 64));
        Path password = passwordFile(tmp, "correct horse");
        Path wrong = passwordFile(tmp, "battery staple");
        scemu("backup", "create", dir, "--target", backups, "--image-id", "full", "--password-file", password,
                "--keep-snapshot").ok();
        writeVolume(dir, 8, pattern(37, 4));

        java.util.concurrent.ConcurrentHashMap<String, Integer> opens = new java.util.concurrent.ConcurrentHashMap<>();
        java.util.List<dev.scemu.backup.ImageKey> keys = new java.util.concurrent.CopyOnWriteArrayList<>();
        var savedTarget = BackupCommand.targetDecorator;
        var savedKey = BackupCommand.keyDerivation;
        BackupCommand.targetDecorator = target -> countingOpens(target, opens);
        try {
            BackupCommand.keyDerivation = options -> {
                dev.scemu.backup.ImageKey key = BackupEngine.deriveImageKey(options);
                keys.add(key);
                return key;
            };
            scemu("backup", "create", dir, "--target", backups, "--image-id", "refused", "--base", "full",
                    "--password-file", wrong).failsWithOneLine("WRONG_PASSWORD");
            assertThat(backgroundThreads()).as("threads of the command still alive").isEmpty();
            assertThat(keys).hasSize(1);
            assertThat(catchKeyUse(keys.get(0))).as("the new image's key was wiped").endsWith("the image key was closed");
            try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
                assertThat(unit.snapshots().listSnapshots()).as("only the base's kept snapshot").hasSize(1);
            }
            BackupCommand.keyDerivation = savedKey;

            opens.clear();
            scemu("backup", "create", dir, "--target", backups, "--image-id", "inc", "--base", "full",
                    "--password-file", password).ok();
            assertThat(opens).as("images opened for reading by the incremental").containsExactly(Map.entry("full", 1));
        } finally {
            BackupCommand.targetDecorator = savedTarget;
            BackupCommand.keyDerivation = savedKey;
        }
        try (var target = dev.scemu.backup.BackupTarget.directory(backups)) {
            assertThat(target.list()).containsExactlyInAnyOrder("full", "inc");
            assertThat(BackupEngine.verify(target, "inc", "correct horse".toCharArray()).chain()).hasSize(2);
        }
    }

    /** A backup with a key that was closed fails; the message says why. */
    private static String catchKeyUse(dev.scemu.backup.ImageKey key) {
        try (var device = dev.scemu.core.Media.memory("probe", new dev.scemu.core.BlockGeometry(4096, 16));
             var target = dev.scemu.backup.BackupTarget.directory(java.nio.file.Files.createTempDirectory("probe"))) {
            BackupEngine.backup(dev.scemu.backup.BackupSource.ofDevice(device, "v", "s"), target,
                    dev.scemu.backup.BackupOptions.defaults().withPassword("correct horse".toCharArray())
                            .withKdf(key.kdf()).withImageId("probe"), key);
            return "used";
        } catch (dev.scemu.backup.BackupException e) {
            return e.getMessage();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** {@code target} counting each image it opens for reading. */
    private static dev.scemu.backup.BackupTarget countingOpens(dev.scemu.backup.BackupTarget target,
                                                               Map<String, Integer> opens) {
        return (dev.scemu.backup.BackupTarget) java.lang.reflect.Proxy.newProxyInstance(
                dev.scemu.backup.BackupTarget.class.getClassLoader(), new Class<?>[] {dev.scemu.backup.BackupTarget.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("openImage")) {
                        opens.merge((String) args[0], 1, Integer::sum);
                    }
                    try {
                        return method.invoke(target, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    /** Live threads of the backup commands' background work ({@link Background} joins them before it returns). */
    private static List<String> backgroundThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(n -> n.startsWith("scemu-backup-key") || n.startsWith("scemu-restore-check")).toList();
    }

    /**
     * A backup whose target fails in the middle (a full file system: ENOSPC) leaves nothing on the
     * target: the engine keeps a partial image for a resume that needs the backup's snapshot, and
     * the command, which deletes that temporary snapshot, drops the partial image and its checkpoint
     * (before, an 8 MiB partial image stayed on the full 8 MiB target for good).
     */
    @Test
    void aBackupWhoseTargetFailsMidwayLeavesNothingOnTheTarget(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("unit");
        Path backups = tmp.resolve("backups");
        createSmallUnit(dir);
        java.util.Random random = new java.util.Random(35);
        byte[] noise = new byte[4 << 20]; // incompressible, so the image passes the failure point
        random.nextBytes(noise);
        writeVolume(dir, 0, java.nio.ByteBuffer.wrap(noise));
        Path password = passwordFile(tmp, "correct horse");
        var saved = BackupCommand.targetDecorator;
        BackupCommand.targetDecorator = target -> new FullAfter(target, 1L << 20);
        try {
            scemu("backup", "create", dir, "--target", backups, "--image-id", "full", "--password-file", password)
                    .failsWithOneLine("No space left on device (test)");
        } finally {
            BackupCommand.targetDecorator = saved;
        }
        try (Stream<Path> files = Files.list(backups)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).as("files in the backup directory").isEmpty();
        }
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(unit.snapshots().listSnapshots()).as("the temporary snapshot was deleted").isEmpty();
        }
        scemu("backup", "create", dir, "--target", backups, "--image-id", "full", "--password-file", password).ok();
    }

    /** A directory target whose image writers fail like a full file system after {@code bytes} bytes. */
    private static final class FullAfter implements dev.scemu.backup.BackupTarget {
        private final dev.scemu.backup.BackupTarget inner;
        private final long bytes;

        FullAfter(dev.scemu.backup.BackupTarget inner, long bytes) {
            this.inner = inner;
            this.bytes = bytes;
        }

        private dev.scemu.backup.ImageWriter failing(dev.scemu.backup.ImageWriter writer) {
            return new dev.scemu.backup.ImageWriter() {
                @Override
                public long position() {
                    return writer.position();
                }

                @Override
                public void write(java.nio.ByteBuffer data) {
                    if (writer.position() + data.remaining() > bytes) {
                        throw new dev.scemu.backup.BackupException(dev.scemu.backup.BackupError.TARGET_IO,
                                "could not write: No space left on device (test)");
                    }
                    writer.write(data);
                }

                @Override
                public long durableLength() {
                    return writer.durableLength();
                }

                @Override
                public void sync() {
                    writer.sync();
                }

                @Override
                public void commit() {
                    writer.commit();
                }

                @Override
                public String resumeState() {
                    return writer.resumeState();
                }

                @Override
                public void abort() {
                    writer.abort();
                }

                @Override
                public void close() {
                    writer.close();
                }
            };
        }

        @Override public String name() { return inner.name(); }
        @Override public dev.scemu.backup.ImageWriter createImage(String id) { return failing(inner.createImage(id)); }
        @Override public dev.scemu.backup.ImageWriter resumeImage(String id, long length, String state) {
            return inner.resumeImage(id, length, state);
        }
        @Override public dev.scemu.backup.ImageReader openImage(String id) { return inner.openImage(id); }
        @Override public boolean exists(String id) { return inner.exists(id); }
        @Override public java.util.List<String> list() { return inner.list(); }
        @Override public void delete(String id) { inner.delete(id); }
        @Override public void writeCheckpoint(String name, byte[] blob) { inner.writeCheckpoint(name, blob); }
        @Override public java.util.Optional<byte[]> readCheckpoint(String name) { return inner.readCheckpoint(name); }
        @Override public void deleteCheckpoint(String name) { inner.deleteCheckpoint(name); }
        @Override public void close() { inner.close(); }
    }

}
