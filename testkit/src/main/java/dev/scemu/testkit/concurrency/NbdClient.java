package dev.scemu.testkit.concurrency;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * A minimal blocking NBD client (fixed newstyle, {@code NBD_OPT_GO}, simple replies, one request at
 * a time) as a {@link ConcurrencyTarget.Client}: the checker's NBD variant gives every worker its
 * own connection. Written from the protocol document, independent of the nbd module's server code.
 * An error reply is an {@link IOException} naming the errno; the connection stays usable.
 */
public final class NbdClient implements ConcurrencyTarget.Client {

    private static final long NBDMAGIC = 0x4e42444d41474943L;
    private static final long IHAVEOPT = 0x49484156454F5054L;
    private static final long OPTION_REPLY_MAGIC = 0x3e889045565a9L;
    private static final int REQUEST_MAGIC = 0x25609513;
    private static final int SIMPLE_REPLY_MAGIC = 0x67446698;
    private static final int FLAG_C_FIXED_NEWSTYLE = 1;
    private static final int FLAG_C_NO_ZEROES = 2;
    private static final int OPT_GO = 7;
    private static final int REP_ACK = 1;
    private static final int REP_INFO = 3;
    private static final int INFO_EXPORT = 0;
    private static final int CMD_READ = 0;
    private static final int CMD_WRITE = 1;
    private static final int CMD_DISC = 2;
    private static final int CMD_FLUSH = 3;
    private static final int CMD_FLAG_FUA = 1;
    private static final int TIMEOUT_MILLIS = 60_000;

    private final Socket socket;
    private final DataInputStream in;
    private final DataOutputStream out;
    private final int blockSize;
    private long exportSize = -1;
    private long nextHandle = 1;
    private byte[] scratch = new byte[0];
    private boolean closed;

    private NbdClient(Socket socket, int blockSize) throws IOException {
        this.socket = socket;
        this.blockSize = blockSize;
        this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream(), 1 << 16));
        this.out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream(), 1 << 16));
        greet();
    }

    /** Connects to {@code address}, enters transmission on {@code export}; requests are in units of {@code blockSize}. */
    public static NbdClient connect(InetSocketAddress address, String export, int blockSize) throws IOException {
        Socket socket = new Socket();
        try {
            socket.connect(address, TIMEOUT_MILLIS);
            socket.setSoTimeout(TIMEOUT_MILLIS);
            socket.setTcpNoDelay(true);
            NbdClient client = new NbdClient(socket, blockSize);
            client.goExport(export);
            return client;
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    private void greet() throws IOException {
        if (in.readLong() != NBDMAGIC || in.readLong() != IHAVEOPT) {
            throw new IOException("not an NBD fixed-newstyle server");
        }
        in.readUnsignedShort(); // handshake flags
        out.writeInt(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES);
    }

    private void goExport(String export) throws IOException {
        byte[] name = export.getBytes(StandardCharsets.UTF_8);
        out.writeLong(IHAVEOPT);
        out.writeInt(OPT_GO);
        out.writeInt(4 + name.length + 2);
        out.writeInt(name.length);
        out.write(name);
        out.writeShort(0);
        out.flush();
        while (true) {
            if (in.readLong() != OPTION_REPLY_MAGIC) {
                throw new IOException("bad option reply magic");
            }
            in.readInt(); // option
            int type = in.readInt();
            int length = in.readInt();
            byte[] data = in.readNBytes(length);
            if (type == REP_ACK) {
                return;
            }
            if (type < 0) {
                throw new IOException("NBD_OPT_GO '" + export + "' refused: 0x" + Integer.toHexString(type) + " "
                        + new String(data, StandardCharsets.UTF_8));
            }
            if (type == REP_INFO && length >= 12 && ByteBuffer.wrap(data).getShort() == INFO_EXPORT) {
                exportSize = ByteBuffer.wrap(data).getLong(2);
            }
        }
    }

    /** Size of the export in bytes, as the server announced it. */
    public long exportSize() {
        return exportSize;
    }

    @Override
    public void read(long lba, int blocks, ByteBuffer buffer) throws IOException {
        int length = blocks * blockSize;
        long handle = send(CMD_READ, 0, lba, length, null);
        receive(handle, "read lba " + lba + "+" + blocks);
        byte[] data = scratch(length);
        in.readFully(data, 0, length);
        buffer.put(0, data, 0, length);
    }

    @Override
    public void write(long lba, int blocks, ByteBuffer buffer, boolean fua) throws IOException {
        int length = blocks * blockSize;
        byte[] data = scratch(length);
        buffer.get(0, data, 0, length);
        long handle = send(CMD_WRITE, fua ? CMD_FLAG_FUA : 0, lba, length, data);
        receive(handle, "write lba " + lba + "+" + blocks + (fua ? " FUA" : ""));
    }

    @Override
    public void flush() throws IOException {
        receive(send(CMD_FLUSH, 0, 0, 0, null), "flush");
    }

    private byte[] scratch(int length) {
        if (scratch.length < length) {
            scratch = new byte[length];
        }
        return scratch;
    }

    private long send(int type, int flags, long lba, int length, byte[] payload) throws IOException {
        long handle = nextHandle++;
        out.writeInt(REQUEST_MAGIC);
        out.writeShort(flags);
        out.writeShort(type);
        out.writeLong(handle);
        out.writeLong(lba * blockSize);
        out.writeInt(length);
        if (payload != null) {
            out.write(payload, 0, length);
        }
        out.flush();
        return handle;
    }

    private void receive(long handle, String what) throws IOException {
        int magic = in.readInt();
        if (magic != SIMPLE_REPLY_MAGIC) {
            throw new IOException(what + ": unexpected reply magic 0x" + Integer.toHexString(magic));
        }
        int error = in.readInt();
        long replyHandle = in.readLong();
        if (replyHandle != handle) {
            throw new IOException(what + ": reply for handle " + replyHandle + ", expected " + handle);
        }
        if (error != 0) {
            throw new IOException(what + ": NBD error " + error);
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            out.writeInt(REQUEST_MAGIC);
            out.writeShort(0);
            out.writeShort(CMD_DISC);
            out.writeLong(nextHandle++);
            out.writeLong(0);
            out.writeInt(0);
            out.flush();
        } catch (IOException e) {
            // the server may be gone (closed after a cut): nothing to say goodbye to
        }
        try {
            socket.close();
        } catch (IOException e) {
            // closing anyway
        }
    }
}
