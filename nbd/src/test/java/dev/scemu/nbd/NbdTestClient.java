package dev.scemu.nbd;

import static dev.scemu.nbd.internal.NbdProtocol.IHAVEOPT;
import static dev.scemu.nbd.internal.NbdProtocol.NBDMAGIC;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_DISC;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_FLUSH;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_READ;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_TRIM;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_WRITE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_WRITE_ZEROES;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_C_FIXED_NEWSTYLE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_C_NO_ZEROES;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_INFO_EXPORT;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPTION_REPLY_MAGIC;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_EXPORT_NAME;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_GO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_STRUCTURED_REPLY;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REPLY_FLAG_DONE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REPLY_TYPE_NONE;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REPLY_TYPE_OFFSET_DATA;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_ACK;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_INFO;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REP_SERVER;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_REQUEST_MAGIC;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_SIMPLE_REPLY_MAGIC;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_STRUCTURED_REPLY_MAGIC;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A small blocking NBD client for tests: speaks the handshake and the transmission phase byte by
 * byte as the protocol document describes, independent of the server's code (only constants are
 * shared). Requests can be pipelined with {@link #send} and matched by handle with {@link #receive}.
 */
final class NbdTestClient implements AutoCloseable {

    static final int TIMEOUT_MILLIS = 20_000;

    /** One option reply of the handshake. */
    record OptionReply(int option, int type, byte[] data) {
        boolean isError() {
            return type < 0;
        }
    }

    /** One transmission reply (all chunks of a structured reply merged). */
    record Reply(long handle, int error, byte[] data, String message, List<Integer> chunkTypes) {
    }

    private AutoCloseable socket;
    DataInputStream in;
    DataOutputStream out;
    int handshakeFlags;
    long exportSizeBytes;
    int transmissionFlags;
    boolean structuredReplies;
    private final Map<Long, Integer> pendingReadLengths = new HashMap<>();
    private final Map<Long, Long> pendingReadOffsets = new HashMap<>();
    private long nextHandle = 1;

    private NbdTestClient(AutoCloseable socket, DataInputStream in, DataOutputStream out) {
        this.socket = socket;
        this.in = in;
        this.out = out;
    }

    static NbdTestClient tcp(int port) throws IOException {
        return tcp(port, 0);
    }

    /** With {@code receiveBufferBytes} > 0 a fixed socket receive buffer (no autotuning: a client that reads slowly). */
    static NbdTestClient tcp(int port, int receiveBufferBytes) throws IOException {
        Socket socket = new Socket();
        if (receiveBufferBytes > 0) {
            socket.setReceiveBufferSize(receiveBufferBytes);
        }
        socket.connect(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        socket.setSoTimeout(TIMEOUT_MILLIS);
        socket.setTcpNoDelay(true);
        return new NbdTestClient(socket, new DataInputStream(new BufferedInputStream(socket.getInputStream())),
                new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 1 << 16)));
    }

    static NbdTestClient unix(Path path) throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(path));
        return new NbdTestClient(channel, new DataInputStream(new BufferedInputStream(Channels.newInputStream(channel))),
                new DataOutputStream(new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16)));
    }

    /** Connects over TCP, negotiates (optionally) structured replies and enters transmission with NBD_OPT_GO. */
    static NbdTestClient open(int port, String export, boolean structured) throws IOException {
        return open(port, export, structured, 0);
    }

    static NbdTestClient open(int port, String export, boolean structured, int receiveBufferBytes) throws IOException {
        NbdTestClient client = tcp(port, receiveBufferBytes);
        client.greet(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
        if (structured) {
            OptionReply reply = client.option(NBD_OPT_STRUCTURED_REPLY, new byte[0]);
            if (reply.type() != NBD_REP_ACK) {
                throw new IOException("structured replies refused: " + reply.type());
            }
            client.structuredReplies = true;
        }
        List<OptionReply> replies = client.go(NBD_OPT_GO, export);
        OptionReply last = replies.get(replies.size() - 1);
        if (last.type() != NBD_REP_ACK) {
            throw new IOException("NBD_OPT_GO refused: 0x" + Integer.toHexString(last.type()) + " "
                    + new String(last.data(), StandardCharsets.UTF_8));
        }
        return client;
    }

    // ---------------------------------------------------------------- handshake

    /** Reads the greeting and sends the client flags. */
    void greet(int clientFlags) throws IOException {
        long magic = in.readLong();
        long opt = in.readLong();
        if (magic != NBDMAGIC || opt != IHAVEOPT) {
            throw new IOException("bad greeting " + Long.toHexString(magic) + " " + Long.toHexString(opt));
        }
        handshakeFlags = in.readUnsignedShort();
        out.writeInt(clientFlags);
        out.flush();
    }

    void sendOption(int option, byte[] data) throws IOException {
        out.writeLong(IHAVEOPT);
        out.writeInt(option);
        out.writeInt(data.length);
        out.write(data);
        out.flush();
    }

    OptionReply readOptionReply() throws IOException {
        long magic = in.readLong();
        if (magic != NBD_OPTION_REPLY_MAGIC) {
            throw new IOException("bad option reply magic " + Long.toHexString(magic));
        }
        int option = in.readInt();
        int type = in.readInt();
        int length = in.readInt();
        byte[] data = new byte[length];
        in.readFully(data);
        return new OptionReply(option, type, data);
    }

    OptionReply option(int option, byte[] data) throws IOException {
        sendOption(option, data);
        return readOptionReply();
    }

    /** Sends NBD_OPT_INFO or NBD_OPT_GO and reads replies up to the final one; records NBD_INFO_EXPORT. */
    List<OptionReply> go(int option, String export, int... infoRequests) throws IOException {
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        ByteBuffer data = ByteBuffer.allocate(4 + name.length + 2 + 2 * infoRequests.length);
        data.putInt(name.length).put(name).putShort((short) infoRequests.length);
        for (int info : infoRequests) {
            data.putShort((short) info);
        }
        sendOption(option, data.array());
        List<OptionReply> replies = new ArrayList<>();
        while (true) {
            OptionReply reply = readOptionReply();
            replies.add(reply);
            if (reply.type() == NBD_REP_INFO) {
                ByteBuffer info = ByteBuffer.wrap(reply.data());
                if ((info.getShort() & 0xffff) == NBD_INFO_EXPORT) {
                    exportSizeBytes = info.getLong();
                    transmissionFlags = info.getShort() & 0xffff;
                }
                continue;
            }
            return replies;
        }
    }

    /** The data of NBD_OPT_LIST_META_CONTEXT / NBD_OPT_SET_META_CONTEXT for {@code export} and {@code queries}. */
    static byte[] metaContextData(String export, String... queries) {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        try (DataOutputStream data = new DataOutputStream(bytes)) {
            byte[] name = export.getBytes(StandardCharsets.UTF_8);
            data.writeInt(name.length);
            data.write(name);
            data.writeInt(queries.length);
            for (String query : queries) {
                byte[] q = query.getBytes(StandardCharsets.UTF_8);
                data.writeInt(q.length);
                data.write(q);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** Sends a meta context option and reads its replies up to the final one (ACK or an error). */
    List<OptionReply> metaContext(int option, byte[] data) throws IOException {
        sendOption(option, data);
        List<OptionReply> replies = new ArrayList<>();
        while (true) {
            OptionReply reply = readOptionReply();
            replies.add(reply);
            if (reply.type() != dev.scemu.nbd.internal.NbdProtocol.NBD_REP_META_CONTEXT) {
                return replies;
            }
        }
    }

    /** One block status descriptor. */
    record Extent(long lengthBytes, int flags) {
    }

    /** NBD_CMD_BLOCK_STATUS: the descriptors of the reply (error: an IOException with the error). */
    List<Extent> blockStatus(long offset, long length, int flags) throws IOException {
        Reply reply = request(dev.scemu.nbd.internal.NbdProtocol.NBD_CMD_BLOCK_STATUS, flags, offset, length, null);
        if (reply.error() != 0) {
            throw new IOException("block status failed with error " + reply.error() + ": " + reply.message());
        }
        ByteBuffer payload = ByteBuffer.wrap(reply.data());
        int context = payload.getInt();
        if (context != dev.scemu.nbd.internal.NbdProtocol.BASE_ALLOCATION_ID) {
            throw new IOException("context id " + context);
        }
        List<Extent> extents = new ArrayList<>();
        while (payload.hasRemaining()) {
            extents.add(new Extent(payload.getInt() & 0xffffffffL, payload.getInt()));
        }
        return extents;
    }

    /** NBD_OPT_LIST: the NBD_REP_SERVER entries as name → description, then the final reply type. */
    List<OptionReply> list() throws IOException {
        sendOption(dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_LIST, new byte[0]);
        List<OptionReply> replies = new ArrayList<>();
        while (true) {
            OptionReply reply = readOptionReply();
            replies.add(reply);
            if (reply.type() != NBD_REP_SERVER) {
                return replies;
            }
        }
    }

    /**
     * NBD_OPT_STARTTLS; on NBD_REP_ACK runs the TLS handshake (client side, verifying the server's
     * certificate for 127.0.0.1) and continues over TLS. Returns the option reply.
     */
    OptionReply startTls(javax.net.ssl.SSLContext context) throws IOException {
        OptionReply reply = option(dev.scemu.nbd.internal.NbdProtocol.NBD_OPT_STARTTLS, new byte[0]);
        if (reply.type() != NBD_REP_ACK) {
            return reply;
        }
        Socket plain = (Socket) socket;
        javax.net.ssl.SSLSocket tls = (javax.net.ssl.SSLSocket) context.getSocketFactory()
                .createSocket(plain, "127.0.0.1", plain.getPort(), true);
        javax.net.ssl.SSLParameters parameters = tls.getSSLParameters();
        parameters.setEndpointIdentificationAlgorithm("HTTPS"); // checks the certificate's IP address
        tls.setSSLParameters(parameters);
        tls.setSoTimeout(TIMEOUT_MILLIS);
        tls.startHandshake();
        socket = tls;
        in = new DataInputStream(new BufferedInputStream(tls.getInputStream()));
        out = new DataOutputStream(new BufferedOutputStream(tls.getOutputStream(), 1 << 16));
        return reply;
    }

    /** Enters transmission with NBD_OPT_EXPORT_NAME (the old way); returns false if the server closed. */
    boolean exportName(String export, boolean noZeroesNegotiated) throws IOException {
        sendOption(NBD_OPT_EXPORT_NAME, export.getBytes(StandardCharsets.UTF_8));
        try {
            exportSizeBytes = in.readLong();
        } catch (EOFException e) {
            return false;
        }
        transmissionFlags = in.readUnsignedShort();
        if (!noZeroesNegotiated) {
            byte[] zeroes = new byte[124];
            in.readFully(zeroes);
        }
        return true;
    }

    // ---------------------------------------------------------------- transmission

    long nextHandle() {
        return nextHandle++;
    }

    /** Sends one request without flushing or waiting. */
    void send(int type, int flags, long handle, long offset, long length, byte[] payload) throws IOException {
        out.writeInt(NBD_REQUEST_MAGIC);
        out.writeShort(flags);
        out.writeShort(type);
        out.writeLong(handle);
        out.writeLong(offset);
        out.writeInt((int) length);
        if (payload != null) {
            out.write(payload);
        }
        if (type == NBD_CMD_READ) {
            pendingReadLengths.put(handle, (int) length);
            pendingReadOffsets.put(handle, offset);
        }
    }

    void flushOutput() throws IOException {
        out.flush();
    }

    /** Reads the next reply (any handle). */
    Reply receive() throws IOException {
        int magic = in.readInt();
        if (magic == NBD_SIMPLE_REPLY_MAGIC) {
            int error = in.readInt();
            long handle = in.readLong();
            Integer readLength = pendingReadLengths.remove(handle);
            pendingReadOffsets.remove(handle);
            byte[] data = new byte[0];
            if (readLength != null && error == 0) {
                data = new byte[readLength];
                in.readFully(data);
            }
            return new Reply(handle, error, data, null, List.of());
        }
        if (magic != NBD_STRUCTURED_REPLY_MAGIC) {
            throw new IOException("bad reply magic " + Integer.toHexString(magic));
        }
        long handle = -1;
        int error = 0;
        String message = null;
        List<Integer> types = new ArrayList<>();
        byte[] data = null;
        boolean done = false;
        boolean first = true;
        while (!done) {
            if (!first) {
                int chunkMagic = in.readInt();
                if (chunkMagic != NBD_STRUCTURED_REPLY_MAGIC) {
                    throw new IOException("bad chunk magic " + Integer.toHexString(chunkMagic));
                }
            }
            first = false;
            int flags = in.readUnsignedShort();
            int type = in.readUnsignedShort();
            long chunkHandle = in.readLong();
            if (handle != -1 && chunkHandle != handle) {
                throw new IOException("interleaved chunks are not expected from this server");
            }
            handle = chunkHandle;
            int length = in.readInt();
            types.add(type);
            done = (flags & NBD_REPLY_FLAG_DONE) != 0;
            Integer readLength = pendingReadLengths.get(handle);
            if (type == NBD_REPLY_TYPE_OFFSET_DATA) {
                long offset = in.readLong();
                byte[] chunk = new byte[length - 8];
                in.readFully(chunk);
                long base = pendingReadOffsets.get(handle);
                if (data == null) {
                    data = new byte[readLength];
                }
                System.arraycopy(chunk, 0, data, (int) (offset - base), chunk.length);
            } else if ((type & 0x8000) != 0) {
                error = in.readInt();
                int messageLength = in.readUnsignedShort();
                byte[] text = new byte[messageLength];
                in.readFully(text);
                message = new String(text, StandardCharsets.UTF_8);
                in.readFully(new byte[length - 6 - messageLength]);
            } else if (type == dev.scemu.nbd.internal.NbdProtocol.NBD_REPLY_TYPE_BLOCK_STATUS) {
                if (length < 12 || (length - 4) % 8 != 0) {
                    throw new IOException("block status chunk of length " + length);
                }
                data = new byte[length];
                in.readFully(data); // context id, then (length, flags) descriptors
            } else if (type == NBD_REPLY_TYPE_NONE) {
                if (length != 0) {
                    throw new IOException("NONE chunk with length " + length);
                }
            } else {
                throw new IOException("unexpected chunk type " + type);
            }
        }
        pendingReadLengths.remove(handle);
        pendingReadOffsets.remove(handle);
        return new Reply(handle, error, data == null ? new byte[0] : data, message, types);
    }

    Reply request(int type, int flags, long offset, long length, byte[] payload) throws IOException {
        long handle = nextHandle();
        send(type, flags, handle, offset, length, payload);
        flushOutput();
        Reply reply = receive();
        if (reply.handle() != handle) {
            throw new IOException("reply for handle " + reply.handle() + ", expected " + handle);
        }
        return reply;
    }

    byte[] read(long offset, int length) throws IOException {
        Reply reply = request(NBD_CMD_READ, 0, offset, length, null);
        if (reply.error() != 0) {
            throw new IOException("read failed with error " + reply.error());
        }
        return reply.data();
    }

    int write(long offset, byte[] data, int flags) throws IOException {
        return request(NBD_CMD_WRITE, flags, offset, data.length, data).error();
    }

    int flush() throws IOException {
        return request(NBD_CMD_FLUSH, 0, 0, 0, null).error();
    }

    int trim(long offset, long length, int flags) throws IOException {
        return request(NBD_CMD_TRIM, flags, offset, length, null).error();
    }

    int writeZeroes(long offset, long length, int flags) throws IOException {
        return request(NBD_CMD_WRITE_ZEROES, flags, offset, length, null).error();
    }

    void disconnect() throws IOException {
        send(NBD_CMD_DISC, 0, nextHandle(), 0, 0, null);
        flushOutput();
    }

    /** True if the server closed the connection: the next read sees end of stream (or a reset). */
    boolean serverClosed() {
        try {
            return in.read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // connection reset
        }
    }

    /** True if the server closes the connection: unread bytes (a greeting, replies) are skipped up to end of stream. */
    boolean serverClosedAfterDraining() {
        try {
            while (in.read() >= 0) {
                // skip
            }
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // connection reset
        }
    }

    /** Half-closes the connection: the server sees end of stream, the client can still read. */
    void shutdownOutput() throws IOException {
        out.flush();
        if (socket instanceof Socket tcp) {
            tcp.shutdownOutput();
        } else {
            ((SocketChannel) socket).shutdownOutput();
        }
    }

    void writeRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (Exception e) {
            throw new UncheckedIOException(new IOException(e));
        }
    }
}
