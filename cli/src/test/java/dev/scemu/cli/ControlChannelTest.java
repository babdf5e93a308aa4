package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static dev.scemu.cli.CliTestSupport.scemu;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The control protocol's encoding, the socket's place and mode, and what the server refuses (serve in this JVM). */
class ControlChannelTest {

    @TempDir
    Path tmp;

    private final ExecutorService executor = Executors.newSingleThreadExecutor();

    @AfterEach
    void cleanUp() {
        ServeCommand.testHook = null;
        ControlServer.requestTimeout = Duration.ofSeconds(10);
        ControlServer.keepaliveInterval = Duration.ofSeconds(5);
        LiveControl.silenceLimit = Duration.ofSeconds(30);
        executor.shutdownNow();
    }

    @Test
    void requestsRoundTripAndMalformedOnesAreRejected() throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ControlProtocol.writeRequest(bytes, "/home/ü", Map.of("SCEMU_BACKUP_PASSWORD", "a=b c"),
                List.of("snapshot", "create", "unit", "name with spaces\nand a newline"));
        ControlProtocol.Request request = ControlProtocol.readRequest(new ByteArrayInputStream(bytes.toByteArray()));
        assertThat(request.cwd()).isEqualTo("/home/ü");
        assertThat(request.env()).containsEntry("SCEMU_BACKUP_PASSWORD", "a=b c");
        assertThat(request.args()).containsExactly("snapshot", "create", "unit", "name with spaces\nand a newline");

        assertThatThrownBy(() -> ControlProtocol.readRequest(stream("GET / HTTP/1.1\n")))
                .hasMessageContaining("not a scemu control request");
        assertThatThrownBy(() -> ControlProtocol.readRequest(stream("SCEMU-CONTROL 1\narg 99999999\n")))
                .hasMessageContaining("field length 99999999 is not in 0..65536");
        assertThatThrownBy(() -> ControlProtocol.readRequest(stream("SCEMU-CONTROL 1\narg 10\nshort")))
                .hasMessageContaining("connection closed inside a field of 10 bytes");
        assertThatThrownBy(() -> ControlProtocol.readRequest(stream("SCEMU-CONTROL 1\n" + "x".repeat(100))))
                .hasMessageContaining("longer than 64 bytes");
        assertThatThrownBy(() -> ControlProtocol.readRequest(stream("SCEMU-CONTROL 1\nend\n")))
                .hasMessageContaining("without cwd or arguments");
    }

    private static InputStream stream(String text) {
        return new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aLongUnitPathGetsAPrivateFallbackSocket() throws IOException {
        Path shortDir = tmp.resolve("u");
        assertThat(ControlSocket.path(shortDir)).isEqualTo(shortDir.resolve("control.sock"));
        Path longDir = tmp.resolve("a".repeat(60)).resolve("b".repeat(60));
        Path fallback = ControlSocket.path(longDir);
        assertThat(fallback.toString().getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(100);
        assertThat(fallback.getParent()).isEqualTo(Path.of(System.getProperty("java.io.tmpdir"),
                "scemu-" + System.getProperty("user.name")));
        assertThat(ControlSocket.path(longDir)).as("client and server derive the same path").isEqualTo(fallback);
        assertThat(ControlSocket.path(longDir.resolve("c"))).isNotEqualTo(fallback);
        ControlSocket.preparePrivateParent(fallback);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(fallback.getParent())))
                .isEqualTo("rwx------");
    }

    /** Runs {@code scemu serve DIR} in this JVM until the returned latch is counted down. */
    private Future<CliTestSupport.Result> serveInThisJvm(Path dir, CountDownLatch running, CountDownLatch stop) {
        ServeCommand.testHook = server -> {
            running.countDown();
            try {
                stop.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
        return executor.submit(() -> scemu("serve", dir, "--port", "0"));
    }

    @Test
    void theSocketIsOwnerOnlyAndTheServerRunsOnlyLiveCommandsOnItsOwnUnit() throws Exception {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        Path other = tmp.resolve("other");
        createSmallUnit(other);
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch stop = new CountDownLatch(1);
        Future<CliTestSupport.Result> serve = serveInThisJvm(dir, running, stop);
        assertThat(running.await(60, TimeUnit.SECONDS)).isTrue();
        try {
            Path socket = dir.toRealPath().resolve("control.sock");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket))).isEqualTo("rw-------");

            assertThat(raw(socket, List.of("firmware", "corrupt", dir.toString()))).contains("not a live command")
                    .endsWith("exit 2\n");
            assertThat(raw(socket, List.of("status", other.toString()))).contains("not a live command")
                    .endsWith("exit 2\n");
            assertThat(raw(socket, List.of("status", "unit"))).as("relative to the client's directory")
                    .contains("live: meters").endsWith("exit 0\n");
            assertThat(raw(socket, List.of("snapshot", "create", "unit", "7"))).contains("purely numeric")
                    .endsWith("exit 2\n"); // a usage error, relayed with its status
            try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                channel.connect(UnixDomainSocketAddress.of(socket));
                Channels.newOutputStream(channel).write("HELLO\n".getBytes(StandardCharsets.US_ASCII));
                assertThat(new String(Channels.newInputStream(channel).readAllBytes(), StandardCharsets.UTF_8))
                        .contains("bad control request").endsWith("exit 2\n");
            }
            // the CLI in this JVM goes live too, and a second serve meets the lock
            assertThat(scemu("snapshot", "create", dir, "live-1").ok().out()).contains("exported as snap-1");
            assertThat(scemu("status", other).ok().out()).doesNotContain("live:");
            scemu("serve", dir, "--port", "0").failsWithOneLine("UNIT_BUSY");
        } finally {
            stop.countDown();
        }
        serve.get(60, TimeUnit.SECONDS).ok();
        assertThat(Files.exists(dir.resolve("control.sock"))).isFalse();
        assertThat(scemu("snapshot", "list", dir).ok().out()).contains("live-1");
    }

    /**
     * A connection that stalls in the middle of its request is closed once the request timeout is
     * over: the live command behind it runs, and serve's stop does not wait for one still receiving.
     * Before, the one control thread waited for the stalled request forever: every later live
     * command hung and serve's stop waited its full minute.
     */
    @Test
    @Timeout(120)
    void aStalledRequestIsClosedAndNeitherLiveCommandsNorTheStopWaitForIt() throws Exception {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        ControlServer.requestTimeout = Duration.ofMillis(500);
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch stop = new CountDownLatch(1);
        Future<CliTestSupport.Result> serve = serveInThisJvm(dir, running, stop);
        assertThat(running.await(60, TimeUnit.SECONDS)).isTrue();
        Path socket = dir.toRealPath().resolve("control.sock");
        try (SocketChannel stalled = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            stalled.connect(UnixDomainSocketAddress.of(socket));
            Channels.newOutputStream(stalled).write("SCEMU-CONTROL 1\ncwd 1\n/".getBytes(StandardCharsets.US_ASCII));
            assertThat(raw(socket, List.of("status", "unit"))).contains("live: meters").endsWith("exit 0\n");
            assertThat(Channels.newInputStream(stalled).read()).as("closed by the server, nothing answered")
                    .isEqualTo(-1);
        }
        ControlServer.requestTimeout = Duration.ofSeconds(90);
        try (SocketChannel stalled = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            stalled.connect(UnixDomainSocketAddress.of(socket));
            Channels.newOutputStream(stalled).write("SCEMU-CONTROL 1\n".getBytes(StandardCharsets.US_ASCII));
            long start = System.nanoTime();
            stop.countDown();
            serve.get(60, TimeUnit.SECONDS).ok();
            assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start)).as("seconds the stop took")
                    .isLessThan(30);
        }
    }

    @Test
    void aRequestWithTooManyEnvironmentVariablesIsRejected() {
        StringBuilder request = new StringBuilder("SCEMU-CONTROL 1\n");
        for (int i = 0; i <= ControlProtocol.MAX_ENV; i++) {
            String field = "V" + i + "=x";
            request.append("env ").append(field.length()).append('\n').append(field);
        }
        assertThatThrownBy(() -> ControlProtocol.readRequest(stream(request.toString())))
                .hasMessageContaining("more than 16 environment variables");
    }

    /**
     * A serve that accepted the connection and then says nothing (stopped with {@code kill -STOP},
     * hung): the client gives up after the silence limit with a line saying so, status 1. Before, a
     * live command waited forever.
     */
    @Test
    @Timeout(60)
    void aLiveCommandGivesUpOnAServeThatSaysNothing() throws Exception {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        LiveControl.silenceLimit = Duration.ofMillis(400);
        Path socket = ControlSocket.path(dir.toRealPath());
        try (java.nio.channels.ServerSocketChannel silent = java.nio.channels.ServerSocketChannel.open(
                StandardProtocolFamily.UNIX)) {
            silent.bind(UnixDomainSocketAddress.of(socket)); // listens, never answers
            CliTestSupport.Result result = scemu("status", dir);
            assertThat(result.status()).as("stderr: %s", result.err()).isEqualTo(1);
            assertThat(result.err()).contains("sent nothing for").contains("stopped or hung");
        } finally {
            Files.deleteIfExists(socket);
        }
    }

    /**
     * A running live command's connection gets empty {@code err} frames (the client's sign that
     * serve is alive, which it prints nothing for), and none after the exit frame.
     */
    @Test
    void aRunningLiveCommandSendsKeepalivesAndTheClientRelaysItsOutputUnchanged() throws Exception {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        ControlServer.keepaliveInterval = Duration.ofMillis(1);
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch stop = new CountDownLatch(1);
        Future<CliTestSupport.Result> serve = serveInThisJvm(dir, running, stop);
        assertThat(running.await(60, TimeUnit.SECONDS)).isTrue();
        try {
            Path socket = dir.toRealPath().resolve("control.sock");
            String response = raw(socket, List.of("backup", "create", "unit", "-t", tmp.resolve("b").toString()));
            assertThat(response).contains("err 0\n").endsWith("exit 0\n");
            LiveControl.silenceLimit = Duration.ofMillis(200); // the keepalives (1 ms) keep a slower command alive
            CliTestSupport.Result relayed = scemu("backup", "create", dir, "-t", tmp.resolve("b2"));
            assertThat(relayed.status()).as("stderr: %s", relayed.err()).isZero();
            assertThat(relayed.out()).contains("stored in");
        } finally {
            stop.countDown();
        }
        serve.get(60, TimeUnit.SECONDS).ok();
    }

    /** One request straight on the socket, from the test's temporary directory; the whole response. */
    private String raw(Path socket, List<String> args) throws IOException {
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket));
            ControlProtocol.writeRequest(Channels.newOutputStream(channel), tmp.toString(), Map.of(), args);
            return new String(Channels.newInputStream(channel).readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
