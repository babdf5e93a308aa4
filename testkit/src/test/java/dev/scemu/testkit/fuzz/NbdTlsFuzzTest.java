package dev.scemu.testkit.fuzz;

import dev.scemu.core.FuzzSupport;
import static dev.scemu.nbd.internal.NbdProtocol.IHAVEOPT;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_BLOCK_STATUS;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_DISC;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_FLAG_REQ_ONE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_READ;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_WRITE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_C_FIXED_NEWSTYLE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_C_NO_ZEROES;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_GO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_LIST_META_CONTEXT;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_SET_META_CONTEXT;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_STARTTLS;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_STRUCTURED_REPLY;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ACK;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REQUEST_MAGIC;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.Fuzzer;
import dev.scemu.nbd.NbdServer;
import dev.scemu.nbd.NbdTlsMode;
import dev.scemu.testkit.fuzz.NbdStreamFuzzTest.ProtocolRejection;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The STARTTLS path of the NBD server ({@code Handshake.startTls}, TLS {@code ON}) fed mutated
 * streams: (1) plaintext streams around {@code NBD_OPT_STARTTLS} (with and without data, bytes
 * smuggled behind it, the stream ending in the TLS handshake, meta contexts negotiated before it);
 * (2) streams sent inside an established TLS session (structured replies and meta contexts
 * negotiated again or not, GO, block status and reads). The server must answer or close within
 * the time limit, never fail with an unexpected error, keep the read-only export as it was, and
 * keep serving. Certificates are made by {@code openssl} at test time (skipped without it).
 */
class NbdTlsFuzzTest {

    private static final int BLOCK = 4096;
    private static final int BLOCKS = 32;
    private static final int CLIENT_FLAGS = NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES;

    @TempDir
    static Path certificates;

    private static BlockDevice readOnly;
    private static byte[] content;
    private static NbdServer server;
    private static SSLContext trustAll;
    /** The server's log (stderr, slf4j-simple): an unexpected exception of a connection is logged there. */
    private static final ByteArrayOutputStream serverLog = new ByteArrayOutputStream();
    private static java.io.PrintStream originalErr;

    @BeforeAll
    static void server() throws Exception {
        boolean openssl = false;
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            openssl |= !dir.isEmpty() && Files.isExecutable(Path.of(dir, "openssl"));
        }
        assumeTrue(openssl, "openssl is not installed: cannot make a server certificate");
        Process process = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "server-key.pem", "-out", "server-cert.pem",
                "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1")
                .directory(certificates.toFile()).redirectErrorStream(true)
                .redirectOutput(certificates.resolve("openssl.log").toFile()).start();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(Files.readString(certificates.resolve("openssl.log"))).isZero();
        Files.copy(certificates.resolve("server-cert.pem"), certificates.resolve("ca-cert.pem"));
        originalErr = System.err;
        java.io.PrintStream err = originalErr;
        System.setErr(new java.io.PrintStream(new java.io.OutputStream() {
            @Override
            public void write(int b) {
                synchronized (serverLog) {
                    serverLog.write(b);
                }
                err.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                synchronized (serverLog) {
                    serverLog.write(b, off, len);
                }
                err.write(b, off, len);
            }
        }, true));
        content = new byte[BLOCKS * BLOCK];
        new Random(78).nextBytes(content);
        readOnly = FuzzSupport.deviceOf("ro", BLOCK, content);
        server = NbdServer.builder().bindTcp(InetAddress.getLoopbackAddress(), 0)
                .export("ro", readOnly, "read-only fuzz export", true)
                .tls(NbdTlsMode.ON, certificates).start();
        trustAll = SSLContext.getInstance("TLS");
        trustAll.init(null, new TrustManager[] {new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
                // the fuzz client talks to its own server only
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, new SecureRandom());
    }

    @AfterAll
    static void stop() {
        if (originalErr != null) {
            System.setErr(originalErr);
        }
        if (server != null) {
            server.close();
            readOnly.close();
        }
    }

    private static byte[] option(int option, byte[] data) {
        return ByteBuffer.allocate(16 + data.length).putLong(IHAVEOPT).putInt(option).putInt(data.length).put(data)
                .array();
    }

    private static byte[] goData(String export) {
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(4 + name.length + 2).putInt(name.length).put(name).putShort((short) 0).array();
    }

    private static byte[] request(int type, int flags, long handle, long offset, int length) {
        return ByteBuffer.allocate(28).putInt(NBD_REQUEST_MAGIC).putShort((short) flags).putShort((short) type)
                .putLong(handle).putLong(offset).putInt(length).array();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    private static byte[] clientFlags() {
        return ByteBuffer.allocate(4).putInt(CLIENT_FLAGS).array();
    }

    /** Options and requests a client sends once TLS runs. */
    private static byte[] insideTls(boolean structured) {
        byte[] negotiation = structured ? concat(option(NBD_OPT_STRUCTURED_REPLY, new byte[0]),
                option(NBD_OPT_LIST_META_CONTEXT, NbdStreamFuzzTest.metaContextData("ro", "base:")),
                option(NBD_OPT_SET_META_CONTEXT, NbdStreamFuzzTest.metaContextData("ro", "base:allocation")))
                : option(NBD_OPT_SET_META_CONTEXT, NbdStreamFuzzTest.metaContextData("ro", "base:allocation"));
        return concat(negotiation, option(NBD_OPT_GO, goData("ro")),
                request(NBD_CMD_BLOCK_STATUS, 0, 1, 0, BLOCKS * BLOCK),
                request(NBD_CMD_BLOCK_STATUS, NBD_CMD_FLAG_REQ_ONE, 2, 7, 100),
                request(NBD_CMD_READ, 0, 3, 0, BLOCK),
                request(NBD_CMD_WRITE, 0, 4, 0, 16), new byte[16], // refused: read-only
                request(NBD_CMD_DISC, 0, 5, 0, 0));
    }

    /** Reads until the server closes; fails if it neither answers nor closes in time. */
    private static void drain(InputStream in) {
        byte[] sink = new byte[8192];
        try {
            while (in.read(sink) >= 0) {
                // replies
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the server neither answered nor closed the connection within "
                    + NbdFuzzConnections.DEADLINE_MILLIS / 1000 + " s", e);
        } catch (IOException reset) {
            // a reset is a close too
        }
    }

    /** After a conversation: connections closed, no unexpected error, violations turned into the allowed exception. */
    private static void settle(long violationsBefore) throws ProtocolRejection {
        NbdFuzzConnections.awaitNoneActive(server);
        if (!Arrays.equals(FuzzSupport.contentsOf(readOnly), content)) {
            throw new AssertionError("the read-only export changed");
        }
        synchronized (serverLog) {
            String log = serverLog.toString(StandardCharsets.UTF_8);
            if (log.contains("unexpected error") || log.contains("failed unexpectedly")) {
                throw new AssertionError("the server logged an unexpected error:\n" + log);
            }
        }
        long violations = server.stats().protocolViolations() - violationsBefore;
        if (violations > 0) {
            throw new ProtocolRejection(violations);
        }
    }

    /** A plaintext stream (it may contain STARTTLS; whatever follows it is sent in plaintext). */
    private static void plaintext(byte[] stream) throws IOException, ProtocolRejection {
        long before = server.stats().protocolViolations();
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            socket.setSoTimeout(NbdFuzzConnections.DEADLINE_MILLIS);
            DataInputStream in = new DataInputStream(socket.getInputStream());
            in.readFully(new byte[18]);
            try {
                socket.getOutputStream().write(stream);
                socket.shutdownOutput();
            } catch (IOException closedEarly) {
                // the server may close first
            }
            drain(in);
        }
        settle(before);
    }

    /** STARTTLS done properly, then {@code stream} sent through TLS and the session half-closed. */
    private static void insideSession(byte[] stream) throws IOException, ProtocolRejection {
        long before = server.stats().protocolViolations();
        try (Socket plain = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            plain.setSoTimeout(NbdFuzzConnections.DEADLINE_MILLIS);
            DataInputStream in = new DataInputStream(plain.getInputStream());
            in.readFully(new byte[18]);
            plain.getOutputStream().write(concat(clientFlags(), option(NBD_OPT_STARTTLS, new byte[0])));
            in.readLong();
            in.readInt();
            assertThat(in.readInt()).as("STARTTLS acknowledged").isEqualTo(NBD_REP_ACK);
            in.readFully(new byte[in.readInt()]);
            try (SSLSocket tls = (SSLSocket) trustAll.getSocketFactory().createSocket(plain, "127.0.0.1",
                    plain.getPort(), true)) {
                tls.setUseClientMode(true);
                tls.startHandshake();
                try {
                    tls.getOutputStream().write(stream);
                    tls.getOutputStream().flush();
                    tls.shutdownOutput();
                } catch (IOException closedEarly) {
                    // the server may close first
                }
                drain(tls.getInputStream());
            }
        }
        settle(before);
    }

    @Test
    void mutatedPlaintextAroundStartTlsIsAnsweredOrClosed() throws IOException {
        int n = FuzzSupport.iterations(120);
        List<byte[]> seeds = List.of(
                concat(clientFlags(), option(NBD_OPT_STRUCTURED_REPLY, new byte[0]),
                        option(NBD_OPT_SET_META_CONTEXT, NbdStreamFuzzTest.metaContextData("ro", "base:allocation")),
                        option(NBD_OPT_STARTTLS, new byte[0])),
                concat(clientFlags(), option(NBD_OPT_STARTTLS, new byte[0]), option(NBD_OPT_GO, goData("ro"))),
                concat(clientFlags(), option(NBD_OPT_STARTTLS, new byte[4]), insideTls(false)));
        Fuzzer.Report report = FuzzSupport.print("nbd.Handshake(STARTTLS, plaintext)",
                new Fuzzer(194, n, ProtocolRejection.class).timeoutMillis(15_000).run(seeds, NbdTlsFuzzTest::plaintext));
        assertThat(report.rejected()).isPositive();
        assertThat(report.decodedCleanly()).isPositive();
        assertThat(server.stats().tlsFailures()).as("streams ending inside the TLS handshake").isPositive();
    }

    @Test
    void mutatedStreamsInsideTlsAreAnsweredOrClosed() throws IOException {
        int n = FuzzSupport.iterations(100);
        Fuzzer.Report report = FuzzSupport.print("nbd.Handshake+Connection(inside TLS)",
                new Fuzzer(195, n, ProtocolRejection.class).timeoutMillis(15_000)
                        .run(List.of(insideTls(true), insideTls(false)), NbdTlsFuzzTest::insideSession));
        assertThat(report.rejected()).isPositive();
        assertThat(report.decodedCleanly()).isPositive();
        assertThat(server.stats().tlsSessions()).isPositive();
    }
}
