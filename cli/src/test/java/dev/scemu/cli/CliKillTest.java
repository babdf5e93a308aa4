package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static dev.scemu.cli.CliTestSupport.pattern;
import static dev.scemu.cli.CliTestSupport.read;
import static dev.scemu.cli.CliTestSupport.scemu;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.unit.StorageControlUnit;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -9} during the long commands: a child JVM runs {@code scemu snapshot rollback},
 * {@code backup restore} or {@code backup create} and stops before an exact write (the
 * {@code scemu.test.haltAtWrite} hook prints a line and parks the writer), then the test kills it
 * with SIGKILL ({@link Process#destroyForcibly()}) and reopens the unit through the CLI. Writes the
 * unit had not flushed die with the process (the disks' write cache lives in it), as in a power cut.
 */
class CliKillTest {

    /**
     * 4 MiB of data: a rollback of it takes about 140 writes, a restore about 20 (the mark is
     * written at about write 7, after the array marks itself dirty), a backup 6 + 14 (measured).
     */
    private static final int BLOCKS = 1024;
    private static final ExecutorService READER = Executors.newSingleThreadExecutor();

    @TempDir
    Path temp;

    @AfterEach
    void clearHook() {
        ServeCommand.testHook = null;
    }

    @AfterAll
    static void stopReader() {
        READER.shutdownNow();
    }

    /** Runs {@code scemu args} in a child JVM halted before write {@code haltAt}; kills it there. */
    private void runAndKillAt(long haltAt, Object... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String flag : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (flag.startsWith("--add-") || flag.startsWith("--enable-native-access")
                    || flag.startsWith("--sun-misc-unsafe-memory-access")) {
                command.add(flag);
            }
        }
        command.add("-D" + Units.HALT_AT_WRITE + "=" + haltAt);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(Main.class.getName());
        for (Object arg : args) {
            command.add(String.valueOf(arg));
        }
        Path err = Files.createTempFile(temp, "child", ".err");
        Process child = new ProcessBuilder(command).redirectError(err.toFile()).start();
        try {
            Future<String> halted = READER.submit(() -> {
                BufferedReader lines = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
                StringBuilder seen = new StringBuilder();
                for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                    if (line.startsWith(Units.HALTED)) {
                        return line;
                    }
                    seen.append(line).append('\n');
                }
                return null;
            });
            String line = halted.get(90, TimeUnit.SECONDS);
            assertThat(line).as("the child stopped at write %d (stderr: %s)", haltAt, stderr(err)).isNotNull();
        } finally {
            child.destroyForcibly(); // SIGKILL
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).as("the killed child exited").isTrue();
        }
        assertThat(child.exitValue()).as("killed by SIGKILL").isEqualTo(137);
    }

    private static String stderr(Path err) {
        try {
            return Files.readString(err);
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    /** Writes {@code data} at lba 0 and flushes. */
    private static ByteBuffer volume(Path dir) {
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            return read(unit.host(), 0, BLOCKS);
        }
    }

    @Test
    void aKilledRollbackIsFinishedAtTheNextOpenOrNeverStarted() throws Exception {
        ByteBuffer old = pattern(1, BLOCKS);
        ByteBuffer now = pattern(2, BLOCKS);
        int finished = 0;
        for (long haltAt : new long[] {0, 30, 120}) {
            Path dir = temp.resolve("rollback-" + haltAt);
            createSmallUnit(dir);
            CliTestSupport.writeVolume(dir, 0, old);
            scemu("snapshot", "create", dir, "s1").ok();
            CliTestSupport.writeVolume(dir, 0, now);

            runAndKillAt(haltAt, "snapshot", "rollback", dir, "s1");

            CliTestSupport.Result status = scemu("status", dir).ok();
            ByteBuffer after = volume(dir);
            boolean asSnapshot = after.equals(old);
            assertThat(asSnapshot || after.equals(now)).as("kill at write %d: the volume reads as before or as the"
                    + " snapshot, never a mix", haltAt).isTrue();
            if (status.out().contains("recovered  rollback to snapshot 1 's1' was interrupted and was finished at open")) {
                finished++;
                assertThat(asSnapshot).as("a rollback finished at open ends at the snapshot").isTrue();
            } else {
                assertThat(status.err()).doesNotContain("rollback");
            }
            assertThat(scemu("status", dir).ok().out()).as("reported once, by the open that finished it")
                    .doesNotContain("recovered  rollback");
        }
        assertThat(finished).as("kills after the rollback record are finished at open").isPositive();
    }

    @Test
    void aKilledRestoreLeavesTheVolumeMarkedReadOnlyUntilRestoredAgain() throws Exception {
        ByteBuffer backedUp = pattern(3, BLOCKS);
        ByteBuffer later = pattern(4, BLOCKS);
        Path target = temp.resolve("backups");
        int marked = 0;
        // the restore's first write to the volume is write 13 after the open (md-style bitmap and
        // superblock writes come first); a sweep of 0..25 found 0..12 unmarked and 13..25 marked
        for (long haltAt : new long[] {0, 8, 17, 23}) {
            Path dir = temp.resolve("restore-" + haltAt);
            createSmallUnit(dir);
            CliTestSupport.writeVolume(dir, 0, backedUp);
            scemu("backup", "create", dir, "-t", target, "--image-id", "img" + haltAt).ok();
            CliTestSupport.writeVolume(dir, 0, later);

            runAndKillAt(haltAt, "backup", "restore", dir, "img" + haltAt, "-t", target);

            CliTestSupport.Result status = scemu("status", dir).ok();
            System.out.printf("restore killed at write %d: %s%n", haltAt, status.out().contains("INCOMPLETE") ? "marked" : "not marked");
            if (!status.out().contains("restore    INCOMPLETE (image img" + haltAt + ")")) {
                ByteBuffer after = volume(dir);
                assertThat(after.equals(backedUp) || after.equals(later))
                        .as("kill at write %d: an unmarked volume is untouched or completely restored", haltAt).isTrue();
                continue;
            }
            marked++;
            ServeCommand.testHook = server -> assertThat(server.exports().get(0).readOnly()).isTrue();
            CliTestSupport.Result served = scemu("serve", dir, "--port", "0").ok();
            assertThat(served.out()).contains("marked restore incomplete (image img" + haltAt + ")")
                    .containsPattern("/volume +read-only");
            if (marked == 1) {
                CliTestSupport.Result again = scemu("backup", "restore", dir, "img" + haltAt, "-t", target).ok();
                assertThat(again.err()).contains("marked restore incomplete");
                assertThat(volume(dir)).isEqualTo(backedUp);
            } else {
                scemu("backup", "clear-incomplete", dir).ok();
                scemu("backup", "clear-incomplete", dir).failsWithOneLine("not marked restore incomplete");
            }
            assertThat(scemu("status", dir).ok().out()).doesNotContain("INCOMPLETE");
            ServeCommand.testHook = server -> assertThat(server.exports().get(0).readOnly()).isFalse();
            scemu("serve", dir, "--port", "0").ok();
        }
        assertThat(marked).as("kills after the first restored write leave the mark").isGreaterThanOrEqualTo(2);
    }

    @Test
    void aKilledBackupLeavesNoSnapshotBehind() throws Exception {
        Path target = temp.resolve("backups");
        int removed = 0;
        // a sweep of 0..25 found the temporary snapshot durable from write 15 to 24 after the open
        for (long haltAt : new long[] {1, 17, 21}) {
            Path dir = temp.resolve("backup-" + haltAt);
            createSmallUnit(dir);
            CliTestSupport.writeVolume(dir, 0, pattern(5, BLOCKS));
            scemu("snapshot", "create", dir, "mine").ok();

            runAndKillAt(haltAt, "backup", "create", dir, "-t", target, "--image-id", "b" + haltAt);

            CliTestSupport.Result list = scemu("snapshot", "list", dir).ok();
            assertThat(list.out()).contains("mine").doesNotContain("backup b" + haltAt);
            if (list.err().contains("temporary snapshot")) {
                removed++;
                assertThat(list.err()).contains("'backup b" + haltAt + "' of an interrupted operation was removed at open");
            }
            // the backup can simply be run again (under the same id unless its image was committed before the kill)
            String retryId = Files.exists(target.resolve("b" + haltAt + ".scb")) ? "b" + haltAt + "-again" : "b" + haltAt;
            scemu("backup", "create", dir, "-t", target, "--image-id", retryId).ok();
            assertThat(scemu("snapshot", "list", dir).ok().out()).doesNotContain("backup b" + haltAt);
        }
        assertThat(removed).as("kills after the snapshot was created find it removed at the next open").isPositive();
    }

    /**
     * A unit killed while its array was active, whose snapshot store superblock then rots on a
     * member. On one member: the next read-write open reads the superblock rebuilt from the other
     * members and rewrites the damaged block; that works only because the dirty array's resync
     * waits for the first change (before, the open resynced first and recomputed the row's parity
     * from the damaged block, and the unit would not open). On two members (data and parity, beyond
     * RAID-5): {@code serve} and {@code scrub} refuse with a clear error, and their failed opens leave
     * every image as the kill left it.
     */
    @Test
    void aStoreSuperblockDamagedAfterAKillIsRebuiltOrRefusedWithoutAWrite() throws Exception {
        for (int damagedMembers : new int[] {1, 2}) {
            Path dir = temp.resolve("damaged-" + damagedMembers);
            createSmallUnit(dir);
            ByteBuffer data = pattern(3, BLOCKS);
            CliTestSupport.writeVolume(dir, 0, data);
            runAndKillAt(12, "snapshot", "create", dir, "s1"); // the array went active at the command's first write

            // the member blocks that hold the store's superblock and its parity: md's left-symmetric RAID-5 mapping
            List<Path> members = new ArrayList<>();
            long memberOffset;
            try (StorageControlUnit unit = StorageControlUnit.openReadOnly(dir)) {
                int disks = unit.array().raidDisks();
                long chunk = unit.array().chunkBytes();
                long arrayOffset = unit.partitions().find("snapshot-store").orElseThrow().offsetBytes();
                long row = arrayOffset / (chunk * (disks - 1));
                long k = arrayOffset % (chunk * (disks - 1)) / chunk;
                long parity = disks - 1 - row % disks;
                members.add(dir.resolve("disk" + (parity + 1 + k) % disks + ".img"));
                members.add(dir.resolve("disk" + parity + ".img"));
                memberOffset = unit.array().dataOffsetSectors() * 512 + row * chunk + arrayOffset % chunk;
            }
            for (Path member : members.subList(0, damagedMembers)) {
                try (java.nio.channels.FileChannel file = java.nio.channels.FileChannel.open(member,
                        java.nio.file.StandardOpenOption.WRITE)) {
                    file.write(pattern(4, 1), memberOffset);
                }
            }
            java.util.Map<String, String> before = CliTestSupport.imageHashes(dir);
            if (damagedMembers == 1) {
                assertThat(scemu("scrub", dir).ok().out()).as("rebuilt, rewritten, resynced").contains("0 mismatched");
                try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
                    assertThat(read(unit.host(), 0, BLOCKS)).isEqualTo(data);
                }
            } else {
                scemu("serve", dir, "--port", "0").failsWithOneLine("has lost its superblock");
                scemu("scrub", dir).failsWithOneLine("has lost its superblock");
                scemu("snapshot", "list", dir).failsWithOneLine("a member disk or the store is damaged");
                assertThat(CliTestSupport.imageHashes(dir)).as("every image as the kill left it").isEqualTo(before);
            }
        }
    }

    /**
     * {@code kill -9} of an offline {@code disk replace}: before its first write (the new image
     * exists, blank) the next open removes the image, which holds no member, and starts degraded as
     * before the command; in the middle of the rebuild the next open assembles the member from the
     * new image (its superblock holds the role and the recovery offset), resumes the rebuild there
     * and adopts the image at its close. Before, the open looked only for {@code disk2.img} and
     * threw the partly rebuilt image away.
     */
    @Test
    void aKilledDiskReplaceResumesFromTheNewImageOrLeavesNoTrace() throws Exception {
        for (long haltAt : new long[] {0, 60}) {
            Path dir = temp.resolve("replace-" + haltAt);
            createSmallUnit(dir);
            ByteBuffer data = pattern(6, BLOCKS);
            CliTestSupport.writeVolume(dir, 0, data);
            scemu("disk", "fail", dir, "2").ok();

            runAndKillAt(haltAt, "disk", "replace", dir, "2");
            assertThat(dir.resolve("disk2-r1.img")).as("kill at write %d: the new image exists", haltAt).exists();

            try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
                unit.array().backgroundWork().get(60, TimeUnit.SECONDS);
                assertThat(unit.array().isDegraded()).as("kill at write %d: degraded", haltAt).isEqualTo(haltAt == 0);
                assertThat(read(unit.host(), 0, BLOCKS)).as("kill at write %d", haltAt).isEqualTo(data);
            }
            assertThat(dir.resolve("disk2-r1.img")).as("kill at write %d: removed or adopted", haltAt).doesNotExist();
            if (haltAt == 0) {
                assertThat(scemu("status", dir).ok().out()).contains("DEGRADED");
                scemu("disk", "replace", dir, "2").ok();
            }
            assertThat(scemu("status", dir).ok().out()).contains("optimal");
            assertThat(scemu("scrub", dir).ok().out()).contains("0 mismatched");
        }
    }

}
