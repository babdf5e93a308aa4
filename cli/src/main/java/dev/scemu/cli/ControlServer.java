package dev.scemu.cli;

import dev.scemu.nbd.NbdServer;
import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.unit.StorageControlUnit;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.Writer;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control channel of a running {@code serve}: a unix domain socket (see {@link ControlSocket}
 * for where; mode 0600, peers of another user refused) on which other {@code scemu} processes ask
 * the serving process to run a live command against the unit it owns ({@link ControlProtocol}; the
 * commands in {@link LiveControl#LIVE_COMMANDS}). See docs/control.md.
 *
 * <p>Threads: one thread accepts and runs the requests one after the other, so live commands never
 * overlap each other (they do overlap NBD I/O, which the unit serves concurrently). {@link #close}
 * stops accepting, lets a running command finish (up to a minute) and removes the socket.
 *
 * <p>A request must arrive whole within {@link #requestTimeout} of its connection being accepted,
 * else the connection is closed: a client that connects and then stalls (a {@code scemu} process
 * stopped mid-request, anything else of the same user) would otherwise hold the one control thread,
 * so every later live command waited forever and {@code serve}'s stop waited its full minute. A
 * request still being received when serve stops is dropped at once.
 *
 * <p>While a command runs, its connection gets an empty {@code err} frame every
 * {@link #keepaliveInterval} (unless output is pending): a client that hears nothing for
 * {@link LiveControl#silenceLimit} takes serve for stopped or hung and gives up, where it used to
 * wait forever (a {@code kill -STOP} of serve, found by the edge sweep).
 */
final class ControlServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ControlServer.class);
    /** Environment of the request being run (only on the control thread). */
    private static final ThreadLocal<Map<String, String>> REQUEST_ENV = new ThreadLocal<>();
    /** How long a connection has to send its whole request (a test may shorten it). */
    static volatile Duration requestTimeout = Duration.ofSeconds(10);
    /**
     * How often a running command's connection gets an empty {@code err} frame: the client's sign that serve is alive ({@link LiveControl#silenceLimit}); a test
     * may shorten it.
     */
    static volatile Duration keepaliveInterval = Duration.ofSeconds(5);

    private final Path directory;
    private final Path socket;
    private final ServerSocketChannel channel;
    private final ExecutorService thread;
    /** Closes a connection whose request did not arrive in time. */
    private final ScheduledExecutorService deadlines;
    /** The connection whose request is being received, if any (closed by {@link #close}). */
    private volatile SocketChannel receiving;
    /** Set first thing by {@link #close}: a request whose receiving starts afterwards is dropped. */
    private volatile boolean stopping;
    private final Live live;
    private final Function<String, String> previousEnvironment;
    private boolean closed;

    private ControlServer(Path directory, Path socket, ServerSocketChannel channel, Live live) {
        this.directory = directory;
        this.socket = socket;
        this.channel = channel;
        this.live = live;
        this.thread = Executors.newSingleThreadExecutor(runnable -> {
            Thread t = new Thread(runnable, "scemu-control");
            t.setDaemon(true);
            return t;
        });
        this.deadlines = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread t = new Thread(runnable, "scemu-control-deadline");
            t.setDaemon(true);
            return t;
        });
        this.previousEnvironment = BackupCommand.environment;
        BackupCommand.environment = name -> {
            Map<String, String> env = REQUEST_ENV.get();
            return env != null ? env.get(name) : previousEnvironment.apply(name);
        };
        thread.execute(this::acceptLoop);
    }

    /**
     * Listens for live commands on the unit in {@code dir}, which this process owns ({@code unit})
     * and serves ({@code nbd}).
     */
    static ControlServer start(Path dir, StorageControlUnit unit, NbdServer nbd) {
        Path realDir;
        try {
            realDir = dir.toRealPath();
        } catch (IOException e) {
            throw new CliException("cannot resolve " + dir + ": " + e.getMessage());
        }
        Path socket = ControlSocket.path(realDir);
        ControlSocket.preparePrivateParent(socket);
        ServerSocketChannel channel = null;
        try {
            Files.deleteIfExists(socket); // we own the unit's lock: a socket file here is a dead owner's
            channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            channel.bind(UnixDomainSocketAddress.of(socket));
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException e) {
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw new CliException("cannot listen on control socket " + socket + ": " + e.getMessage());
        }
        return new ControlServer(realDir, socket, channel, new Live(realDir, unit, nbd, new java.util.concurrent.CompletableFuture<>()));
    }

    Path socketPath() {
        return socket;
    }

    private void acceptLoop() {
        while (true) {
            SocketChannel client;
            try {
                client = channel.accept();
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                LOG.warn("control socket {}: accept failed: {}", socket, e.toString());
                return;
            }
            try (client) {
                if (!samePeerUser(client)) {
                    LOG.warn("control socket {}: refused a peer of another user", socket);
                    continue;
                }
                serve(client);
            } catch (IOException | RuntimeException e) {
                LOG.warn("control socket {}: request failed: {}", socket, e.toString());
            }
        }
    }

    private static boolean samePeerUser(SocketChannel client) {
        try {
            var principal = client.getOption(jdk.net.ExtendedSocketOptions.SO_PEERCRED);
            return principal.user().getName().equals(System.getProperty("user.name"));
        } catch (UnsupportedOperationException | IOException e) {
            return true; // no peer credentials on this platform: the socket's mode 0600 is the guard
        }
    }

    private void serve(SocketChannel client) throws IOException {
        InputStream in = Channels.newInputStream(client);
        OutputStream out = Channels.newOutputStream(client);
        ControlProtocol.Request request;
        Duration timeout = requestTimeout;
        ScheduledFuture<?> deadline = deadlines.schedule(() -> closeQuietly(client), timeout.toMillis(),
                TimeUnit.MILLISECONDS);
        receiving = client;
        if (stopping) {
            closeQuietly(client); // close() may have looked at receiving just before it was set
        }
        try {
            request = ControlProtocol.readRequest(in);
        } catch (IOException e) {
            if (!client.isOpen()) {
                LOG.warn("control socket {}: closed a connection whose request did not arrive within {} ms"
                        + " (or serve stops)", socket, timeout.toMillis());
                return;
            }
            respond(out, "err", "scemu: bad control request: " + e.getMessage() + "\n", 2);
            return;
        } finally {
            receiving = null;
            deadline.cancel(false);
        }
        Path cwd = Path.of(request.cwd());
        String command = String.join(" ", LiveControl.commandWords(request.args()));
        Path target = LiveControl.liveTarget(cwd, request.args().toArray(String[]::new));
        if (target == null || !directory.equals(realPathOrNull(target))) {
            respond(out, "err", "scemu: '" + command + "' is not a live command on " + directory
                    + " (live: " + String.join(", ", LiveControl.LIVE_COMMANDS) + ")\n", 2);
            return;
        }
        LOG.info("control: running '{}' live", command);
        Object lock = new Object();
        FrameWriter stdout = new FrameWriter(out, "out", lock);
        FrameWriter stderr = new FrameWriter(out, "err", lock);
        int status;
        LiveUnit.Holder.CURRENT.set(live);
        REQUEST_ENV.set(request.env());
        long keepaliveMillis = Math.max(1, keepaliveInterval.toMillis());
        ScheduledFuture<?> keepalive = deadlines.scheduleAtFixedRate(stderr::keepalive, keepaliveMillis,
                keepaliveMillis, TimeUnit.MILLISECONDS);
        try {
            status = Main.execute(new PrintWriter(stdout, true), new PrintWriter(stderr, true), cwd,
                    request.args().toArray(String[]::new));
        } finally {
            keepalive.cancel(false);
            LiveUnit.Holder.CURRENT.remove();
            REQUEST_ENV.remove();
        }
        stdout.flush();
        stderr.flush();
        synchronized (lock) {
            stderr.endKeepalives(); // a keepalive that raced with the cancel finds the exit sent
            out.write(("exit " + status + "\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }
    }

    private static void closeQuietly(SocketChannel client) {
        try {
            client.close();
        } catch (IOException e) {
            LOG.debug("control socket: close failed: {}", e.toString());
        }
    }

    private static Path realPathOrNull(Path path) {
        try {
            return path.toRealPath();
        } catch (IOException e) {
            return null;
        }
    }

    private static void respond(OutputStream out, String stream, String text, int status) throws IOException {
        ControlProtocol.writeField(out, stream, text);
        out.write(("exit " + status + "\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /**
     * Stops accepting, tells a running command that serve stops ({@link LiveUnit#stopping}), waits
     * for it (up to a minute), removes the socket. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        stopping = true;
        live.stopping().complete(null); // a live command waiting for background work returns now
        try {
            channel.close();
        } catch (IOException e) {
            LOG.warn("control socket {}: close failed: {}", socket, e.toString());
        }
        SocketChannel stalled = receiving;
        if (stalled != null) {
            closeQuietly(stalled); // a request not yet received is not a running command: not waited for
        }
        thread.shutdown();
        try {
            if (!thread.awaitTermination(60, TimeUnit.SECONDS)) {
                LOG.warn("control socket {}: a live command still runs after 60 s", socket);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        deadlines.shutdownNow(); // after the command: its keepalives go on while it finishes
        BackupCommand.environment = previousEnvironment;
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            LOG.warn("control socket {}: cannot remove it: {}", socket, e.toString());
        }
    }

    /** A Writer that sends what it holds as one frame of {@link ControlProtocol} at each flush. */
    private static final class FrameWriter extends Writer {
        private final OutputStream out;
        private final String name;
        private final Object lock;
        private final StringBuilder pending = new StringBuilder();
        private boolean broken;
        private boolean keepalivesEnded;

        FrameWriter(OutputStream out, String name, Object lock) {
            this.out = out;
            this.name = name;
            this.lock = lock;
        }

        @Override
        public void write(char[] buffer, int offset, int length) throws IOException {
            synchronized (lock) {
                pending.append(buffer, offset, length);
                if (pending.length() >= 8192) {
                    flush();
                }
            }
        }

        @Override
        public void flush() {
            synchronized (lock) {
                if (pending.isEmpty()) {
                    return;
                }
                String text = pending.toString();
                pending.setLength(0);
                if (broken) {
                    return;
                }
                try {
                    ControlProtocol.writeField(out, name, text);
                    out.flush();
                } catch (IOException e) {
                    broken = true; // the client went away: the command still finishes on the unit
                    LOG.warn("control: client gone, output dropped: {}", e.toString());
                }
            }
        }

        /**
         * Sends an empty frame if nothing else is pending: the client's sign that serve is alive
         * while the command is silent (the relay prints nothing for it).
         */
        void keepalive() {
            synchronized (lock) {
                if (broken || keepalivesEnded || !pending.isEmpty()) {
                    return;
                }
                try {
                    ControlProtocol.writeField(out, name, "");
                    out.flush();
                } catch (IOException e) {
                    broken = true;
                    LOG.warn("control: client gone, output dropped: {}", e.toString());
                }
            }
        }

        /** No keepalive after this (caller holds the lock, about to send the exit frame). */
        void endKeepalives() {
            keepalivesEnded = true;
        }

        @Override
        public void close() {
            flush();
        }
    }

    /** The served unit as live commands see it. */
    private record Live(Path directory, StorageControlUnit unit, NbdServer nbd,
                        java.util.concurrent.CompletableFuture<Void> stopping) implements LiveUnit {

        @Override
        public void exportSnapshot(SnapshotInfo info) {
            nbd.addExport(ServeCommand.snapshotExportName(info), unit.snapshots().snapshot(info.id()),
                    ServeCommand.snapshotDescription(info), true);
        }

        @Override
        public void unexportSnapshot(SnapshotInfo info) {
            nbd.removeExport(ServeCommand.snapshotExportName(info));
        }

        @Override
        public void whileVolumeUnused(Runnable action) {
            int open = nbd.openConnections(ServeCommand.VOLUME_EXPORT);
            if (open > 0) {
                throw new CliException(dev.scemu.core.ErrorCategory.BUSY, // retry later: a status scripts can act on
                        "refused while serving: " + open + " client(s) have the volume export open;"
                        + " disconnect them (or stop 'scemu serve') and retry");
            }
            action.run();
        }
    }
}
