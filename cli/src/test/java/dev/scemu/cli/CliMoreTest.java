package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static dev.scemu.cli.CliTestSupport.pattern;
import static dev.scemu.cli.CliTestSupport.read;
import static dev.scemu.cli.CliTestSupport.scemu;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.unit.StorageControlUnit;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliMoreTest {

    @TempDir
    Path tmp;

    @AfterEach
    void restoreSeams() {
        ServeCommand.testHook = null;
        BackupCommand.environment = System::getenv;
    }

    @Test
    void incrementalBackupOnAKeptSnapshotWithThePasswordFromTheEnvironment() {
        Path dir = tmp.resolve("unit");
        Path backups = tmp.resolve("backups");
        createSmallUnit(dir);
        BackupCommand.environment = Map.of(BackupCommand.PASSWORD_ENV, "from the environment")::get;
        ByteBuffer first = pattern(21, 32);
        ByteBuffer second = pattern(22, 8);
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            unit.host().write(0, 32, first, 0);
            unit.host().flush();
        }
        assertThat(scemu("backup", "create", dir, "-t", backups, "--image-id", "full", "--keep-snapshot").ok().out())
                .contains("encrypted").contains("kept");
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            unit.host().write(1000, 8, second, 0);
            unit.host().flush();
        }
        String incremental = scemu("backup", "create", dir, "-t", backups, "--image-id", "incr", "--base", "full")
                .ok().out();
        assertThat(incremental).contains("changed since full");
        assertThat(scemu("backup", "info", "-t", backups, "incr").ok().out()).contains("base       full");

        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            unit.host().write(0, 32, pattern(23, 32), 0);
            unit.host().write(1000, 8, pattern(24, 8), 0);
            unit.host().flush();
        }
        scemu("backup", "restore", dir, "incr", "-t", backups).ok();
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(read(unit.host(), 0, 32)).isEqualTo(first);
            assertThat(read(unit.host(), 1000, 8)).isEqualTo(second);
        }
        // verify counts the image's zero blocks as info does (it said 0 before: it handles no zero run)
        java.util.regex.Pattern zeros = java.util.regex.Pattern.compile("(\\d+) zero blocks");
        java.util.regex.Matcher inInfo = zeros.matcher(scemu("backup", "info", "-t", backups, "full").ok().out());
        java.util.regex.Matcher inVerify = zeros.matcher(scemu("backup", "verify", "-t", backups, "full").ok().out());
        assertThat(inInfo.find()).isTrue();
        assertThat(inVerify.find()).isTrue();
        assertThat(Long.parseLong(inInfo.group(1))).isPositive();
        assertThat(inVerify.group(1)).isEqualTo(inInfo.group(1));
        BackupCommand.environment = name -> null;
        scemu("backup", "verify", "-t", backups, "incr").failsWithOneLine("PASSWORD_REQUIRED");
    }

    @Test
    void servesOnAUnixSocketForNbdinfo() {
        dev.scemu.core.RequiredTool.require("nbdinfo", "libnbd-bin");
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        scemu("snapshot", "create", dir, "s1").ok();
        Path socket = tmp.resolve("nbd.sock");
        AtomicReference<CliTestSupport.ProcessResult> list = new AtomicReference<>();
        ServeCommand.testHook = server -> list.set(CliTestSupport.run(
                List.of("nbdinfo", "--list", "nbd+unix:///?socket=" + socket)));
        CliTestSupport.Result served = scemu("serve", dir, "--socket", socket).ok();
        assertThat(served.out()).contains("nbd+unix:///volume?socket=" + socket.toAbsolutePath());
        assertThat(list.get().exitCode()).as(list.get().output()).isZero();
        assertThat(list.get().output()).contains("volume").contains("snap-");
        scemu("serve", dir, "--port", "1", "--socket", socket).failsWithOneLine("mutually exclusive");
    }

    @Test
    void serveRefusesAMalformedRebuildSpeedBeforeOpeningTheUnit() throws Exception {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        scemu("serve", dir, "--port", "0", "--rebuild-speed", "fast")
                .failsWithOneLine("--rebuild-speed: rebuild speed 'fast' is not MIN:MAX in KiB/s (for example 1000:200000)");
        scemu("serve", dir, "--port", "0", "--rebuild-speed", "2000:1000")
                .failsWithOneLine("--rebuild-speed: rebuild speed min 2048000 max 1024000 B/s: both must be >= 0 and"
                        + " min <= max (max 0 = unlimited)");
    }

    @Test
    void serveRefusesANonLoopbackAddressWithoutTlsRequiredAndServesOverTls() throws Exception {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        scemu("serve", dir, "--bind", "0.0.0.0", "--port", "0")
                .failsWithOneLine("refusing to serve on 0.0.0.0 without --tls=require");
        scemu("serve", dir, "--port", "0", "--tls=on").failsWithOneLine("--tls=on needs --tls-certificates DIR");
        scemu("serve", dir, "--port", "0", "--tls=maybe", "--tls-certificates", tmp)
                .failsWithOneLine("--tls=maybe is not one of off, on, require");
        dev.scemu.core.RequiredTool.require("openssl", "openssl");
        dev.scemu.core.RequiredTool.require("nbdinfo", "libnbd-bin");
        Path tls = Files.createDirectories(tmp.resolve("tls"));
        CliTestSupport.ProcessResult made = CliTestSupport.run(List.of("openssl", "req", "-x509", "-newkey", "ec",
                "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", tls.resolve("server-key.pem").toString(),
                "-out", tls.resolve("server-cert.pem").toString()));
        assertThat(made.exitCode()).as(made.output()).isZero();
        Files.copy(tls.resolve("server-cert.pem"), tls.resolve("ca-cert.pem")); // self-signed: its own CA
        AtomicReference<CliTestSupport.ProcessResult> overTls = new AtomicReference<>();
        AtomicReference<CliTestSupport.ProcessResult> plain = new AtomicReference<>();
        ServeCommand.testHook = server -> {
            overTls.set(CliTestSupport.run(List.of("nbdinfo", "--size",
                    "nbds://127.0.0.1:" + server.port() + "/volume?tls-certificates=" + tls)));
            plain.set(CliTestSupport.run(List.of("nbdinfo", "--size", "nbd://127.0.0.1:" + server.port() + "/volume")));
        };
        String out = scemu("serve", dir, "--port", "0", "--tls-certificates", tls).ok().out();
        assertThat(out).containsPattern("nbds://127\\.0\\.0\\.1:\\d+/volume");
        assertThat(overTls.get().exitCode()).as(overTls.get().output()).isZero();
        assertThat(plain.get().exitCode()).as(plain.get().output()).isNotZero(); // --tls=require by default
    }

    @Test
    void serveClosesAStalledHandshakeAfterTheHandshakeTimeout() throws Exception {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        AtomicReference<Integer> readAfterTimeout = new AtomicReference<>();
        AtomicReference<Long> timeouts = new AtomicReference<>();
        ServeCommand.testHook = server -> {
            try (java.net.Socket idle = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), server.port())) {
                idle.setSoTimeout(20_000);
                // the greeting, then end of stream once the 0.2 s handshake timeout closed the socket
                readAfterTimeout.set(idle.getInputStream().readAllBytes().length);
                timeouts.set(server.stats().handshakeTimeouts());
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
        scemu("serve", dir, "--port", "0", "--handshake-timeout", "0.2").ok();
        assertThat(readAfterTimeout.get()).isEqualTo(18);
        assertThat(timeouts.get()).isEqualTo(1);
        scemu("serve", dir, "--port", "0", "--handshake-timeout", "0").failsWithOneLine("--handshake-timeout 0.0 is not in");
    }
}
