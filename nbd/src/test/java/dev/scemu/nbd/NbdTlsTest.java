package dev.scemu.nbd;

import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_C_FIXED_NEWSTYLE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_C_NO_ZEROES;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_ABORT;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_GO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_INFO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_LIST;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_STARTTLS;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_STRUCTURED_REPLY;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REPLY_TYPE_OFFSET_DATA;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ACK;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ERR_INVALID;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ERR_POLICY;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ERR_TLS_REQD;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ERR_UNSUP;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** NBD_OPT_STARTTLS with X.509 (JSSE), the three TLS modes, client certificates, safe defaults. */
@Timeout(60)
class NbdTlsTest extends NbdTestSupport {

    private static final int FLAGS = NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES;

    @TempDir
    static Path certificateRoot;
    static TestCertificates certs;

    @TempDir
    Path tempDir;

    @BeforeAll
    static void makeCertificates() throws Exception {
        certs = TestCertificates.generate(certificateRoot);
    }

    private NbdServer tlsServer(NbdTlsMode mode, BlockDevice disk) {
        return start(loopback().export("disk", disk).tls(mode, certs.server));
    }

    private NbdTestClient greeted(NbdServer server) throws IOException {
        NbdTestClient client = track(NbdTestClient.tcp(server.port()));
        client.greet(FLAGS);
        return client;
    }

    @Test
    void requireAnswersEveryOptionButStartTlsAndAbortWithTlsRequired() throws Exception {
        NbdServer server = tlsServer(NbdTlsMode.REQUIRE, memory("disk"));
        NbdTestClient client = greeted(server);

        assertThat(client.list()).singleElement().extracting(NbdTestClient.OptionReply::type)
                .isEqualTo(NBD_REP_ERR_TLS_REQD);
        for (int option : new int[] {NBD_OPT_GO, NBD_OPT_INFO}) {
            assertThat(client.go(option, "disk")).singleElement().extracting(NbdTestClient.OptionReply::type)
                    .isEqualTo(NBD_REP_ERR_TLS_REQD);
        }
        assertThat(client.option(NBD_OPT_STRUCTURED_REPLY, new byte[0]).type()).isEqualTo(NBD_REP_ERR_TLS_REQD);
        assertThat(client.option(NBD_OPT_ABORT, new byte[0]).type()).isEqualTo(NBD_REP_ACK);

        NbdTestClient old = greeted(server);
        assertThat(old.exportName("disk", true)).isFalse(); // cannot carry an error: closed
        assertThat(server.stats().tlsSessions()).isZero();
    }

    @Test
    void afterStartTlsTheExportIsServedAndPlaintextNegotiationIsForgotten() throws Exception {
        BlockDevice disk = memory("disk");
        NbdServer server = tlsServer(NbdTlsMode.REQUIRE, disk);
        NbdTestClient client = greeted(server);

        assertThat(client.startTls(TestCertificates.clientContext(certs.anonymous)).type()).isEqualTo(NBD_REP_ACK);
        assertThat(client.option(NBD_OPT_STARTTLS, new byte[0]).type()).isEqualTo(NBD_REP_ERR_INVALID);
        assertThat(client.list()).last().extracting(NbdTestClient.OptionReply::type).isEqualTo(NBD_REP_ACK);
        assertThat(client.option(NBD_OPT_STRUCTURED_REPLY, new byte[0]).type()).isEqualTo(NBD_REP_ACK);
        assertThat(client.go(NBD_OPT_GO, "disk")).last().extracting(NbdTestClient.OptionReply::type)
                .isEqualTo(NBD_REP_ACK);
        client.structuredReplies = true;
        byte[] data = random(1, 3 * BLOCK_BYTES + 100);
        assertThat(client.write(512, data, 0)).isZero();
        NbdTestClient.Reply read = client.request(dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_READ, 0, 512,
                data.length, null);
        assertThat(read.data()).isEqualTo(data);
        assertThat(read.chunkTypes()).containsExactly(NBD_REPLY_TYPE_OFFSET_DATA);
        assertThat(deviceBytes(disk, 512, data.length)).isEqualTo(data);
        assertThat(server.stats().tlsSessions()).isEqualTo(1);

        // structured replies agreed in plaintext are not carried into TLS (CVE-2021-3716)
        NbdTestClient downgraded = greeted(start(loopback().export("disk", disk).tls(NbdTlsMode.ON, certs.server)));
        assertThat(downgraded.option(NBD_OPT_STRUCTURED_REPLY, new byte[0]).type()).isEqualTo(NBD_REP_ACK);
        downgraded.startTls(TestCertificates.clientContext(certs.anonymous));
        assertThat(downgraded.go(NBD_OPT_GO, "disk")).last().extracting(NbdTestClient.OptionReply::type)
                .isEqualTo(NBD_REP_ACK);
        NbdTestClient.Reply simple = downgraded.request(dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_READ, 0, 512,
                100, null);
        assertThat(simple.chunkTypes()).isEmpty(); // a simple reply
        assertThat(simple.data()).isEqualTo(java.util.Arrays.copyOf(data, 100));
        downgraded.disconnect();
        assertThat(downgraded.serverClosed()).isTrue();

        // so are metadata contexts: base:allocation selected in plaintext is gone after STARTTLS
        NbdTestClient forgotten = greeted(start(loopback().export("disk", disk).tls(NbdTlsMode.ON, certs.server)));
        assertThat(forgotten.option(NBD_OPT_STRUCTURED_REPLY, new byte[0]).type()).isEqualTo(NBD_REP_ACK);
        assertThat(forgotten.metaContext(dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_SET_META_CONTEXT,
                NbdTestClient.metaContextData("disk", "base:allocation"))).hasSize(2);
        forgotten.startTls(TestCertificates.clientContext(certs.anonymous));
        assertThat(forgotten.option(NBD_OPT_STRUCTURED_REPLY, new byte[0]).type()).isEqualTo(NBD_REP_ACK);
        forgotten.structuredReplies = true;
        assertThat(forgotten.go(NBD_OPT_GO, "disk")).last().extracting(NbdTestClient.OptionReply::type)
                .isEqualTo(NBD_REP_ACK);
        assertThat(forgotten.request(dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_BLOCK_STATUS, 0, 0, 4096, null)
                .error()).isEqualTo(dev.scemu.nbd.internal.NbdProtocol.NBD_EINVAL);
    }

    @Test
    void onOffersTlsButServesPlainClientsToo() throws Exception {
        NbdServer server = tlsServer(NbdTlsMode.ON, memory("disk"));
        assertThat(structuredClient(server, "disk").write(0, random(2, 512), 0)).isZero();
        NbdTestClient tls = greeted(server);
        tls.startTls(TestCertificates.clientContext(certs.client));
        tls.go(NBD_OPT_GO, "disk");
        assertThat(tls.read(0, 512)).isEqualTo(random(2, 512));

        NbdServer off = start(loopback().export("disk", memory("plain")));
        assertThat(greeted(off).option(NBD_OPT_STARTTLS, new byte[0]).type()).isEqualTo(NBD_REP_ERR_UNSUP);
        assertThat(off.tlsMode()).isEqualTo(NbdTlsMode.OFF);
    }

    @Test
    void startTlsWithDataIsInvalidAndPlaintextBehindItClosesTheConnection() throws Exception {
        NbdServer server = tlsServer(NbdTlsMode.REQUIRE, memory("disk"));
        NbdTestClient client = greeted(server);
        assertThat(client.option(NBD_OPT_STARTTLS, new byte[] {1}).type()).isEqualTo(NBD_REP_ERR_INVALID);

        // an option smuggled in the same packet as STARTTLS must never be read as if it came over TLS
        ByteBuffer both = ByteBuffer.allocate(32);
        both.putLong(dev.scemu.nbd.internal.NbdProtocol.IHAVEOPT).putInt(NBD_OPT_STARTTLS).putInt(0);
        both.putLong(dev.scemu.nbd.internal.NbdProtocol.IHAVEOPT).putInt(NBD_OPT_LIST).putInt(0);
        NbdTestClient smuggler = greeted(server);
        smuggler.writeRaw(both.array());
        assertThat(smuggler.readOptionReply().type()).isEqualTo(NBD_REP_ACK);
        assertThat(smuggler.serverClosedAfterDraining()).isTrue();
        awaitState(() -> server.stats().protocolViolations() == 1, "violation counted", 10_000);
    }

    @Test
    void verifyPeerAcceptsOnlyClientCertificatesOfTheCa() throws Exception {
        NbdServer server = start(loopback().export("disk", memory("disk")).tls(NbdTlsMode.REQUIRE, certs.server)
                .tlsVerifyPeer(true));

        NbdTestClient good = greeted(server);
        good.startTls(TestCertificates.clientContext(certs.client));
        assertThat(good.go(NBD_OPT_GO, "disk")).last().extracting(NbdTestClient.OptionReply::type)
                .isEqualTo(NBD_REP_ACK);
        assertThat(good.read(0, 512)).hasSize(512);

        for (Path refused : List.of(certs.rogue, certs.anonymous)) {
            NbdTestClient client = greeted(server);
            SSLContext context = TestCertificates.clientContext(refused);
            assertThatThrownBy(() -> {
                client.startTls(context);
                client.list(); // TLS 1.3: the server's refusal of the certificate arrives after the client's Finished
            }).as(refused.getFileName().toString()).isInstanceOf(IOException.class);
        }
        awaitState(() -> server.stats().tlsFailures() == 2, "two failed TLS handshakes", 10_000);
        assertThat(server.stats().tlsSessions()).isEqualTo(1);
    }

    @Test
    void unixSocketConnectionsRunWithoutTls() throws Exception {
        Path socket = tempDir.resolve("nbd.sock");
        NbdServer server = start(loopback().bindUnix(socket).export("disk", memory("disk"))
                .tls(NbdTlsMode.REQUIRE, certs.server));
        NbdTestClient client = track(NbdTestClient.unix(socket));
        client.greet(FLAGS);
        assertThat(client.option(NBD_OPT_STARTTLS, new byte[0]).type()).isEqualTo(NBD_REP_ERR_POLICY);
        assertThat(client.go(NBD_OPT_GO, "disk")).last().extracting(NbdTestClient.OptionReply::type)
                .isEqualTo(NBD_REP_ACK);
        assertThat(greeted(server).list()).singleElement().extracting(NbdTestClient.OptionReply::type)
                .isEqualTo(NBD_REP_ERR_TLS_REQD); // TCP still requires it
    }

    @Test
    void configurationErrorsNameTheProblem() throws Exception {
        BlockDevice disk = memory("disk");
        assertThatThrownBy(() -> loopback().export("disk", disk).tls(NbdTlsMode.REQUIRE, null).build())
                .hasMessageContaining("needs a certificates directory");
        Path incomplete = Files.createDirectories(tempDir.resolve("incomplete"));
        Files.copy(certs.server.resolve("server-cert.pem"), incomplete.resolve("server-cert.pem"));
        assertThatThrownBy(() -> loopback().export("disk", disk).tls(NbdTlsMode.ON, incomplete).build())
                .isInstanceOfSatisfying(NbdException.class,
                        e -> assertThat(e.code()).isEqualTo(NbdError.INVALID_CONFIGURATION))
                .hasMessageContaining("server-key.pem is missing");
        Files.copy(certs.server.resolve("server-key.pem"), incomplete.resolve("server-key.pem"));
        assertThatThrownBy(() -> loopback().export("disk", disk).tls(NbdTlsMode.ON, incomplete).tlsVerifyPeer(true)
                .build()).hasMessageContaining("ca-cert.pem is missing");
        Files.writeString(incomplete.resolve("server-key.pem"), "-----BEGIN EC PRIVATE KEY-----\nAAAA\n"
                + "-----END EC PRIVATE KEY-----\n");
        assertThatThrownBy(() -> loopback().export("disk", disk).tls(NbdTlsMode.ON, incomplete).build())
                .hasMessageContaining("openssl pkcs8 -topk8");
        assertThatThrownBy(() -> loopback().export("disk", disk).tlsVerifyPeer(true).build())
                .hasMessageContaining("TLS is OFF");
    }

    @Test
    void listeningBeyondLoopbackNeedsTlsRequiredOrInsecure() throws Exception {
        BlockDevice disk = memory("disk");
        InetAddress any = InetAddress.getByName("0.0.0.0");
        assertThatThrownBy(() -> NbdServer.builder().export("disk", disk).bindTcp(any, 0).build())
                .isInstanceOfSatisfying(NbdException.class,
                        e -> assertThat(e.code()).isEqualTo(NbdError.INVALID_CONFIGURATION))
                .hasMessageContaining("refusing to listen on 0.0.0.0 without TLS required");
        assertThatThrownBy(() -> NbdServer.builder().export("disk", disk).bindTcp(any, 0)
                .tls(NbdTlsMode.ON, certs.server).build())
                .hasMessageContaining("without TLS required");
        track(NbdServer.builder().export("disk", disk).bindTcp(any, 0).tls(NbdTlsMode.REQUIRE, certs.server).build());
        track(NbdServer.builder().export("disk", disk).bindTcp(any, 0).insecure(true).build());
    }
}
