package dev.scemu.nbd;

import static dev.scemu.nbd.internal.NbdProtocol.IHAVEOPT;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_WRITE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_C_FIXED_NEWSTYLE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_C_NO_ZEROES;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_GO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REQUEST_MAGIC;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A broken client loses its own connection only: the server, other clients and the export carry on. */
@Timeout(60)
class NbdRobustnessTest extends NbdTestSupport {

    private static final int FLAGS = NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES;

    private BlockDevice disk;
    private byte[] content;
    private NbdServer server;
    private NbdTestClient bystander;

    @BeforeEach
    void serverWithContent() throws Exception {
        disk = memory("disk");
        content = random(99, (int) (BLOCKS * BLOCK_BYTES));
        writeDevice(disk, 0, content);
        server = start(loopback().export("disk", disk));
        bystander = client(server, "disk");
    }

    private void assertServerAndExportIntact() throws Exception {
        assertThat(bystander.read(0, 8192)).isEqualTo(java.util.Arrays.copyOf(content, 8192));
        NbdTestClient fresh = client(server, "disk");
        assertThat(fresh.read(BLOCK_BYTES, 100)).isEqualTo(java.util.Arrays.copyOfRange(content, BLOCK_BYTES,
                BLOCK_BYTES + 100));
        assertThat(deviceBytes(disk, 0, content.length)).isEqualTo(content);
    }

    private NbdTestClient greeted() throws Exception {
        NbdTestClient client = track(NbdTestClient.tcp(server.port()));
        client.greet(FLAGS);
        return client;
    }

    @Test
    void unknownClientFlagsCloseTheConnection() throws Exception {
        NbdTestClient client = track(NbdTestClient.tcp(server.port()));
        client.greet(0xffff_fff0);

        assertThat(client.serverClosed()).isTrue();
        assertThat(server.stats().protocolViolations()).isEqualTo(1);
        assertServerAndExportIntact();
    }

    @Test
    void garbageInsteadOfAnOptionClosesTheConnection() throws Exception {
        NbdTestClient client = greeted();
        client.writeRaw(random(1, 64));

        assertThat(client.serverClosed()).isTrue();
        assertServerAndExportIntact();
    }

    @Test
    void truncatedOptionClosesTheConnection() throws Exception {
        NbdTestClient client = greeted();
        client.writeRaw(ByteBuffer.allocate(10).putLong(IHAVEOPT).putShort((short) 0).array());
        client.shutdownOutput();

        assertThat(client.serverClosed()).isTrue();
        assertThat(server.stats().protocolViolations()).isEqualTo(1);
        assertServerAndExportIntact();
    }

    @Test
    void hugeOptionLengthIsTreatedAsDenialOfService() throws Exception {
        NbdTestClient client = greeted();
        client.writeRaw(ByteBuffer.allocate(16).putLong(IHAVEOPT).putInt(NBD_OPT_GO).putInt(1 << 30).array());

        assertThat(client.serverClosed()).isTrue();
        assertServerAndExportIntact();
    }

    @Test
    void garbageRequestClosesTheConnectionWithoutTouchingTheExport() throws Exception {
        NbdTestClient client = client(server, "disk");
        client.writeRaw(random(2, 28));

        assertThat(client.serverClosed()).isTrue();
        assertThat(server.stats().protocolViolations()).isEqualTo(1);
        assertServerAndExportIntact();
    }

    @Test
    void truncatedWritePayloadClosesTheConnectionAndWritesNothing() throws Exception {
        NbdTestClient client = client(server, "disk");
        ByteBuffer header = ByteBuffer.allocate(28 + 100);
        header.putInt(NBD_REQUEST_MAGIC).putShort((short) 0).putShort((short) NBD_CMD_WRITE).putLong(1)
                .putLong(0).putInt(8192).put(new byte[100]);
        client.writeRaw(header.array());
        client.shutdownOutput();

        assertThat(client.serverClosed()).isTrue();
        assertServerAndExportIntact();
    }

    @Test
    void truncatedRequestHeaderClosesTheConnection() throws Exception {
        NbdTestClient client = client(server, "disk");
        client.writeRaw(ByteBuffer.allocate(12).putInt(NBD_REQUEST_MAGIC).putLong(0).array());
        client.shutdownOutput();

        assertThat(client.serverClosed()).isTrue();
        assertServerAndExportIntact();
    }

    @Test
    void randomByteStreamsNeverHurtTheServer() throws Exception {
        Random random = new Random(2026);
        for (int i = 0; i < 40; i++) {
            byte[] garbage = new byte[1 + random.nextInt(300)];
            random.nextBytes(garbage);
            NbdTestClient client = track(NbdTestClient.tcp(server.port()));
            if (i % 2 == 0) {
                client.greet(FLAGS); // garbage during option haggling
            } else {
                client.close();
                client = client(server, "disk"); // garbage during transmission
            }
            client.writeRaw(garbage);
            client.shutdownOutput();
            assertThat(client.serverClosed()).as("iteration %d", i).isTrue();
            client.close();
        }
        assertServerAndExportIntact();
    }

    @Test
    void clientVanishingWithRequestsInFlightLeavesOthersServed() throws Exception {
        NbdTestClient client = client(server, "disk");
        for (int i = 0; i < 16; i++) {
            client.send(dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_READ, 0, i, (long) i * BLOCK_BYTES, BLOCK_BYTES,
                    null);
        }
        client.flushOutput();
        client.close();

        assertServerAndExportIntact();
    }

    @Test
    void clientThatNeverReadsItsRepliesDoesNotStarveOtherConnections() throws Exception {
        NbdServer small = start(loopback().export("disk", disk).maxInFlightPerConnection(8).maxRequestThreads(2));
        NbdTestClient stubborn = client(small, "disk");
        for (int i = 0; i < 64; i++) { // 64 MiB of replies it will never read: its socket buffers fill up
            stubborn.send(dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_READ, 0, i, 0, 1 << 20, null);
        }
        stubborn.flushOutput();

        NbdTestClient other = client(small, "disk");
        for (int i = 0; i < 50; i++) {
            assertThat(other.read((long) i * 512, 512)).isEqualTo(java.util.Arrays.copyOfRange(content, i * 512,
                    i * 512 + 512));
        }
        assertThat(other.write(0, java.util.Arrays.copyOf(content, BLOCK_BYTES), 0)).isZero();
        stubborn.close();
    }
}
