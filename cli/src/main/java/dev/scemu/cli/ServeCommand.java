package dev.scemu.cli;

import dev.scemu.nbd.NbdServer;
import dev.scemu.raid.MemberState;
import dev.scemu.raid.RaidArray;
import dev.scemu.nbd.NbdTlsMode;
import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.unit.RebuildSpeed;
import dev.scemu.unit.StorageControlUnit;
import dev.scemu.unit.UnitException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
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
 * interrupted; then closes the unit cleanly. While it runs it owns the unit (its lock) and answers
 * live commands on the unit's control socket ({@link ControlServer}): a snapshot created live is
 * exported at once, a deleted one disappears.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Serve the volume and its snapshots as NBD exports until interrupted (Ctrl-C).")
final class ServeCommand implements Callable<Integer> {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(ServeCommand.class);

    /**
     * Test hook: when set, called with the running server instead of waiting for an interrupt;
     * the command shuts down when it returns.
     */
    static volatile Consumer<NbdServer> testHook;

    /** Name of the read-write export of the volume. */
    static final String VOLUME_EXPORT = "volume";

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "Directory of the unit.")
    Path dir;

    @ArgGroup(exclusive = true)
    Listen listen;

    static final class Listen {
        @Option(names = "--port", paramLabel = "PORT", description = "TCP port, 0..65535 (0: any free port; default: 10809).")
        Integer port;

        @Option(names = "--socket", paramLabel = "PATH", description = "Listen on a unix socket instead of TCP.")
        Path socket;
    }

    @Option(names = "--bind", paramLabel = "ADDRESS", defaultValue = "127.0.0.1",
            description = "TCP address to listen on (default: ${DEFAULT-VALUE}).")
    String bind;

    @Option(names = "--handshake-timeout", paramLabel = "SECONDS", defaultValue = "10",
            description = "Close a connection that has not finished the NBD handshake after this many seconds, "
                    + "0.001..86400 (default: ${DEFAULT-VALUE}).")
    double handshakeTimeoutSeconds;

    @Option(names = "--tls", paramLabel = "off|on|require",
            description = "TLS for TCP clients, as nbdkit: off, on (offered), require (default: require with "
                    + "--tls-certificates, else off).")
    String tls;

    @Option(names = "--tls-certificates", paramLabel = "DIR",
            description = "Directory with ca-cert.pem, server-cert.pem and server-key.pem (nbdkit/qemu layout).")
    Path tlsCertificates;

    @Option(names = "--tls-verify-peer",
            description = "Require a client certificate signed by ca-cert.pem.")
    boolean tlsVerifyPeer;

    @Option(names = "--insecure",
            description = "Allow listening on a non-loopback address without --tls=require.")
    boolean insecure;

    @Option(names = "--rebuild-speed", paramLabel = "MIN:MAX",
            description = "Resync, rebuild and scrub speed limits in KiB/s, like md's speed_limit_min/max:"
                    + " never above MAX (0 = unlimited), yielding to host I/O down to MIN (md's defaults:"
                    + " 1000:200000). Default: full speed, never yielding.")
    String rebuildSpeed;


    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        Integer port = listen == null || listen.socket == null ? (listen == null || listen.port == null ? 10809 : listen.port) : null;
        Path socket = listen == null ? null : listen.socket;
        if (port != null) {
            UsageException.checkRange("--port", port, 0, 65535);
        }
        if (!(handshakeTimeoutSeconds >= 0.001 && handshakeTimeoutSeconds <= 86_400)) {
            throw new UsageException("--handshake-timeout " + handshakeTimeoutSeconds + " is not in 0.001..86400 seconds");
        }
        Duration handshakeTimeout = Duration.ofNanos(Math.round(handshakeTimeoutSeconds * 1e9));
        InetAddress address;
        try {
            address = InetAddress.getByName(bind);
        } catch (UnknownHostException e) {
            throw new CliException("unknown bind address " + bind);
        }
        NbdTlsMode tlsMode = tlsMode();
        RebuildSpeed speed = null;
        if (rebuildSpeed != null) {
            try {
                speed = RebuildSpeed.parseKibPerSecond(rebuildSpeed);
            } catch (UnitException e) {
                throw UsageException.of("--rebuild-speed", e);
            }
        }
        if (socket == null && !address.isLoopbackAddress() && tlsMode != NbdTlsMode.REQUIRE && !insecure) {
            throw new CliException("refusing to serve on " + bind + " without --tls=require: every host that reaches"
                    + " it could read and write the volume (add --insecure to allow it)");
        }
        StorageControlUnit unit = Units.open(dir);
        if (speed != null) {
            unit.setRebuildSpeed(speed);
        }
        NbdServer server;
        ControlServer control;
        try {
            server = start(unit, address, port, socket, handshakeTimeout, tlsMode, tlsCertificates,
                    tlsVerifyPeer, insecure);
            try {
                control = ControlServer.start(dir, unit, server);
            } catch (RuntimeException e) {
                server.close();
                throw e;
            }
        } catch (RuntimeException e) {
            unit.close();
            throw e;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        PrintWriter err = spec.commandLine().getErr();
        Thread shutdown = new Thread(() -> {
            try {
                stop(control, server, unit);
            } catch (RuntimeException e) {
                // an array or volume that failed while serving cannot flush: one line, as every command's error, not
                // the stack trace of an uncaught exception in a shutdown hook (the unit is closed all the same)
                err.println("scemu: while stopping: " + Main.describe(e));
                err.flush();
                LOG.error("while stopping", e);
            } finally {
                stopped.countDown();
            }
        }, "scemu-serve-shutdown");
        for (var export : server.exports()) {
            String uri = socket != null ? "nbd+unix:///" + export.name() + "?socket=" + socket.toAbsolutePath()
                    : (tlsMode == NbdTlsMode.OFF ? "nbd://" : "nbds://") + hostForUri(address) + ":" + server.port()
                    + "/" + export.name();
            out.printf("%-40s %s%n", uri, export.readOnly() ? "read-only" : "read-write");
        }
        out.printf("%-40s %s%n", "control " + control.socketPath(), "live commands (docs/control.md)");
        unit.snapshots().restoreIncomplete().ifPresent(note -> out.printf("volume is marked restore incomplete (%s):"
                + " exported read-only until 'scemu backup restore' finishes or 'scemu backup clear-incomplete'%n", note));
        printDegraded(out, unit, dir);
        Consumer<NbdServer> hook = testHook;
        if (hook != null) {
            try {
                hook.accept(server);
            } finally {
                stop(control, server, unit);
            }
            return 0;
        }
        out.println("serving; press Ctrl-C to stop");
        out.flush();
        Runtime.getRuntime().addShutdownHook(shutdown);
        stopped.await();
        return 0;
    }

    /** The TLS mode the flags ask for: certificates alone mean {@code require}, as with nbdkit. */
    private NbdTlsMode tlsMode() {
        if (tls == null) {
            return tlsCertificates != null ? NbdTlsMode.REQUIRE : NbdTlsMode.OFF;
        }
        NbdTlsMode mode = switch (tls) {
            case "off" -> NbdTlsMode.OFF;
            case "on" -> NbdTlsMode.ON;
            case "require" -> NbdTlsMode.REQUIRE;
            default -> throw new UsageException("--tls=" + tls + " is not one of off, on, require");
        };
        if (mode != NbdTlsMode.OFF && tlsCertificates == null) {
            throw new UsageException("--tls=" + tls + " needs --tls-certificates DIR");
        }
        if (mode == NbdTlsMode.OFF && (tlsCertificates != null || tlsVerifyPeer)) {
            throw new UsageException("--tls=off contradicts --tls-certificates/--tls-verify-peer");
        }
        return mode;
    }

    /** Starts a server exporting the unit's volume and its snapshots (port 0 = any free port). */
    static NbdServer start(StorageControlUnit unit, InetAddress address, Integer port, Path socket,
                           Duration handshakeTimeout, NbdTlsMode tlsMode, Path tlsCertificates,
                           boolean tlsVerifyPeer, boolean insecure) {
        NbdServer.Builder builder = NbdServer.builder()
                .handshakeTimeout(handshakeTimeout)
                .insecure(insecure)
                .export(VOLUME_EXPORT, unit.host(), "scemu volume (" + unit.config().level() + ")",
                        unit.snapshots().restoreIncomplete().isPresent()); // a half-restored volume is served read-only
        for (SnapshotInfo info : unit.snapshots().listSnapshots()) {
            builder.export(snapshotExportName(info), unit.snapshots().snapshot(info.id()), snapshotDescription(info), true);
        }
        if (tlsMode != NbdTlsMode.OFF) {
            builder.tls(tlsMode, tlsCertificates).tlsVerifyPeer(tlsVerifyPeer);
        }
        if (socket != null) {
            builder.bindUnix(socket);
        } else {
            builder.bindTcp(address, port);
        }
        return builder.start();
    }

    static String snapshotExportName(SnapshotInfo info) {
        return "snap-" + info.id();
    }

    static String snapshotDescription(SnapshotInfo info) {
        return "snapshot " + info.id() + " '" + info.name() + "' of " + info.createdAt();
    }

    /** Ordering: no live command runs (control closed), then no NBD request, then the unit closes. */
    private static synchronized void stop(ControlServer control, NbdServer server, StorageControlUnit unit) {
        try {
            control.close();
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

    /**
     * A degraded array is served (reads are reconstructed), but the operator must hear it at once:
     * one line per failed member, with its reason and the command that replaces it. The reason is
     * the unit's ({@code status}'s): for a member image that could not be opened (truncated, not a
     * file) it says why, where the array knows only that the stand-in device failed.
     */
    static void printDegraded(PrintWriter out, StorageControlUnit unit, Path dir) {
        RaidArray array = unit.array();
        if (!array.isDegraded()) {
            return;
        }
        Map<Integer, String> faults = unit.status().memberFaults();
        for (int role = 0; role < array.raidDisks(); role++) {
            if (array.memberState(role) == MemberState.FAILED) {
                out.printf("array DEGRADED: disk %d failed (%s): 'scemu disk replace %s %d' rebuilds it%n", role,
                        faults.getOrDefault(role, array.memberFault(role)), dir, role);
            }
        }
    }
}
