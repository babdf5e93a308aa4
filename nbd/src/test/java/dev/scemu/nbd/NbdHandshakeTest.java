package dev.scemu.nbd;

import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_C_FIXED_NEWSTYLE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_C_NO_ZEROES;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_FIXED_NEWSTYLE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_NO_ZEROES;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_READ_ONLY;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_INFO_BLOCK_SIZE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_INFO_DESCRIPTION;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_INFO_EXPORT;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_INFO_NAME;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_ABORT;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_GO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_INFO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_LIST;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_SET_META_CONTEXT;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_STARTTLS;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_STRUCTURED_REPLY;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ACK;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ERR_INVALID;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ERR_UNKNOWN;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ERR_UNSUP;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_INFO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_SERVER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class NbdHandshakeTest extends NbdTestSupport {

    private static final int FLAGS = NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES;

    @TempDir
    Path tempDir;

    private NbdServer twoExports() {
        return start(loopback()
                .export("volume", memory("volume"), "the volume", false)
                .export("snap", memory("snap"), "", true));
    }

    @Test
    void greetingOffersFixedNewstyleAndNoZeroes() throws Exception {
        NbdServer server = twoExports();
        NbdTestClient client = track(NbdTestClient.tcp(server.port()));
        client.greet(FLAGS);
        assertThat(client.handshakeFlags).isEqualTo(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    }

    @Test
    void listNamesEveryExportWithItsDescription() throws Exception {
        NbdServer server = twoExports();
        NbdTestClient client = track(NbdTestClient.tcp(server.port()));
        client.greet(FLAGS);

        List<NbdTestClient.OptionReply> replies = client.list();

        assertThat(replies).extracting(NbdTestClient.OptionReply::type)
                .containsExactly(NBD_REP_SERVER, NBD_REP_SERVER, NBD_REP_ACK);
        assertThat(serverEntry(replies.get(0))).isEqualTo(List.of("volume", "the volume"));
        assertThat(serverEntry(replies.get(1))).isEqualTo(List.of("snap", ""));
        assertThat(client.option(NBD_OPT_LIST, new byte[] {1}).type()).isEqualTo(NBD_REP_ERR_INVALID);
    }

    @Test
    void infoDescribesAnExportWithoutEnteringTransmission() throws Exception {
        NbdServer server = twoExports();
        NbdTestClient client = track(NbdTestClient.tcp(server.port()));
        client.greet(FLAGS);

        List<NbdTestClient.OptionReply> replies = client.go(NBD_OPT_INFO, "volume",
                NBD_INFO_NAME, NBD_INFO_DESCRIPTION, NBD_INFO_BLOCK_SIZE);

        assertThat(replies.get(replies.size() - 1).type()).isEqualTo(NBD_REP_ACK);
        assertThat(info(replies, NBD_INFO_EXPORT).getLong()).isEqualTo(BLOCKS * BLOCK_BYTES);
        assertThat(text(info(replies, NBD_INFO_NAME))).isEqualTo("volume");
        assertThat(text(info(replies, NBD_INFO_DESCRIPTION))).isEqualTo("the volume");
        ByteBuffer sizes = info(replies, NBD_INFO_BLOCK_SIZE);
        assertThat(sizes.getInt()).isEqualTo(1);
        assertThat(sizes.getInt()).isEqualTo(BLOCK_BYTES);
        assertThat(sizes.getInt()).isEqualTo(NbdServer.DEFAULT_MAX_REQUEST_BYTES);

        // still in option haggling: GO on the read-only export works next
        List<NbdTestClient.OptionReply> go = client.go(NBD_OPT_GO, "snap");
        assertThat(go.get(go.size() - 1).type()).isEqualTo(NBD_REP_ACK);
        assertThat(client.transmissionFlags & NBD_FLAG_READ_ONLY).isNotZero();
        assertThat(client.read(0, 512)).isEqualTo(new byte[512]);
    }

    @Test
    void unknownExportGetsErrUnknownAndHagglingGoesOn() throws Exception {
        NbdServer server = twoExports();
        NbdTestClient client = track(NbdTestClient.tcp(server.port()));
        client.greet(FLAGS);

        List<NbdTestClient.OptionReply> replies = client.go(NBD_OPT_GO, "nope");
        assertThat(replies).extracting(NbdTestClient.OptionReply::type).containsExactly(NBD_REP_ERR_UNKNOWN);
        assertThat(new String(replies.get(0).data(), StandardCharsets.UTF_8)).contains("nope");

        List<NbdTestClient.OptionReply> retry = client.go(NBD_OPT_GO, "volume");
        assertThat(retry.get(retry.size() - 1).type()).isEqualTo(NBD_REP_ACK);
        assertThat(client.write(0, random(1, 512), 0)).isZero();
    }

    @Test
    void emptyNameSelectsTheFirstExport() throws Exception {
        NbdServer server = twoExports();
        NbdTestClient client = track(NbdTestClient.tcp(server.port()));
        client.greet(FLAGS);

        List<NbdTestClient.OptionReply> replies = client.go(NBD_OPT_GO, "");

        assertThat(replies.get(replies.size() - 1).type()).isEqualTo(NBD_REP_ACK);
        assertThat(text(info(replies, NBD_INFO_NAME))).isEqualTo("volume");
    }

    @Test
    void malformedInfoRequestsGetErrInvalid() throws Exception {
        NbdServer server = twoExports();
        NbdTestClient client = track(NbdTestClient.tcp(server.port()));
        client.greet(FLAGS);

        assertThat(client.option(NBD_OPT_GO, new byte[] {0, 0, 0}).type()).isEqualTo(NBD_REP_ERR_INVALID);
        byte[] nameTooLong = ByteBuffer.allocate(10).putInt(100).put("ab".getBytes()).putShort((short) 0).array();
        assertThat(client.option(NBD_OPT_INFO, nameTooLong).type()).isEqualTo(NBD_REP_ERR_INVALID);
        byte[] countMismatch = ByteBuffer.allocate(8).putInt(0).putShort((short) 3).putShort((short) 0).array();
        assertThat(client.option(NBD_OPT_GO, countMismatch).type()).isEqualTo(NBD_REP_ERR_INVALID);

        List<NbdTestClient.OptionReply> go = client.go(NBD_OPT_GO, "volume");
        assertThat(go.get(go.size() - 1).type()).isEqualTo(NBD_REP_ACK);
    }

    @Test
    void unsupportedOptionsGetErrUnsupAndMalformedOnesErrInvalid() throws Exception {
        NbdServer server = twoExports();
        NbdTestClient client = track(NbdTestClient.tcp(server.port()));
        client.greet(FLAGS);

        assertThat(client.option(NBD_OPT_STARTTLS, new byte[0]).type()).isEqualTo(NBD_REP_ERR_UNSUP);
        // known, but only after structured replies (NbdBlockStatusTest covers the rest)
        assertThat(client.option(NBD_OPT_SET_META_CONTEXT, new byte[12]).type()).isEqualTo(NBD_REP_ERR_INVALID);
        assertThat(client.option(4242, new byte[100]).type()).isEqualTo(NBD_REP_ERR_UNSUP);
        assertThat(client.option(NBD_OPT_STRUCTURED_REPLY, new byte[1]).type()).isEqualTo(NBD_REP_ERR_INVALID);
        assertThat(client.option(NBD_OPT_STRUCTURED_REPLY, new byte[0]).type()).isEqualTo(NBD_REP_ACK);
        assertThat(client.option(NBD_OPT_STRUCTURED_REPLY, new byte[0]).type()).isEqualTo(NBD_REP_ERR_INVALID);
    }

    @Test
    void abortIsAcknowledgedThenTheConnectionCloses() throws Exception {
        NbdServer server = twoExports();
        NbdTestClient client = track(NbdTestClient.tcp(server.port()));
        client.greet(FLAGS);

        assertThat(client.option(NBD_OPT_ABORT, new byte[0]).type()).isEqualTo(NBD_REP_ACK);
        assertThat(client.serverClosed()).isTrue();
        assertThat(server.stats().protocolViolations()).isZero();
    }

    @Test
    void exportNameEntersTransmissionWithOrWithoutTheReservedZeroes() throws Exception {
        NbdServer server = twoExports();
        NbdTestClient modern = track(NbdTestClient.tcp(server.port()));
        modern.greet(FLAGS);
        assertThat(modern.exportName("volume", true)).isTrue();
        assertThat(modern.exportSizeBytes).isEqualTo(BLOCKS * BLOCK_BYTES);
        assertThat(modern.write(0, random(2, 4096), 0)).isZero();

        NbdTestClient old = track(NbdTestClient.tcp(server.port()));
        old.greet(0);
        assertThat(old.exportName("volume", false)).isTrue();
        assertThat(old.read(0, 4096)).isEqualTo(random(2, 4096));
    }

    @Test
    void exportNameOfAnUnknownExportClosesTheConnection() throws Exception {
        NbdServer server = twoExports();
        NbdTestClient client = track(NbdTestClient.tcp(server.port()));
        client.greet(FLAGS);
        assertThat(client.exportName("missing", true)).isFalse();
    }

    @Test
    void unixSocketServesTheSameExports() throws Exception {
        Path socket = tempDir.resolve("nbd.sock");
        BlockDevice disk = memory("disk");
        NbdServer server = start(NbdServer.builder().export("disk", disk).bindUnix(socket));
        NbdTestClient client = track(NbdTestClient.unix(socket));
        client.greet(FLAGS);
        List<NbdTestClient.OptionReply> go = client.go(NBD_OPT_GO, "disk");
        assertThat(go.get(go.size() - 1).type()).isEqualTo(NBD_REP_ACK);
        byte[] data = random(3, 3 * 512);

        assertThat(client.write(777, data, 0)).isZero();

        assertThat(client.read(777, data.length)).isEqualTo(data);
        assertThat(deviceBytes(disk, 777, data.length)).isEqualTo(data);
        assertThat(server.unixSocketPath()).contains(socket);
        server.close();
        assertThat(socket).doesNotExist();
    }

    private static List<String> serverEntry(NbdTestClient.OptionReply reply) {
        ByteBuffer data = ByteBuffer.wrap(reply.data());
        int nameLength = data.getInt();
        String name = new String(reply.data(), 4, nameLength, StandardCharsets.UTF_8);
        String rest = new String(reply.data(), 4 + nameLength, reply.data().length - 4 - nameLength,
                StandardCharsets.UTF_8);
        return List.of(name, rest);
    }

    private static ByteBuffer info(List<NbdTestClient.OptionReply> replies, int type) {
        for (NbdTestClient.OptionReply reply : replies) {
            if (reply.type() == NBD_REP_INFO) {
                ByteBuffer data = ByteBuffer.wrap(reply.data());
                if ((data.getShort() & 0xffff) == type) {
                    return data;
                }
            }
        }
        throw new AssertionError("no NBD_REP_INFO of type " + type + " in " + replies);
    }

    private static String text(ByteBuffer buffer) {
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
