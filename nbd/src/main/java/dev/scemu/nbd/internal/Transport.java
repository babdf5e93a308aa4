package dev.scemu.nbd.internal;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SocketChannel;
import javax.net.ssl.SSLSocket;

/**
 * The byte streams of one connection: the socket channel itself, or, after
 * {@code NBD_OPT_STARTTLS}, a TLS socket layered on it. The handshake, then the connection's request
 * threads use {@link #in()} under the connection's read lock and {@link #out()} under its write lock
 * ({@link ReplyWriter}); {@code SSLSocket} allows one reading and one writing thread at once. Shutting input down and hard closing always act on the
 * underlying channel, so they never wait for a TLS lock held by a blocked writer.
 */
final class Transport {

    /** Bytes staged before they are handed to TLS as one record (small reply headers would each make a record). */
    private static final int TLS_STAGING_BYTES = 64 << 10;

    private final SocketChannel channel;
    private final boolean tcp;
    private volatile SSLSocket tls;
    private volatile ReadableByteChannel in;
    private volatile GatheringByteChannel out;

    Transport(SocketChannel channel) throws IOException {
        this.channel = channel;
        this.tcp = channel.getRemoteAddress() instanceof InetSocketAddress;
        this.in = channel;
        this.out = channel;
    }

    ReadableByteChannel in() {
        return in;
    }

    GatheringByteChannel out() {
        return out;
    }

    /** Whether the connection came over TCP (TLS is offered on TCP only). */
    boolean tcp() {
        return tcp;
    }

    boolean tlsActive() {
        return tls != null;
    }

    /** Protocol, cipher suite and client certificate subject of the TLS session. */
    String tlsSession() {
        SSLSocket socket = tls;
        if (socket == null) {
            return "none";
        }
        String peer;
        try {
            peer = socket.getSession().getPeerPrincipal().getName();
        } catch (IOException e) {
            peer = "no client certificate";
        }
        return socket.getSession().getProtocol() + " " + socket.getSession().getCipherSuite() + " (" + peer + ")";
    }

    /** Runs the TLS handshake; from then on {@link #in()} and {@link #out()} are the TLS streams. */
    void startTls(TlsCredentials credentials) throws IOException {
        SSLSocket socket = credentials.handshake(channel);
        in = Channels.newChannel(socket.getInputStream());
        out = new StagedOutput(socket.getOutputStream());
        tls = socket;
    }

    /**
     * Ends the TLS session with close_notify (the spec: shut TLS down before closing); the caller
     * then closes the channel.
     * Only for a connection whose replies have all been written; a peer that does not read could block the
     * close_notify, so the caller bounds it (the server's timer closes the channel).
     */
    void closeTls() {
        SSLSocket socket = tls;
        if (socket != null && channel.isOpen()) {
            try {
                // close_notify alone: SSLSocket.close() would precede it with a user_canceled alert
                // under TLS 1.3, which GnuTLS clients (nbdinfo, qemu) report as a fatal alert
                socket.shutdownOutput();
            } catch (IOException e) {
                // the caller closes the channel anyway
            }
        }
    }

    /** A gathering channel over the TLS output stream that hands TLS large chunks. Used by one thread at a time. */
    private static final class StagedOutput implements GatheringByteChannel {
        private final OutputStream stream;
        private final byte[] staging = new byte[TLS_STAGING_BYTES];
        private volatile boolean open = true;

        StagedOutput(OutputStream stream) {
            this.stream = stream;
        }

        @Override
        public synchronized long write(ByteBuffer[] sources, int offset, int length) throws IOException {
            long total = 0;
            int filled = 0;
            for (int i = offset; i < offset + length; i++) {
                ByteBuffer source = sources[i];
                while (source.hasRemaining()) {
                    int n = Math.min(source.remaining(), staging.length - filled);
                    source.get(staging, filled, n);
                    filled += n;
                    total += n;
                    if (filled == staging.length) {
                        stream.write(staging, 0, filled);
                        filled = 0;
                    }
                }
            }
            if (filled > 0) {
                stream.write(staging, 0, filled);
            }
            stream.flush();
            return total;
        }

        @Override
        public long write(ByteBuffer[] sources) throws IOException {
            return write(sources, 0, sources.length);
        }

        @Override
        public int write(ByteBuffer source) throws IOException {
            return (int) write(new ByteBuffer[] {source}, 0, 1);
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        public void close() throws IOException {
            open = false;
            stream.close();
        }
    }
}
