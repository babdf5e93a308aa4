package dev.scemu.testkit.fuzz;

import dev.scemu.core.FuzzSupport;
import static dev.scemu.nbd.internal.NbdProtocol.IHAVEOPT;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_BLOCK_STATUS;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_CACHE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_DISC;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_FLAG_FAST_ZERO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_FLAG_REQ_ONE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_FLUSH;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_READ;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_TRIM;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_WRITE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_WRITE_ZEROES;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_C_FIXED_NEWSTYLE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_C_NO_ZEROES;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_GO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_INFO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_LIST;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_LIST_META_CONTEXT;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_SET_META_CONTEXT;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_STRUCTURED_REPLY;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ACK;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REQUEST_MAGIC;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Fuzzer;
import dev.scemu.core.Media;
import dev.scemu.nbd.NbdServer;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The NBD server fed mutated client byte streams over a real loopback socket: option haggling
 * ({@code Handshake}: client flags, LIST, INFO, STRUCTURED_REPLY, LIST_META_CONTEXT and
 * SET_META_CONTEXT ({@code MetaContextRequest}), GO with info requests) and transmission requests
 * ({@code Connection}/{@code NbdProtocol}: READ, WRITE, TRIM, WRITE_ZEROES with and without
 * FAST_ZERO, CACHE, BLOCK_STATUS with and without REQ_ONE, FLUSH, DISC). STARTTLS is fuzzed by
 * {@code NbdTlsFuzzTest}. After the client half-closes, the server must answer what it answers and close the
 * connection within the time limit, never fail with an unexpected error, and keep serving fresh
 * clients. The read-only export never changes; on the writable export only the byte ranges of
 * well-formed write-like requests in the stream may change.
 */
class NbdStreamFuzzTest {

    private static final int BLOCK = 4096;
    private static final int BLOCKS = 64;
    private static final int CLIENT_FLAGS = NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES;

    private static BlockDevice readOnly;
    private static BlockDevice writable;
    private static byte[] content;
    private static NbdServer server;
    private static final ByteArrayOutputStream serverLog = new ByteArrayOutputStream();
    private static PrintStream originalErr;

    @BeforeAll
    static void server() {
        content = new byte[BLOCKS * BLOCK];
        new Random(77).nextBytes(content);
        readOnly = FuzzSupport.deviceOf("ro", BLOCK, content);
        writable = Media.memory("rw", new BlockGeometry(BLOCK, BLOCKS));
        server = NbdServer.builder().bindTcp(InetAddress.getLoopbackAddress(), 0)
                .export("ro", readOnly, "read-only fuzz export", true)
                .export("rw", writable, "writable fuzz export", false)
                .maxRequestBytes(1 << 20).start();
        // the server logs an unexpected exception of a connection and closes it: watch its log for them
        originalErr = System.err;
        PrintStream err = originalErr;
        System.setErr(new PrintStream(new OutputStream() {
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
    }

    @AfterAll
    static void stop() {
        System.setErr(originalErr);
        server.close();
        readOnly.close();
        writable.close();
    }

    // ------------------------------------------------------------------ valid client streams

    private static byte[] option(int option, byte[] data) {
        return ByteBuffer.allocate(16 + data.length).putLong(IHAVEOPT).putInt(option).putInt(data.length).put(data)
                .array();
    }

    /** INFO / GO data: u32 name length, name, u16 count, count × u16 info type. */
    private static byte[] goData(String export, int... infos) {
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + name.length + 2 + 2 * infos.length).putInt(name.length).put(name)
                .putShort((short) infos.length);
        for (int info : infos) {
            b.putShort((short) info);
        }
        return b.array();
    }

    private static byte[] request(int type, int flags, long handle, long offset, int length, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(28 + (data == null ? 0 : data.length)).putInt(NBD_REQUEST_MAGIC)
                .putShort((short) flags).putShort((short) type).putLong(handle).putLong(offset).putInt(length);
        if (data != null) {
            b.put(data);
        }
        return b.array();
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

    /** LIST_META_CONTEXT / SET_META_CONTEXT data: u32 name length, name, u32 count, count × (u32 length, query). */
    static byte[] metaContextData(String export, String... queries) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        out.writeBytes(ByteBuffer.allocate(4).putInt(name.length).array());
        out.writeBytes(name);
        out.writeBytes(ByteBuffer.allocate(4).putInt(queries.length).array());
        for (String query : queries) {
            byte[] q = query.getBytes(StandardCharsets.UTF_8);
            out.writeBytes(ByteBuffer.allocate(4).putInt(q.length).array());
            out.writeBytes(q);
        }
        return out.toByteArray();
    }

    /** Handshake with every option this server knows, then GO into {@code export}. */
    private static byte[] handshake(String export) {
        return concat(clientFlags(), option(NBD_OPT_LIST, new byte[0]), option(NBD_OPT_INFO, goData(export, 0, 1, 2, 3)),
                option(NBD_OPT_STRUCTURED_REPLY, new byte[0]),
                option(NBD_OPT_LIST_META_CONTEXT, metaContextData(export)),
                option(NBD_OPT_LIST_META_CONTEXT, metaContextData(export, "base:", "x-other:thing")),
                option(NBD_OPT_SET_META_CONTEXT, metaContextData(export, "base:allocation")),
                option(NBD_OPT_GO, goData(export, 3)));
    }

    private static byte[] transmission() {
        byte[] data = new byte[BLOCK];
        new Random(5).nextBytes(data);
        return concat(request(NBD_CMD_READ, 0, 1, 0, BLOCK, null),
                request(NBD_CMD_WRITE, 1, 2, 2 * BLOCK, BLOCK, data),
                request(NBD_CMD_READ, 0, 3, 100, 1000, null),
                request(NBD_CMD_WRITE, 0, 4, 5 * BLOCK + 10, 300, Arrays.copyOf(data, 300)),
                request(NBD_CMD_TRIM, 0, 5, 8 * BLOCK, BLOCK, null),
                request(NBD_CMD_WRITE_ZEROES, 0, 6, 9 * BLOCK, BLOCK, null),
                request(NBD_CMD_FLUSH, 0, 7, 0, 0, null),
                request(NBD_CMD_BLOCK_STATUS, 0, 10, 0, BLOCKS * BLOCK, null),
                request(NBD_CMD_BLOCK_STATUS, NBD_CMD_FLAG_REQ_ONE, 11, 100, 3 * BLOCK, null),
                request(NBD_CMD_CACHE, 0, 12, BLOCK, 4 * BLOCK, null),
                request(NBD_CMD_WRITE_ZEROES, NBD_CMD_FLAG_FAST_ZERO, 13, 10 * BLOCK, BLOCK, null),
                request(NBD_CMD_DISC, 0, 8, 0, 0, null));
    }

    // ------------------------------------------------------------------ one case

    /** The server closed the connection on a protocol violation (bad magic, truncated stream, oversized option...). */
    public static final class ProtocolRejection extends Exception {
        ProtocolRejection(long violations) {
            super(violations + " protocol violation(s)");
        }
    }

    /**
     * Sends {@code stream} after the greeting, half-closes, and drains the replies until the server
     * closes; throws {@link ProtocolRejection} if the server counted a protocol violation.
     */
    private static void converse(byte[] stream) throws IOException, ProtocolRejection {
        int unexpectedBefore = unexpectedErrors();
        long violationsBefore = server.stats().protocolViolations();
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            socket.setSoTimeout(NbdFuzzConnections.DEADLINE_MILLIS);
            DataInputStream in = new DataInputStream(socket.getInputStream());
            in.readFully(new byte[18]); // greeting
            try {
                socket.getOutputStream().write(stream);
                socket.shutdownOutput();
            } catch (IOException closedEarly) {
                // the server may close before reading everything: fine
            }
            byte[] sink = new byte[8192];
            try {
                while (in.read(sink) >= 0) {
                    // replies: protocol errors, data, or nothing
                }
            } catch (SocketTimeoutException e) {
                throw new AssertionError("the server neither answered nor closed the connection within "
                    + NbdFuzzConnections.DEADLINE_MILLIS / 1000 + " s", e);
            } catch (IOException reset) {
                // a reset is a close too
            }
        }
        NbdFuzzConnections.awaitNoneActive(server);
        if (unexpectedErrors() != unexpectedBefore) {
            throw new AssertionError("the server closed a connection after an unexpected error:\n" + lastLog());
        }
        long violations = server.stats().protocolViolations() - violationsBefore;
        if (violations > 0) {
            throw new ProtocolRejection(violations);
        }
    }

    private static int unexpectedErrors() {
        synchronized (serverLog) {
            String log = serverLog.toString(StandardCharsets.UTF_8);
            int count = 0;
            for (int at = log.indexOf("unexpected error"); at >= 0; at = log.indexOf("unexpected error", at + 1)) {
                count++;
            }
            return count;
        }
    }

    private static String lastLog() {
        synchronized (serverLog) {
            String log = serverLog.toString(StandardCharsets.UTF_8);
            int at = log.lastIndexOf("unexpected error");
            return log.substring(Math.max(0, at - 200), Math.min(log.length(), at + 3000));
        }
    }

    /** A fresh client still gets a full read of the read-only export. */
    private static void assertServerServes() throws IOException {
        try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            socket.setSoTimeout(NbdFuzzConnections.DEADLINE_MILLIS);
            DataInputStream in = new DataInputStream(socket.getInputStream());
            in.readFully(new byte[18]);
            socket.getOutputStream().write(concat(clientFlags(), option(NBD_OPT_GO, goData("ro"))));
            while (true) { // option replies up to the ACK of GO
                in.readLong();
                in.readInt();
                int type = in.readInt();
                in.readFully(new byte[in.readInt()]);
                if (type == NBD_REP_ACK) {
                    break;
                }
                assertThat(type).as("GO refused").isPositive();
            }
            socket.getOutputStream().write(request(NBD_CMD_READ, 0, 9, 0, BLOCKS * BLOCK, null));
            in.readInt();
            assertThat(in.readInt()).as("read error").isZero();
            in.readLong();
            byte[] data = new byte[BLOCKS * BLOCK];
            in.readFully(data);
            assertThat(data).isEqualTo(content);
        }
    }

    // ------------------------------------------------------------------ write model of the writable export

    /** Byte ranges [from, to) that well-formed WRITE / TRIM / WRITE_ZEROES requests in {@code stream} may change. */
    private static List<long[]> writableRanges(byte[] stream) {
        List<long[]> ranges = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(stream);
        while (b.remaining() >= 28) {
            int at = b.position();
            if (b.getInt(at) != NBD_REQUEST_MAGIC) {
                break; // the server closes the connection on a bad magic
            }
            int type = b.getShort(at + 6) & 0xFFFF;
            long offset = b.getLong(at + 16);
            long length = Integer.toUnsignedLong(b.getInt(at + 24));
            b.position(at + 28);
            if (type == NBD_CMD_WRITE || type == NBD_CMD_TRIM || type == NBD_CMD_WRITE_ZEROES) {
                // a partial block is written by read-modify-write: its whole blocks may be rewritten
                ranges.add(new long[] {offset / BLOCK * BLOCK, offset + length});
            }
            if (type == NBD_CMD_WRITE) {
                if (length > b.remaining()) {
                    break; // a truncated payload must write nothing
                }
                b.position(b.position() + (int) length);
            }
        }
        return ranges;
    }

    @AfterAll
    static void theServerLogWasWatched() {
        synchronized (serverLog) {
            assertThat(serverLog.toString(StandardCharsets.UTF_8)).as("server log captured")
                    .contains("protocol violation");
        }
    }

    private static void assertOnlyWritableRangesChanged(byte[] before, byte[] after, List<long[]> ranges) {
        for (int i = 0; i < before.length; i++) {
            if (before[i] != after[i]) {
                int at = i;
                if (ranges.stream().noneMatch(r -> at >= r[0] && at < r[1])) {
                    throw new AssertionError("byte " + at + " of the writable export changed, but no well-formed "
                            + "write-like request covers it");
                }
            }
        }
    }

    // ------------------------------------------------------------------ tests

    @Test
    void mutatedHandshakesAreAnsweredOrClosedAndNeverTouchTheExport() throws IOException {
        int n = FuzzSupport.iterations(400);
        byte[] seed = concat(handshake("ro"), transmission());
        Fuzzer.Report report = FuzzSupport.print("nbd.Handshake(option stream)", new Fuzzer(191, n, ProtocolRejection.class).timeoutMillis(10_000)
                .run(List.of(seed, concat(clientFlags(), option(NBD_OPT_GO, goData("ro", 0, 3)), transmission())),
                        stream -> {
                            converse(stream);
                            if (!Arrays.equals(FuzzSupport.contentsOf(readOnly), content)) {
                                throw new AssertionError("the read-only export changed");
                            }
                        }));
        assertThat(report.rejected()).isPositive();
        assertThat(report.decodedCleanly()).isPositive();
        assertServerServes();
    }

    @Test
    void mutatedTransmissionRequestsChangeOnlyWhatWellFormedWritesCover() throws IOException {
        int n = FuzzSupport.iterations(400);
        byte[] prefix = handshake("rw");
        Fuzzer.Report report = FuzzSupport.print("nbd.Connection(transmission requests)",
                new Fuzzer(192, n, ProtocolRejection.class).timeoutMillis(10_000).run(List.of(transmission()), requests -> {
                    byte[] before = FuzzSupport.contentsOf(writable);
                    converse(concat(prefix, requests));
                    assertOnlyWritableRangesChanged(before, FuzzSupport.contentsOf(writable), writableRanges(requests));
                }));
        assertThat(report.rejected()).isPositive();
        assertThat(report.decodedCleanly()).isPositive();
        assertServerServes();
    }

    @Test
    void mutatedRequestsToTheReadOnlyExportNeverWrite() throws IOException {
        int n = FuzzSupport.iterations(300);
        byte[] prefix = handshake("ro");
        Fuzzer.Report report = FuzzSupport.print("nbd.Connection(read-only export)",
                new Fuzzer(193, n, ProtocolRejection.class).timeoutMillis(10_000).run(List.of(transmission()), requests -> {
                    converse(concat(prefix, requests));
                    if (!Arrays.equals(FuzzSupport.contentsOf(readOnly), content)) {
                        throw new AssertionError("the read-only export changed");
                    }
                }));
        assertThat(report.rejected()).isPositive();
        assertThat(report.decodedCleanly()).isPositive();
        assertServerServes();
    }
}
