package dev.scemu.cli;

import dev.scemu.nbd.NbdServer;
import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.unit.StorageControlUnit;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code scemu serve DIR}: exports the volume ({@code volume}, read-write; read-only while it is
 * marked "restore incomplete") and every snapshot ({@code snap-<id>}, read-only) over NBD until
 * interrupted; then closes the unit cleanly.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve the volume and its snapshots as NBD exports until interrupted (Ctrl-C).")
final class ServeCommand implements Callable<Integer> {

    /**
     * Test hook: when set, called with the running server instead of waiting for an interrupt;
     * the command shuts down when it returns.
     */
    static volatile Consumer<NbdServer> testHook;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "Directory of the unit.")
    Path dir;

    @ArgGroup(exclusive = true)
    Listen listen;

    static final class Listen {
        @Option(names = "--port", paramLabel = "PORT", description = "TCP port (default: 10809).")
        Integer port;

        @Option(names = "--socket", paramLabel = "PATH", description = "Listen on a unix socket instead of TCP.")
        Path socket;
    }

    @Option(names = "--bind", paramLabel = "ADDRESS", defaultValue = "127.0.0.1",
            description = "TCP address to listen on (default: ${DEFAULT-VALUE}).")
    String bind;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        Integer port = listen == null || listen.socket == null ? (listen == null || listen.port == null ? 10809 : listen.port) : null;
        Path socket = listen == null ? null : listen.socket;
        if (port != null && (port < 0 || port > 65535)) {
            throw new CliException("port " + port + " is not in 0..65535");
        }
        InetAddress address;
        try {
            address = InetAddress.getByName(bind);
        } catch (UnknownHostException e) {
            throw new CliException("unknown bind address " + bind);
        }
        StorageControlUnit unit = Units.open(dir);
        NbdServer server;
        try {
            server = start(unit, address, port, socket);
        } catch (RuntimeException e) {
            unit.close();
            throw e;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Thread shutdown = new Thread(() -> {
            stop(server, unit);
            stopped.countDown();
        }, "scemu-serve-shutdown");
        for (var export : server.exports()) {
            String uri = socket != null ? "nbd+unix:///" + export.name() + "?socket=" + socket.toAbsolutePath()
                    : "nbd://" + hostForUri(address) + ":" + server.port() + "/" + export.name();
            out.printf("%-40s %s%n", uri, export.readOnly() ? "read-only" : "read-write");
        }
        unit.snapshots().restoreIncomplete().ifPresent(note -> out.printf("volume is marked restore incomplete (%s):"
                + " exported read-only until 'scemu backup restore' finishes or 'scemu backup clear-incomplete'%n", note));
        Consumer<NbdServer> hook = testHook;
        if (hook != null) {
            try {
                hook.accept(server);
            } finally {
                stop(server, unit);
            }
            return 0;
        }
        out.println("serving; press Ctrl-C to stop");
        out.flush();
        Runtime.getRuntime().addShutdownHook(shutdown);
        stopped.await();
        return 0;
    }

    /** Starts a server exporting the unit's volume and its snapshots (port 0 = any free port). */
    static NbdServer start(StorageControlUnit unit, InetAddress address, Integer port, Path socket) {
        NbdServer.Builder builder = NbdServer.builder()
                .export("volume", unit.host(), "scemu volume (" + unit.config().level() + ")",
                        unit.snapshots().restoreIncomplete().isPresent()); // a half-restored volume is served read-only
        for (SnapshotInfo info : unit.snapshots().listSnapshots()) {
            builder.export("snap-" + info.id(), unit.snapshots().snapshot(info.id()),
                    "snapshot " + info.id() + " '" + info.name() + "' of " + info.createdAt(), true);
        }
        if (socket != null) {
            builder.bindUnix(socket);
        } else {
            builder.bindTcp(address, port);
        }
        return builder.start();
    }

    private static synchronized void stop(NbdServer server, StorageControlUnit unit) {
        try {
            server.close();
        } finally {
            try {
                unit.host().flush();
            } finally {
                unit.close();
            }
        }
    }

    private static String hostForUri(InetAddress address) {
        String host = address.getHostAddress();
        return host.contains(":") ? "[" + host + "]" : host;
    }
}
