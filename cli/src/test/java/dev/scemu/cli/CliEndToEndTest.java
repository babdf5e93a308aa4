package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static dev.scemu.cli.CliTestSupport.filled;
import static dev.scemu.cli.CliTestSupport.passwordFile;
import static dev.scemu.cli.CliTestSupport.pattern;
import static dev.scemu.cli.CliTestSupport.read;
import static dev.scemu.cli.CliTestSupport.scemu;
import static dev.scemu.cli.CliTestSupport.writeVolume;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.unit.StorageControlUnit;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliEndToEndTest {

    @TempDir
    Path tmp;

    @AfterEach
    void clearHooks() {
        ServeCommand.testHook = null;
    }

    @Test
    void createSizesTheSnapshotStoreAndRefusesOneThatDoesNotFitLeavingNothing() {
        Path dir = tmp.resolve("sized");
        scemu("create", dir, "--disk-size", "32M", "--snapshot-store", "40M").ok();
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(unit.config().snapshotStoreBytes()).isEqualTo(40L << 20);
            assertThat(unit.partitions().find("snapshot-store")).get()
                    .satisfies(p -> assertThat(p.sizeBytes()).isEqualTo(40L << 20));
        }
        Path tooBig = tmp.resolve("too-big");
        scemu("create", tooBig, "--disk-size", "32M", "--snapshot-store", "1G")
                .failsWithOneLine("partition 'snapshot-store'");
        assertThat(tooBig).doesNotExist();
    }

    @Test
    void writesThroughServeWithQemuIoAndRollsBackToASnapshot() {
        dev.scemu.core.RequiredTool.require("qemu-io", "qemu-utils");
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        assertThat(scemu("status", dir).ok().out()).contains("RAID5").contains("firmware   1.0.0").contains("optimal");
        String created = scemu("snapshot", "create", dir, "before").ok().out();
        Matcher id = Pattern.compile("snapshot (\\d+) 'before'").matcher(created);
        assertThat(id.find()).as(created).isTrue();

        AtomicReference<CliTestSupport.ProcessResult> write = new AtomicReference<>();
        AtomicReference<CliTestSupport.ProcessResult> snapshotRead = new AtomicReference<>();
        ServeCommand.testHook = server -> {
            String base = "nbd://127.0.0.1:" + server.port() + "/";
            write.set(CliTestSupport.run(List.of("qemu-io", "-f", "raw", base + "volume",
                    "-c", "write -P 0xab 0 1M", "-c", "read -P 0xab 0 1M")));
            snapshotRead.set(CliTestSupport.run(List.of("qemu-io", "-f", "raw", "-r", base + "snap-" + id.group(1),
                    "-c", "read -P 0 0 1M")));
        };
        CliTestSupport.Result served = scemu("serve", dir, "--port", "0").ok();
        assertThat(served.out()).containsPattern("nbd://127\\.0\\.0\\.1:\\d+/volume +read-write")
                .contains("/snap-" + id.group(1)).contains("read-only");
        assertThat(write.get().exitCode()).as(write.get().output()).isZero();
        assertThat(write.get().output()).doesNotContain("Pattern verification failed");
        assertThat(snapshotRead.get().exitCode()).as(snapshotRead.get().output()).isZero();
        assertThat(snapshotRead.get().output()).doesNotContain("Pattern verification failed");

        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(read(unit.host(), 0, 256)).isEqualTo(filled(0xab, 256));
        }
        assertThat(scemu("snapshot", "list", dir).ok().out()).contains("before");
        assertThat(scemu("snapshot", "rollback", dir, "before").ok().out()).contains("rolled back");
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(read(unit.host(), 0, 256)).isEqualTo(filled(0, 256));
        }
        scemu("snapshot", "delete", dir, "--id", id.group(1)).ok();
        assertThat(scemu("snapshot", "list", dir).ok().out()).doesNotContain("before");
    }

    @Test
    void aFailedDiskStaysFailedAcrossReopenUntilReplaceRebuildsIt() {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        ByteBuffer data = pattern(6, 64);
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            unit.host().write(0, 64, data, 0);
            unit.host().flush();
        }
        assertThat(scemu("disk", "fail", dir, 2).ok().out()).contains("disk 2 failed").contains("degraded");
        assertThat(scemu("status", dir).ok().out()).contains("DEGRADED").containsPattern("disk 2 +FAILED");
        scemu("disk", "fail", dir, 2).failsWithOneLine("already failed");
        scemu("disk", "replace", dir, 1).failsWithOneLine("only a failed disk can be replaced");

        CliTestSupport.Result replaced = scemu("disk", "replace", dir, 2).ok();
        assertThat(replaced.out()).contains("disk 2 replaced and rebuilt");
        assertThat(replaced.err()).as("no progress-bar frames off a terminal").doesNotContain("\r");
        String status = scemu("status", dir).ok().out();
        assertThat(status).contains("optimal").doesNotContain("FAILED");
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            unit.disk(0).failDevice();   // the rebuilt disk 2 now carries the redundancy
            assertThat(read(unit.host(), 0, 64)).isEqualTo(data);
        }
    }

    @Test
    void firmwareIsBuiltInspectedUpdatedAndRecoveredAfterCorruption() throws Exception {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        Path key = tmp.resolve("vendor.pem");
        scemu("firmware", "export-key", dir, "-o", key).ok();
        Path body = tmp.resolve("body.bin");
        byte[] bytes = new byte[96 << 10];
        new Random(3).nextBytes(bytes);
        Files.write(body, bytes);
        Path image = tmp.resolve("fw-1.1.0.img");
        assertThat(scemu("firmware", "build", "--body", body, "--key", key, "--image-version", "1.1.0", "-o", image)
                .ok().out()).contains("1.1.0");
        assertThat(scemu("firmware", "inspect", image, "--trusted-key", tmp.resolve("vendor.pem.pub")).ok().out())
                .contains("1.1.0").contains("signature  verified");

        CliTestSupport.Result update = scemu("firmware", "update", dir, image).ok();
        assertThat(update.out()).contains("UPDATED").contains("1.0.0").contains("1.1.0").contains("paused");
        assertThat(scemu("status", dir).ok().out()).contains("firmware   1.1.0");

        assertThat(scemu("firmware", "corrupt", dir).ok().out()).contains("CORRUPT");
        String recovered = scemu("status", dir).ok().out();
        assertThat(recovered).contains("CORRUPTION_DETECTED").contains("RECOVERED").contains("firmware   1.1.0");
        assertThat(scemu("status", dir).ok().out()).as("status repairs in memory only")
                .contains("CORRUPTION_DETECTED");
        assertThat(scemu("firmware", "inspect", dir).ok().out()).contains("VALID").doesNotContain("CORRUPT");
        assertThat(scemu("status", dir).ok().out()).contains("boot       clean");

        Path stranger = tmp.resolve("stranger.pem");
        scemu("firmware", "keygen", "-o", stranger).ok();
        Path untrusted = tmp.resolve("fw-evil.img");
        scemu("firmware", "build", "--body", body, "--key", stranger, "--image-version", "2.0.0", "-o", untrusted).ok();
        CliTestSupport.Result refused = scemu("firmware", "update", dir, untrusted);
        assertThat(refused.status()).isNotZero();
        assertThat(refused.errorLines().strip().lines().toList()).hasSize(1);
        assertThat(scemu("status", dir).ok().out()).contains("firmware   1.1.0");
    }

    @Test
    void backupRoundTripWithAPasswordFileRefusesAWrongPassword() throws Exception {
        Path dir = tmp.resolve("unit");
        Path backups = tmp.resolve("backups");
        createSmallUnit(dir);
        ByteBuffer data = pattern(11, 64);
        writeVolume(dir, 100, data);
        Path password = passwordFile(tmp, "correct horse");
        Path wrong = passwordFile(tmp, "battery staple");

        CliTestSupport.Result created = scemu("backup", "create", dir, "--target", backups, "--image-id", "full",
                "--password-file", password).ok();
        assertThat(created.out()).contains("backup full").contains("encrypted").contains("deleted");
        assertThat(created.err()).as("no progress-bar frames off a terminal").doesNotContain("\r");
        assertThat(scemu("snapshot", "list", dir).ok().out()).doesNotContain("backup full");
        assertThat(scemu("backup", "list", "--target", backups).ok().out()).contains("full");

        assertThat(scemu("backup", "verify", "--target", backups, "full", "--password-file", password).ok().out())
                .contains("intact");
        scemu("backup", "verify", "--target", backups, "full", "--password-file", wrong)
                .failsWithOneLine("WRONG_PASSWORD");

        writeVolume(dir, 100, pattern(12, 64));
        scemu("backup", "restore", dir, "full", "--target", backups, "--password-file", wrong)
                .failsWithOneLine("WRONG_PASSWORD");
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(read(unit.host(), 100, 64)).as("a refused restore writes nothing").isEqualTo(pattern(12, 64));
        }
        assertThat(scemu("backup", "restore", dir, "full", "--target", backups, "--password-file", password)
                .ok().out()).contains("restored full");
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(read(unit.host(), 100, 64)).isEqualTo(data);
        }
    }
}
