package dev.scemu.nbd;

import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_READ;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_ESHUTDOWN;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_C_FIXED_NEWSTYLE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_C_NO_ZEROES;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_GO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ERR_POLICY;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Handshake deadline, separate handshake and transmission slots, eviction of idle connections. */
@Timeout(60)
class NbdConnectionLimitsTest extends NbdTestSupport {

    private static final int FLAGS = NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES;

    @Test
    void aStalledHandshakeIsClosedAfterTheTimeoutAndAFinishedOneIsNot() throws Exception {
        // 1.5 s: the `served` client's whole handshake must fit in it, also on a loaded 2-core CI machine
        NbdServer server = start(loopback().export("disk", memory("disk")).handshakeTimeout(Duration.ofMillis(1_500)));
        NbdTestClient silent = track(NbdTestClient.tcp(server.port())); // never even sends its flags
        NbdTestClient stalled = track(NbdTestClient.tcp(server.port()));
        stalled.greet(FLAGS);
        stalled.list(); // one option, then nothing
        NbdTestClient served = client(server, "disk");
        long start = System.nanoTime();

        assertThat(silent.serverClosedAfterDraining()).isTrue();
        assertThat(stalled.serverClosed()).isTrue();
        NbdTestClient late = track(NbdTestClient.tcp(server.port())); // opened after `served` finished
        assertThat(late.serverClosedAfterDraining()).isTrue();

        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isGreaterThanOrEqualTo(1_400);
        // `late` was accepted after `served` entered transmission, so served's deadline has passed too
        assertThat(served.write(0, random(1, BLOCK_BYTES), 0)).isZero();
        assertThat(served.read(0, BLOCK_BYTES)).isEqualTo(random(1, BLOCK_BYTES));
        awaitState(() -> server.stats().handshakeTimeouts() == 3, "three handshake timeouts counted", 10_000);
        // a closed connection counts as active ("closing") until its thread has left: after the client saw
        // the close, not necessarily before
        awaitState(() -> server.stats().connectionsActive() == 1, "the three timed-out connections gone", 10_000);
        NbdStats stats = server.stats();
        assertThat(stats.connectionsInHandshake()).isZero();
        assertThat(stats.connectionsActive()).isEqualTo(1);
        assertThat(stats.protocolViolations()).isZero();
    }

    @Test
    void sixtyFourIdleSocketsNeverLockOutAClient() throws Exception {
        BlockDevice disk = memory("disk");
        NbdServer server = start(loopback().export("disk", disk));
        List<Socket> idle = openIdleSockets(server, NbdServer.DEFAULT_MAX_HANDSHAKES);
        awaitState(() -> server.stats().connectionsInHandshake() == NbdServer.DEFAULT_MAX_HANDSHAKES,
                "64 idle sockets in the handshake", 10_000);

        NbdTestClient client = client(server, "disk");
        assertThat(client.write(BLOCK_BYTES, random(2, BLOCK_BYTES), 0)).isZero();
        assertThat(deviceBytes(disk, BLOCK_BYTES, BLOCK_BYTES)).isEqualTo(random(2, BLOCK_BYTES));

        NbdStats stats = server.stats();
        assertThat(stats.connectionsEvicted()).isEqualTo(1); // the oldest idle socket made room
        assertThat(stats.connectionsInHandshake()).isEqualTo(NbdServer.DEFAULT_MAX_HANDSHAKES - 1);
        assertThat(idle.get(0).getInputStream().readNBytes(19)).hasSize(18); // greeting, then closed
        idle.forEach(NbdConnectionLimitsTest::closeQuietly);
    }

    @Test
    void aFloodOfIdleSocketsKeepsAtMostTheHandshakeSlotsOpen() throws Exception {
        NbdServer server = start(loopback().export("disk", memory("disk")).maxHandshakes(16));
        List<Socket> idle = openIdleSockets(server, 100);
        awaitState(() -> server.stats().connectionsAccepted() == 100, "100 sockets accepted", 10_000);
        awaitState(() -> server.stats().connectionsEvicted() == 84 && server.stats().connectionsActive() == 16,
                "84 evicted, 16 left", 10_000);
        assertThat(server.stats().connectionsInHandshake()).isEqualTo(16);

        assertThat(client(server, "disk").read(0, 512)).isEqualTo(new byte[512]);
        idle.forEach(NbdConnectionLimitsTest::closeQuietly);
    }

    @Test
    void aFullTransmissionTableEvictsTheLongestIdleConnectionAndRefusesWhenAllAreBusy() throws Exception {
        BlockDevice inner = memory("disk");
        GatedDevice disk = track(new GatedDevice(inner, 7));
        NbdServer server = start(loopback().export("disk", disk).maxConnections(2));
        NbdTestClient oldest = structuredClient(server, "disk");
        NbdTestClient recent = structuredClient(server, "disk");
        assertThat(recent.read(0, 512)).hasSize(512); // recent activity

        NbdTestClient newcomer = structuredClient(server, "disk");

        NbdTestClient.Reply evicted = oldest.request(NBD_CMD_READ, 0, 0, 512, null);
        assertThat(evicted.error()).isEqualTo(NBD_ESHUTDOWN);
        assertThat(evicted.message()).contains("idle connection evicted");
        oldest.disconnect();
        assertThat(oldest.serverClosed()).isTrue();
        assertThat(recent.read(0, 512)).hasSize(512);
        assertThat(newcomer.read(0, 512)).hasSize(512);
        assertThat(server.stats().connectionsEvicted()).isEqualTo(1);

        // both connections in transmission have a request in flight: a third one is refused
        recent.send(NBD_CMD_READ, 0, 100, 7L * BLOCK_BYTES, 512, null);
        recent.flushOutput();
        newcomer.send(NBD_CMD_READ, 0, 200, 7L * BLOCK_BYTES, 512, null);
        newcomer.flushOutput();
        awaitState(() -> disk.gatedReads.get() == 2, "both reads waiting at the gate", 10_000);
        NbdTestClient refused = track(NbdTestClient.tcp(server.port()));
        refused.greet(FLAGS);
        List<NbdTestClient.OptionReply> replies = refused.go(NBD_OPT_GO, "disk");
        assertThat(replies).singleElement().satisfies(reply -> {
            assertThat(reply.type()).isEqualTo(NBD_REP_ERR_POLICY);
            assertThat(new String(reply.data(), StandardCharsets.UTF_8)).contains("requests in flight");
        });
        assertThat(server.stats().connectionsRefused()).isEqualTo(1);

        disk.gate.countDown();
        assertThat(recent.receive().error()).isZero();
        assertThat(newcomer.receive().error()).isZero();
        // now idle again: the refused client may retry on the same connection
        assertThat(refused.go(NBD_OPT_GO, "disk")).last()
                .extracting(NbdTestClient.OptionReply::type).isEqualTo(dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ACK);
    }

    private static List<Socket> openIdleSockets(NbdServer server, int count) throws IOException {
        List<Socket> sockets = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.port());
            socket.setSoTimeout(NbdTestClient.TIMEOUT_MILLIS);
            sockets.add(socket);
        }
        return sockets;
    }

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException e) {
            // already closed by the server
        }
    }
}
