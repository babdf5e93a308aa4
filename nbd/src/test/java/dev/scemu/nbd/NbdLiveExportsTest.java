package dev.scemu.nbd;

import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_READ;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_WRITE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_ESHUTDOWN;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_C_FIXED_NEWSTYLE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_C_NO_ZEROES;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_GO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_INFO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ACK;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ERR_UNKNOWN;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_SERVER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Exports added and removed while the server runs (in-JVM protocol tests). */
@Timeout(60)
class NbdLiveExportsTest extends NbdTestSupport {

    private static final int FLAGS = NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES;
    private final ExecutorService executor = Executors.newCachedThreadPool();

    @AfterEach
    void stopExecutor() throws InterruptedException {
        executor.shutdownNow();
        assertThat(executor.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void anAddedExportIsListedAndServedAtOnce() throws Exception {
        NbdServer server = start(loopback().export("volume", memory("volume")));
        BlockDevice snap = memory("snap");
        writeDevice(snap, 3, random(1, BLOCK_BYTES));

        server.addExport("snap-1", snap, "snapshot 1", true);

        assertThat(listed(server)).containsExactly("volume", "snap-1");
        assertThat(server.exports()).extracting(NbdExport::name).containsExactly("volume", "snap-1");
        NbdTestClient client = structuredClient(server, "snap-1");
        assertThat(client.read(3L * BLOCK_BYTES, BLOCK_BYTES)).isEqualTo(random(1, BLOCK_BYTES));
        assertThat(client.write(0, new byte[BLOCK_BYTES], 0)).isEqualTo(dev.scemu.nbd.internal.NbdProtocol.NBD_EPERM);
        assertThat(server.hasOpenConnections("snap-1")).isTrue();
        assertThat(server.openConnections("volume")).isZero();
    }

    @Test
    void addingATakenNameIsRefusedAndChangesNothing() throws Exception {
        BlockDevice volume = memory("volume");
        NbdServer server = start(loopback().export("volume", volume));

        assertThatThrownBy(() -> server.addExport("volume", memory("other"), "", false))
                .isInstanceOfSatisfying(NbdException.class,
                        e -> assertThat(e.code()).isEqualTo(NbdError.INVALID_CONFIGURATION))
                .hasMessageContaining("'volume' already exists");

        assertThat(server.exports()).singleElement().extracting(NbdExport::device).isSameAs(volume);
    }

    @Test
    void aRemovedExportIsUnknownToNewClients() throws Exception {
        NbdServer server = start(loopback().export("volume", memory("volume")).export("snap-1", memory("snap")));

        assertThat(server.removeExport("snap-1")).isTrue();

        assertThat(server.removeExport("snap-1")).isFalse();
        assertThat(listed(server)).containsExactly("volume");
        for (int option : new int[] {NBD_OPT_GO, NBD_OPT_INFO}) {
            NbdTestClient client = track(NbdTestClient.tcp(server.port()));
            client.greet(FLAGS);
            List<NbdTestClient.OptionReply> replies = client.go(option, "snap-1");
            assertThat(replies).singleElement().satisfies(reply -> {
                assertThat(reply.type()).isEqualTo(NBD_REP_ERR_UNKNOWN);
                assertThat(new String(reply.data(), StandardCharsets.UTF_8)).contains("snap-1");
            });
        }
        NbdTestClient old = track(NbdTestClient.tcp(server.port()));
        old.greet(FLAGS);
        assertThat(old.exportName("snap-1", true)).isFalse();
        // a name removed can be added again, with a new device
        server.addExport("snap-1", memory("snap-again"), "", false);
        assertThat(structuredClient(server, "snap-1").read(0, 512)).isEqualTo(new byte[512]);
    }

    @Test
    void anOpenConnectionGetsEshutdownNeverTheClosedDeviceAndClosesOnDisconnect() throws Exception {
        BlockDevice snap = memory("snap");
        byte[] before = random(2, 4 * BLOCK_BYTES);
        writeDevice(snap, 0, before);
        NbdServer server = start(loopback().export("volume", memory("volume")).export("snap-1", snap));
        NbdTestClient client = structuredClient(server, "snap-1");
        NbdTestClient plain = client(server, "snap-1");
        assertThat(client.read(0, BLOCK_BYTES)).isEqualTo(java.util.Arrays.copyOf(before, BLOCK_BYTES));
        assertThat(server.openConnections("snap-1")).isEqualTo(2);

        assertThat(server.removeExport("snap-1")).isTrue();
        snap.close(); // the caller may close the device as soon as removeExport returned

        NbdTestClient.Reply read = client.request(NBD_CMD_READ, 0, 0, BLOCK_BYTES, null);
        assertThat(read.error()).isEqualTo(NBD_ESHUTDOWN);
        assertThat(read.message()).contains("'snap-1' has been removed");
        assertThat(read.data()).isEmpty();
        assertThat(client.write(BLOCK_BYTES, new byte[BLOCK_BYTES], 0)).isEqualTo(NBD_ESHUTDOWN);
        assertThat(plain.request(NBD_CMD_READ, 0, 0, BLOCK_BYTES, null).error()).isEqualTo(NBD_ESHUTDOWN);
        // the spec: a client receiving ESHUTDOWN sends NBD_CMD_DISC, then the server closes
        client.disconnect();
        assertThat(client.serverClosed()).isTrue();
        plain.disconnect();
        assertThat(plain.serverClosed()).isTrue();
        awaitState(() -> !server.hasOpenConnections("snap-1") && server.stats().connectionsActive() == 0,
                "connections of the removed export closed", 10_000);
        assertThat(server.stats().protocolViolations()).isZero();
        // the other export is untouched
        assertThat(structuredClient(server, "volume").write(0, random(3, BLOCK_BYTES), 0)).isZero();
    }

    @Test
    void anIdleConnectionOfARemovedExportIsClosedByTheServer() throws Exception {
        NbdServer server = start(loopback().export("volume", memory("volume")).export("snap-1", memory("snap")));
        NbdTestClient idle = client(server, "snap-1");

        assertThat(server.removeExport("snap-1")).isTrue();

        assertThat(idle.serverClosed()).isTrue(); // blocks until the grace period is over and the server closes
        awaitState(() -> server.stats().connectionsActive() == 0, "idle connection closed", 10_000);
        assertThat(server.stats().protocolViolations()).isZero();
    }

    @Test
    void removalWaitsForTheRequestRunningAndAnswersTheQueuedOnesEshutdown() throws Exception {
        BlockDevice inner = memory("snap");
        byte[] content = random(4, 8 * BLOCK_BYTES);
        writeDevice(inner, 0, content);
        GatedDevice snap = track(new GatedDevice(inner, 2));
        // one thread: the second request cannot start before the first (gated) one finishes
        NbdServer server = start(loopback().export("volume", memory("volume")).export("snap-1", snap)
                .threadsPerConnection(1));
        NbdTestClient client = structuredClient(server, "snap-1");
        client.send(NBD_CMD_READ, 0, 1, 2L * BLOCK_BYTES, BLOCK_BYTES, null);
        client.send(NBD_CMD_READ, 0, 2, 4L * BLOCK_BYTES, BLOCK_BYTES, null);
        client.flushOutput();
        assertThat(snap.gatedReadStarted.await(10, TimeUnit.SECONDS)).isTrue();

        Future<Boolean> removal = executor.submit(() -> server.removeExport("snap-1"));
        awaitState(() -> server.exports().size() == 1, "export unlisted (and marked removed)", 10_000);
        assertThatThrownBy(() -> removal.get(200, TimeUnit.MILLISECONDS)).isInstanceOf(TimeoutException.class);

        snap.gate.countDown();
        assertThat(removal.get(10, TimeUnit.SECONDS)).isTrue();
        NbdTestClient.Reply first = client.receive();
        NbdTestClient.Reply second = client.receive();
        assertThat(first.handle()).isEqualTo(1);
        assertThat(first.error()).isZero();
        assertThat(first.data()).isEqualTo(java.util.Arrays.copyOfRange(content, 2 * BLOCK_BYTES, 3 * BLOCK_BYTES));
        assertThat(second.handle()).isEqualTo(2);
        assertThat(second.error()).isEqualTo(NBD_ESHUTDOWN);
    }

    @Test
    void removeIfUnusedRefusesWhileAClientHasTheExportOpen() throws Exception {
        NbdServer server = start(loopback().export("volume", memory("volume")));
        NbdTestClient client = client(server, "volume");

        assertThat(server.removeExportIfUnused("volume")).isFalse();
        assertThat(client.write(0, random(5, BLOCK_BYTES), 0)).isZero(); // still served

        client.disconnect();
        awaitState(() -> !server.hasOpenConnections("volume"), "client gone", 10_000);
        assertThat(server.removeExportIfUnused("volume")).isTrue();
        assertThat(server.exports()).isEmpty();
        assertThat(server.removeExportIfUnused("volume")).isFalse();
    }

    /**
     * Four clients pipeline writes and reads while the export is removed and its device closed: every
     * reply is a success or ESHUTDOWN, never an error of the closed device, and every client is told.
     */
    @Test
    void removalUnderLoadNeverLetsARequestReachTheClosedDevice() throws Exception {
        BlockDevice volume = memory("volume");
        NbdServer server = start(loopback().export("volume", volume));
        AtomicLong succeeded = new AtomicLong();
        List<Future<Integer>> clients = new ArrayList<>();
        for (int c = 0; c < 4; c++) {
            NbdTestClient client = structuredClient(server, "volume");
            long seed = c;
            clients.add(executor.submit(() -> hammer(client, seed, succeeded)));
        }
        awaitState(() -> succeeded.get() > 400, "clients under way", 20_000);

        assertThat(server.removeExport("volume")).isTrue();
        volume.close();

        for (Future<Integer> client : clients) {
            assertThat(client.get(20, TimeUnit.SECONDS)).as("ESHUTDOWN replies").isPositive();
        }
        awaitState(() -> server.stats().connectionsActive() == 0, "all connections closed", 10_000);
    }

    /** Sends batches of 8 requests until one is answered ESHUTDOWN; fails on any other error. */
    private static int hammer(NbdTestClient client, long seed, AtomicLong succeeded) throws IOException {
        Random random = new Random(seed);
        int shutdowns = 0;
        while (shutdowns == 0) {
            for (int i = 0; i < 8; i++) {
                long offset = (long) random.nextInt((int) BLOCKS) * BLOCK_BYTES + random.nextInt(2) * 512L;
                if (random.nextBoolean()) {
                    byte[] data = new byte[512 + random.nextInt(2) * 3584];
                    random.nextBytes(data);
                    offset = Math.min(offset, BLOCKS * BLOCK_BYTES - data.length);
                    client.send(NBD_CMD_WRITE, 0, client.nextHandle(), offset, data.length, data);
                } else {
                    client.send(NBD_CMD_READ, 0, client.nextHandle(), Math.min(offset, BLOCKS * BLOCK_BYTES - 4096),
                            4096, null);
                }
            }
            client.flushOutput();
            for (int i = 0; i < 8; i++) {
                NbdTestClient.Reply reply = client.receive();
                if (reply.error() == NBD_ESHUTDOWN) {
                    shutdowns++;
                } else if (reply.error() != 0) {
                    throw new AssertionError("reply error " + reply.error() + ": " + reply.message());
                } else {
                    succeeded.incrementAndGet();
                }
            }
        }
        client.disconnect();
        return shutdowns;
    }

    private static List<String> listed(NbdServer server) throws IOException {
        try (NbdTestClient client = NbdTestClient.tcp(server.port())) {
            client.greet(FLAGS);
            List<String> names = new ArrayList<>();
            List<NbdTestClient.OptionReply> replies = client.list();
            for (NbdTestClient.OptionReply reply : replies) {
                if (reply.type() == NBD_REP_SERVER) {
                    ByteBuffer data = ByteBuffer.wrap(reply.data());
                    byte[] name = new byte[data.getInt()];
                    data.get(name);
                    names.add(new String(name, StandardCharsets.UTF_8));
                }
            }
            assertThat(replies.get(replies.size() - 1).type()).isEqualTo(NBD_REP_ACK);
            return names;
        }
    }
}
