package dev.scemu.nbd;

import dev.scemu.core.BlockDevice;
import dev.scemu.nbd.internal.Connection;
import dev.scemu.nbd.internal.ConnectionTable;
import dev.scemu.nbd.internal.ExportHandle;
import dev.scemu.nbd.internal.ExportRegistry;
import dev.scemu.nbd.internal.Listener;
import dev.scemu.nbd.internal.ServerConfig;
import dev.scemu.nbd.internal.ServerContext;
import dev.scemu.nbd.internal.ServerCounters;
import dev.scemu.nbd.internal.TlsCredentials;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An NBD server (fixed newstyle handshake) exporting {@link BlockDevice}s by name over TCP and/or a
 * unix domain socket. See {@code docs/nbd.md} for the protocol subset.
 *
 * <pre>{@code
 * try (NbdServer server = NbdServer.builder()
 *         .export("volume", device, "RAID-5 volume", false)
 *         .bindTcp(InetAddress.getLoopbackAddress(), 0)
 *         .start()) {
 *     int port = server.port();   // nbd://127.0.0.1:port/volume
 * }
 * }</pre>
 *
 * <h2>Threads</h2>
 * One accept thread per listening socket, and per connection a set of its own request threads
 * (nbdkit's "parallel" thread model): they take turns reading one request each from the socket,
 * execute it and write its reply themselves, so no request is handed from thread to thread. A
 * connection starts with one thread (the one that ran its handshake) and adds one whenever it reads
 * a request while none of its threads is waiting to read the next, up to
 * {@link Builder#threadsPerConnection} (default {@value #DEFAULT_THREADS_PER_CONNECTION}) and, over
 * all connections, {@link Builder#maxRequestThreads} added threads (default
 * {@value #DEFAULT_MAX_REQUEST_THREADS}); a thread idle for 30 s ends. Several requests of a
 * connection are in flight at once and may complete out of order ({@code Connection}).
 *
 * <h2>Exports while serving</h2>
 * {@link #addExport} makes an export listable and openable at once. {@link #removeExport} makes
 * new {@code NBD_OPT_GO}/{@code NBD_OPT_INFO} for it fail with {@code NBD_REP_ERR_UNKNOWN}
 * ({@code NBD_OPT_EXPORT_NAME} closes the connection); connections that have it open get
 * {@code ESHUTDOWN} for every request not yet executing and are closed after a short grace period;
 * it returns once no request runs on the export's device any more, so the caller may then close or
 * delete the device. {@link #removeExportIfUnused} does the same only when no client has the
 * export open, atomically (e.g. before a rollback of the volume). All of these are thread safe.
 *
 * <h2>Closing</h2>
 * {@link #close()} is idempotent: it stops listening, closes every connection (requests in flight
 * are abandoned) and removes the unix socket file. It does not close, flush or
 * otherwise touch the exports' devices: their owner does.
 */
public final class NbdServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(NbdServer.class);

    /** Largest READ/WRITE request accepted by default (2^25 bytes, the size every client may use). */
    public static final int DEFAULT_MAX_REQUEST_BYTES = 32 << 20;
    /** Requests of one connection in flight at once, by default. */
    public static final int DEFAULT_MAX_IN_FLIGHT_PER_CONNECTION = 32;
    /** Connections in transmission allowed at once, by default. */
    public static final int DEFAULT_MAX_CONNECTIONS = 64;
    /** Connections in the handshake allowed at once, by default (separate from the transmission slots). */
    public static final int DEFAULT_MAX_HANDSHAKES = 64;
    /** Longest time from accept to entering transmission, by default (qemu-nbd's default too). */
    public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    /** Most request threads one connection runs at once, by default (nbdkit's default too). */
    public static final int DEFAULT_THREADS_PER_CONNECTION = 16;
    /**
     * Most request threads all connections add to their first one, by default, whatever the number of
     * connections and their queue depth.
     */
    public static final int DEFAULT_MAX_REQUEST_THREADS = 256;
    /**
     * READ/WRITE payload bytes one connection may hold in flight (read and not yet answered), by
     * default: a client that pipelines 32 MiB reads and never reads the replies holds at most this.
     */
    public static final long DEFAULT_MAX_BUFFERED_BYTES_PER_CONNECTION = 64L << 20;
    /** READ/WRITE payload bytes all connections together may hold in flight, by default. */
    public static final long DEFAULT_MAX_BUFFERED_BYTES = 1L << 30;
    /** Longest time a reply write may make no progress before its connection is closed, by default. */
    public static final Duration DEFAULT_REPLY_STALL_TIMEOUT = Duration.ofSeconds(60);
    private static final long SHUTDOWN_TIMEOUT_MILLIS = 5_000;

    private final ExportRegistry exports;
    private final InetSocketAddress tcpAddress;
    private final Path unixPath;
    private final ServerConfig config;
    private final int maxRequestThreads;
    private final long maxBufferedBytes;
    private final ServerCounters counters = new ServerCounters();
    private final ConnectionTable table;
    private final TlsCredentials tls;
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private final List<Listener> listeners = new ArrayList<>();
    private final List<Thread> listenerThreads = new ArrayList<>();
    private final AtomicInteger connectionIds = new AtomicInteger();
    private ScheduledExecutorService timer;
    private ServerContext context;
    private int boundPort = -1;
    private boolean started;
    private boolean closed;
    /** Whether this server created the unix socket file (and so removes it on close). */
    private boolean unixSocketCreated;

    private NbdServer(Builder builder) {
        this.exports = new ExportRegistry(List.copyOf(builder.exports.values()));
        this.tcpAddress = builder.tcpAddress;
        this.unixPath = builder.unixPath;
        this.config = new ServerConfig(builder.maxRequestBytes, builder.maxInFlightPerConnection,
                Math.min(builder.threadsPerConnection, builder.maxInFlightPerConnection), builder.maxConnections,
                builder.maxHandshakes, builder.handshakeTimeout.toMillis(), builder.tlsMode,
                Math.max(builder.maxBufferedBytesPerConnection, builder.maxRequestBytes),
                builder.replyStallTimeout.toMillis());
        this.tls = builder.tlsCredentials;
        this.table = new ConnectionTable(config.maxHandshakes(), config.maxConnections());
        this.maxRequestThreads = builder.maxRequestThreads;
        this.maxBufferedBytes = Math.max(builder.maxBufferedBytes, builder.maxRequestBytes);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Closes every connection whose reply write has made no progress for {@code limitNanos} (the timer's task). */
    private void closeStalledConnections(long limitNanos) {
        long now = System.nanoTime();
        for (Connection connection : connections) {
            connection.closeIfRepliesStalled(now, limitNanos);
        }
    }

    /** Opens the listening sockets and starts accepting connections. */
    public synchronized NbdServer start() {
        if (started || closed) {
            throw new NbdException(NbdError.WRONG_STATE, "server is already " + (closed ? "closed" : "started"));
        }
        started = true;
        ScheduledThreadPoolExecutor timerPool = new ScheduledThreadPoolExecutor(1, daemonThreads("nbd-timer-"));
        timerPool.setRemoveOnCancelPolicy(true);
        timer = timerPool;
        context = new ServerContext(exports, config, counters, new Semaphore(maxRequestThreads), timer, table, tls,
                new Semaphore(Connection.kib(maxBufferedBytes), true));
        long stallMillis = config.replyStallTimeoutMillis();
        long checkMillis = Math.max(10, Math.min(1_000, stallMillis / 4));
        timer.scheduleWithFixedDelay(() -> closeStalledConnections(TimeUnit.MILLISECONDS.toNanos(stallMillis)),
                checkMillis, checkMillis, TimeUnit.MILLISECONDS);
        try {
            if (tcpAddress != null) {
                ServerSocketChannel tcp = bind(ServerSocketChannel.open(), tcpAddress);
                boundPort = ((InetSocketAddress) tcp.getLocalAddress()).getPort();
                startListener(tcp, "tcp " + tcpAddress.getAddress().getHostAddress() + ":" + boundPort);
            }
            if (unixPath != null) {
                removeStaleUnixSocket(unixPath);
                ServerSocketChannel unix = bind(ServerSocketChannel.open(StandardProtocolFamily.UNIX),
                        UnixDomainSocketAddress.of(unixPath));
                unixSocketCreated = true;
                startListener(unix, "unix " + unixPath);
            }
        } catch (NbdException e) {
            close();
            throw e;
        } catch (IOException | RuntimeException e) {
            close();
            throw new NbdException(NbdError.BIND_FAILED, "cannot listen on "
                    + (tcpAddress != null ? tcpAddress + " " : "") + (unixPath != null ? unixPath : "")
                    + ": " + e.getMessage(), e);
        }
        LOG.info("NBD server listening ({}) with exports {}, TLS {}", listeners.size() + " socket(s)",
                exports().stream().map(NbdExport::name).toList(),
                tls == null ? "off" : config.tlsMode() + " (" + tls.description() + ")");
        return this;
    }

    /** {@code S_IFMT} and {@code S_IFSOCK} of {@code st_mode}. */
    private static final int FILE_TYPE_MASK = 0170000;
    private static final int SOCKET_FILE_TYPE = 0140000;

    /**
     * Removes the socket file a dead server left at {@code path} ({@code kill -9} skips {@link #close},
     * so nothing removed it), as qemu-nbd does: a socket no process listens on refuses a connection.
     * Anything else at the path is left alone and {@code bind} fails on it: a file that is not a
     * socket, or a socket a live server accepts on.
     *
     * @throws NbdException {@link NbdError#BIND_FAILED} if a server listens on {@code path}, or the
     *     path exists and is not a socket
     */
    private static void removeStaleUnixSocket(Path path) throws IOException {
        int mode;
        try {
            mode = (Integer) Files.getAttribute(path, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
        } catch (java.nio.file.NoSuchFileException e) {
            return;
        } catch (UnsupportedOperationException e) {
            return; // no unix attributes: leave it to bind
        }
        if ((mode & FILE_TYPE_MASK) != SOCKET_FILE_TYPE) {
            throw new NbdException(NbdError.BIND_FAILED, "cannot listen on " + path
                    + ": it exists and is not a socket (not replacing it)");
        }
        try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(path))) {
            throw new NbdException(NbdError.BIND_FAILED, "cannot listen on " + path
                    + ": another server is listening on it");
        } catch (java.net.ConnectException refused) {
            LOG.info("removing the stale unix socket {} (no server listens on it)", path);
            Files.deleteIfExists(path);
        }
    }

    private static ServerSocketChannel bind(ServerSocketChannel channel, SocketAddress address) throws IOException {
        try {
            return channel.bind(address);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    private void startListener(ServerSocketChannel channel, String description) {
        Listener listener = new Listener(channel, description, this::accepted);
        listeners.add(listener);
        Thread thread = daemonThreads("nbd-accept-").newThread(listener);
        listenerThreads.add(thread);
        thread.start();
    }

    /** Registers a new connection in a handshake slot (closing the oldest handshake if they are all taken). */
    private void accepted(SocketChannel client) {
        String peer = "nbd-" + connectionIds.incrementAndGet();
        ConnectionTable.Member evicted;
        synchronized (this) {
            if (closed) {
                LOG.warn("{}: refused (server closed)", peer);
                closeQuietly(client);
                return;
            }
            Connection connection = new Connection(client, context, peer, this::connectionClosed);
            evicted = table.admit(connection);
            connections.add(connection);
            counters.connectionAccepted();
            if (evicted != null) {
                // counted before the newcomer's thread starts, so a client served on it finds the eviction counted
                counters.connectionEvicted();
            }
            connection.startHandshakeTimer();
            Thread thread = new Thread(connection, peer);
            thread.setDaemon(true);
            thread.start();
        }
        if (evicted instanceof Connection oldest) {
            oldest.evictFromHandshake();
        }
    }

    private void connectionClosed(Connection connection) {
        table.remove(connection);
        connections.remove(connection);
    }

    /** The TCP port the server listens on (the ephemeral one if it was bound to port 0). */
    public synchronized int port() {
        if (boundPort < 0) {
            throw new NbdException(NbdError.WRONG_STATE, "server is not listening on TCP");
        }
        return boundPort;
    }

    /** Whether TCP clients are offered or required to use TLS. */
    public NbdTlsMode tlsMode() {
        return config.tlsMode();
    }

    /** The unix domain socket the server listens on, if any. */
    public Optional<Path> unixSocketPath() {
        return Optional.ofNullable(unixPath);
    }

    /** The exports now, in registration order (the first one is the default export). */
    public List<NbdExport> exports() {
        return exports.all().stream().map(ExportHandle::export).toList();
    }

    /**
     * Adds an export while the server runs (or before it starts): listable and openable at once.
     *
     * @throws NbdException {@code INVALID_CONFIGURATION} if the name is taken or the device's block
     *         size exceeds the maximum request size
     */
    public void addExport(String name, BlockDevice device, String description, boolean readOnly) {
        addExport(new NbdExport(name, device, description, readOnly));
    }

    /** {@link #addExport(String, BlockDevice, String, boolean)} with a prepared export. */
    public void addExport(NbdExport export) {
        int blockBytes = export.device().blockSize();
        if (blockBytes > config.maxRequestBytes()) {
            throw new NbdException(NbdError.INVALID_CONFIGURATION, "block size " + blockBytes + " of export '"
                    + export.name() + "' exceeds the max request of " + config.maxRequestBytes() + " bytes");
        }
        if (exports.add(export) == null) {
            throw new NbdException(NbdError.INVALID_CONFIGURATION, "export '" + export.name() + "' already exists");
        }
        LOG.info("export '{}' added ({} bytes{})", export.name(), export.sizeBytes(),
                export.isReadOnly() ? ", read-only" : "");
    }

    /**
     * Removes an export. New handshakes no longer find it; connections that have it open get
     * {@code ESHUTDOWN} for every request that has not started executing and are closed after a
     * grace period of about a second (requests executing finish and are answered). Returns once no
     * request of this server runs on the export's device any more, so the caller may then close or
     * delete the device. The device itself is not touched.
     *
     * @return false if no export has this name
     */
    public boolean removeExport(String name) {
        ExportHandle handle = exports.remove(name, false);
        if (handle == null) {
            return false;
        }
        handle.awaitIdle();
        LOG.info("export '{}' removed", name);
        return true;
    }

    /**
     * Removes an export only if no client has it open (in transmission), atomically: a client that
     * finishes its handshake concurrently either holds it open first (nothing is removed) or is
     * refused. Returns as {@link #removeExport} does.
     *
     * @return true if the export was removed; false if there is none or a client has it open
     */
    public boolean removeExportIfUnused(String name) {
        ExportHandle handle = exports.remove(name, true);
        if (handle == null) {
            return false;
        }
        handle.awaitIdle();
        LOG.info("export '{}' removed (unused)", name);
        return true;
    }

    /** Connections in the transmission phase on the export {@code exportName} now; 0 if there is no such export. */
    public int openConnections(String exportName) {
        ExportHandle handle = exports.get(exportName);
        return handle == null ? 0 : handle.openConnections();
    }

    /** Whether any client has the export open (in transmission) now. */
    public boolean hasOpenConnections(String exportName) {
        return openConnections(exportName) > 0;
    }

    /** A copy of the server's counters. */
    public NbdStats stats() {
        return counters.snapshot(connections.size(), table.handshaking());
    }

    @Override
    public void close() {
        List<Connection> open;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            table.close();
            listeners.forEach(Listener::close);
            open = new ArrayList<>(connections);
        }
        try {
            for (Connection connection : open) {
                connection.shutdown(SHUTDOWN_TIMEOUT_MILLIS);
            }
            for (Thread thread : listenerThreads) {
                thread.join(SHUTDOWN_TIMEOUT_MILLIS);
            }
            if (timer != null) {
                timer.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (unixSocketCreated) {
                try {
                    Files.deleteIfExists(unixPath);
                } catch (IOException e) {
                    LOG.warn("cannot remove unix socket {}: {}", unixPath, e.toString());
                }
            }
        }
    }

    private static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger ids = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, prefix + ids.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException e) {
            // nothing to do
        }
    }

    /** Configuration of an {@link NbdServer}: exports, listening sockets and limits. */
    public static final class Builder {
        private final Map<String, NbdExport> exports = new LinkedHashMap<>();
        private InetSocketAddress tcpAddress;
        private Path unixPath;
        private int maxRequestBytes = DEFAULT_MAX_REQUEST_BYTES;
        private int maxInFlightPerConnection = DEFAULT_MAX_IN_FLIGHT_PER_CONNECTION;
        private int maxConnections = DEFAULT_MAX_CONNECTIONS;
        private int maxHandshakes = DEFAULT_MAX_HANDSHAKES;
        private Duration handshakeTimeout = DEFAULT_HANDSHAKE_TIMEOUT;
        private NbdTlsMode tlsMode = NbdTlsMode.OFF;
        private Path tlsCertificates;
        private boolean tlsVerifyPeer;
        private boolean insecure;
        private TlsCredentials tlsCredentials;
        private int threadsPerConnection = DEFAULT_THREADS_PER_CONNECTION;
        private int maxRequestThreads = DEFAULT_MAX_REQUEST_THREADS;
        private long maxBufferedBytesPerConnection = DEFAULT_MAX_BUFFERED_BYTES_PER_CONNECTION;
        private long maxBufferedBytes = DEFAULT_MAX_BUFFERED_BYTES;
        private Duration replyStallTimeout = DEFAULT_REPLY_STALL_TIMEOUT;

        private Builder() {
        }

        /** Adds an export; the first one added is also the default export (empty name). */
        public Builder export(String name, BlockDevice device, String description, boolean readOnly) {
            return export(new NbdExport(name, device, description, readOnly));
        }

        /** Adds a writable export without description (read-only if the device is). */
        public Builder export(String name, BlockDevice device) {
            return export(name, device, "", false);
        }

        public Builder export(NbdExport export) {
            if (exports.putIfAbsent(export.name(), export) != null) {
                throw new NbdException(NbdError.INVALID_CONFIGURATION, "export '" + export.name() + "' is defined twice");
            }
            return this;
        }

        /** Listens on TCP at {@code address}; port 0 picks an ephemeral port (see {@link NbdServer#port()}). */
        public Builder bindTcp(InetAddress address, int port) {
            if (port < 0 || port > 65535) {
                throw new NbdException(NbdError.INVALID_CONFIGURATION, "TCP port " + port + " is out of range");
            }
            this.tcpAddress = new InetSocketAddress(address, port);
            return this;
        }

        /** Listens on a unix domain socket created at {@code path} (which must not exist). */
        public Builder bindUnix(Path path) {
            this.unixPath = path;
            return this;
        }

        /** Largest READ/WRITE payload (advertised as maximum block size); at least 1 MiB. */
        public Builder maxRequestBytes(int bytes) {
            if (bytes < (1 << 20)) {
                throw new NbdException(NbdError.INVALID_CONFIGURATION, "max request " + bytes + " bytes is below 1 MiB");
            }
            this.maxRequestBytes = bytes;
            return this;
        }

        public Builder maxInFlightPerConnection(int requests) {
            if (requests < 1) {
                throw new NbdException(NbdError.INVALID_CONFIGURATION, "in-flight requests " + requests + " < 1");
            }
            this.maxInFlightPerConnection = requests;
            return this;
        }

        /**
         * Connections in transmission at once. When they are all taken, a client finishing its
         * handshake evicts the connection idle longest (see {@code docs/nbd.md}, "Connection limits").
         */
        public Builder maxConnections(int count) {
            if (count < 1) {
                throw new NbdException(NbdError.INVALID_CONFIGURATION, "max connections " + count + " < 1");
            }
            this.maxConnections = count;
            return this;
        }

        /**
         * Connections in the handshake at once, separate from {@link #maxConnections}. When they are
         * all taken, a new connection closes the one that has been in the handshake longest.
         */
        public Builder maxHandshakes(int count) {
            if (count < 1) {
                throw new NbdException(NbdError.INVALID_CONFIGURATION, "max handshakes " + count + " < 1");
            }
            this.maxHandshakes = count;
            return this;
        }

        /** Longest time from accept to entering transmission; the connection is closed after it. At least 1 ms. */
        public Builder handshakeTimeout(Duration timeout) {
            if (timeout == null || timeout.toMillis() < 1) {
                throw new NbdException(NbdError.INVALID_CONFIGURATION, "handshake timeout " + timeout
                        + " is shorter than 1 ms");
            }
            this.handshakeTimeout = timeout;
            return this;
        }

        /**
         * Most request threads of one connection (default {@value NbdServer#DEFAULT_THREADS_PER_CONNECTION},
         * never more than {@link #maxInFlightPerConnection}): the most requests of one client executing at once.
         */
        public Builder threadsPerConnection(int threads) {
            if (threads < 1) {
                throw new NbdException(NbdError.INVALID_CONFIGURATION, "threads per connection " + threads + " < 1");
            }
            this.threadsPerConnection = threads;
            return this;
        }

        /**
         * Most request threads all connections together add to their first thread (default
         * {@value NbdServer#DEFAULT_MAX_REQUEST_THREADS}); at the cap a connection shares the threads
         * it has, and 0 leaves every connection one thread.
         */
        public Builder maxRequestThreads(int threads) {
            if (threads < 0) {
                throw new NbdException(NbdError.INVALID_CONFIGURATION, "max request threads " + threads + " < 0");
            }
            this.maxRequestThreads = threads;
            return this;
        }

        /**
         * READ/WRITE payload bytes one connection may hold in flight (default
         * {@value NbdServer#DEFAULT_MAX_BUFFERED_BYTES_PER_CONNECTION}; never less than the largest
         * request): a connection at its budget reads its next request once a reply has gone out,
         * so a client that stops reading its replies holds no more than this.
         */
        public Builder maxBufferedBytesPerConnection(long bytes) {
            if (bytes < 1 || bytes > Integer.MAX_VALUE * 1024L) {
                throw new NbdException(NbdError.INVALID_CONFIGURATION, "max buffered bytes per connection " + bytes
                        + " is out of range [1, 2 TiB]");
            }
            this.maxBufferedBytesPerConnection = bytes;
            return this;
        }

        /**
         * READ/WRITE payload bytes all connections together may hold in flight (default
         * {@value NbdServer#DEFAULT_MAX_BUFFERED_BYTES}; never less than the largest request): the
         * bound on the request buffers' memory, however many clients pipeline large requests.
         */
        public Builder maxBufferedBytes(long bytes) {
            if (bytes < 1 || bytes > Integer.MAX_VALUE * 1024L) {
                throw new NbdException(NbdError.INVALID_CONFIGURATION, "max buffered bytes " + bytes
                        + " is out of range [1, 2 TiB]");
            }
            this.maxBufferedBytes = bytes;
            return this;
        }

        /**
         * Longest time a reply write may make no progress (default 60 s) before the connection is
         * closed: a client that stops reading its replies would otherwise keep its threads and its
         * payload budget, and enough such clients the server's budget, for as long as it stays
         * connected. At least 1 ms.
         */
        public Builder replyStallTimeout(Duration timeout) {
            if (timeout == null || timeout.toMillis() < 1) {
                throw new NbdException(NbdError.INVALID_CONFIGURATION, "reply stall timeout " + timeout
                        + " is shorter than 1 ms");
            }
            this.replyStallTimeout = timeout;
            return this;
        }

        /**
         * TLS with X.509 credentials from {@code certificatesDirectory} ({@code ca-cert.pem},
         * {@code server-cert.pem}, {@code server-key.pem}, as nbdkit and qemu lay them out); {@code mode}
         * has nbdkit's meaning of {@code --tls=off|on|require}. Loaded by {@link #build()}.
         */
        public Builder tls(NbdTlsMode mode, Path certificatesDirectory) {
            this.tlsMode = java.util.Objects.requireNonNull(mode, "mode");
            this.tlsCertificates = certificatesDirectory;
            return this;
        }

        /** Requires a client certificate signed by a CA of {@code ca-cert.pem} (default: not required). */
        public Builder tlsVerifyPeer(boolean verify) {
            this.tlsVerifyPeer = verify;
            return this;
        }

        /**
         * Allows listening on a TCP address other than loopback without {@link NbdTlsMode#REQUIRE}
         * (refused otherwise: every host that reaches the address could read and write the exports).
         */
        public Builder insecure(boolean allow) {
            this.insecure = allow;
            return this;
        }

        public NbdServer build() {
            if (exports.isEmpty()) {
                throw new NbdException(NbdError.INVALID_CONFIGURATION, "no export defined");
            }
            if (tcpAddress == null && unixPath == null) {
                throw new NbdException(NbdError.INVALID_CONFIGURATION, "no listener: call bindTcp or bindUnix");
            }
            Set<Integer> blockSizes = new HashSet<>();
            exports.values().forEach(e -> blockSizes.add(e.device().blockSize()));
            int largestBlock = blockSizes.stream().mapToInt(Integer::intValue).max().orElse(0);
            if (largestBlock > maxRequestBytes) {
                throw new NbdException(NbdError.INVALID_CONFIGURATION, "block size " + largestBlock
                        + " exceeds the max request of " + maxRequestBytes + " bytes");
            }
            if (tlsMode != NbdTlsMode.OFF && tlsCertificates == null) {
                throw new NbdException(NbdError.INVALID_CONFIGURATION, "TLS " + tlsMode
                        + " needs a certificates directory (ca-cert.pem, server-cert.pem, server-key.pem)");
            }
            if (tlsMode == NbdTlsMode.OFF && (tlsCertificates != null || tlsVerifyPeer)) {
                throw new NbdException(NbdError.INVALID_CONFIGURATION,
                        "TLS credentials or peer verification given but TLS is OFF");
            }
            if (tcpAddress != null && !tcpAddress.getAddress().isLoopbackAddress() && tlsMode != NbdTlsMode.REQUIRE
                    && !insecure) {
                throw new NbdException(NbdError.INVALID_CONFIGURATION, "refusing to listen on "
                        + tcpAddress.getAddress().getHostAddress() + " without TLS required: every host that"
                        + " reaches it could read and write the exports (require TLS, or allow it as insecure)");
            }
            tlsCredentials = tlsMode == NbdTlsMode.OFF ? null : TlsCredentials.load(tlsCertificates, tlsVerifyPeer);
            return new NbdServer(this);
        }

        /** {@link #build()} then {@link NbdServer#start()}. */
        public NbdServer start() {
            return build().start();
        }
    }
}
