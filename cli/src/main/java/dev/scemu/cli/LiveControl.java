package dev.scemu.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

/**
 * The client side of live control: decides whether a command runs against the unit a {@code serve}
 * process owns (through its control socket) or opens the unit itself. A command is forwarded when
 * it is one of {@link #LIVE_COMMANDS}, its DIR holds a unit, and the unit's control socket accepts
 * a connection; otherwise it runs offline (and meets the unit's lock if another process owns it).
 * See docs/control.md.
 */
final class LiveControl {

    /** Commands that run live while {@code serve} owns the unit (command words, space-separated). */
    static final List<String> LIVE_COMMANDS = List.of("status", "snapshot create", "snapshot list", "snapshot delete",
            "snapshot rollback", "backup create", "scrub", "disk fail", "disk replace", "firmware update",
            "firmware inspect");

    /**
     * How long the client waits without hearing anything from serve (output, or the empty frames
     * {@link ControlServer#keepaliveInterval} sends while a command runs) before it takes serve for
     * stopped or hung and gives up; a test may shorten it.
     */
    static volatile Duration silenceLimit = Duration.ofSeconds(30);

    /** Environment variables a live command may need from the client (sent with the request). */
    static final List<String> FORWARDED_ENV = List.of(BackupCommand.PASSWORD_ENV);

    private LiveControl() {
    }

    /**
     * Runs {@code args} live if a serving process owns their unit and answers; empty if the
     * command should run here.
     */
    static OptionalInt forward(PrintWriter out, PrintWriter err, String... args) {
        if (LiveUnit.current() != null) {
            return OptionalInt.empty(); // already inside the serving process
        }
        Path cwd = Path.of("").toAbsolutePath();
        if (!namesServedUnit(cwd, args)) {
            return OptionalInt.empty(); // the common case, decided without building the command-line model
        }
        Path dir = liveTarget(cwd, args);
        if (dir == null) {
            return OptionalInt.empty();
        }
        Path socket;
        try {
            socket = ControlSocket.path(dir.toRealPath());
        } catch (IOException | CliException e) {
            return OptionalInt.empty();
        }
        if (!Files.exists(socket)) {
            return OptionalInt.empty();
        }
        SocketChannel channel;
        try {
            channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                channel.connect(UnixDomainSocketAddress.of(socket));
            } catch (IOException e) {
                channel.close();
                return OptionalInt.empty(); // a dead owner's socket: run offline
            }
        } catch (IOException e) {
            return OptionalInt.empty();
        }
        Duration limit = silenceLimit;
        SilenceWatch watch = new SilenceWatch(channel, limit);
        try (channel; watch) {
            Map<String, String> env = new LinkedHashMap<>();
            for (String name : FORWARDED_ENV) {
                String value = BackupCommand.environment.apply(name);
                if (value != null) {
                    env.put(name, value);
                }
            }
            ControlProtocol.writeRequest(Channels.newOutputStream(channel), cwd.toString(), env, List.of(args));
            return OptionalInt.of(relay(Channels.newInputStream(channel), out, err, watch));
        } catch (IOException e) {
            out.flush();
            if (watch.expired()) {
                err.println("scemu: the process serving " + dir + " sent nothing for " + limit.toSeconds()
                        + " s: it is stopped or hung (its pid is in " + dir.resolve("unit.lock")
                        + "); whether the command ran is unknown");
            } else {
                err.println("scemu: lost the control connection to the process serving " + dir + " ("
                        + e.getMessage() + ")");
            }
            err.flush();
            return OptionalInt.of(1);
        }
    }

    /**
     * Closes the control connection once serve has sent nothing for the silence limit, so that a
     * read blocked on a stopped or hung serve ends (with an {@link IOException}); one daemon thread
     * a live command, checking four times a limit.
     */
    private static final class SilenceWatch implements AutoCloseable {
        private final ScheduledExecutorService timer;
        private final long limitNanos;
        private volatile long heardNanos = System.nanoTime();
        private volatile boolean expired;

        SilenceWatch(SocketChannel channel, Duration limit) {
            this.limitNanos = limit.toNanos();
            this.timer = Executors.newSingleThreadScheduledExecutor(runnable -> {
                Thread t = new Thread(runnable, "scemu-control-silence");
                t.setDaemon(true);
                return t;
            });
            long tickMillis = Math.max(1, limit.toMillis() / 4);
            timer.scheduleWithFixedDelay(() -> {
                if (System.nanoTime() - heardNanos > limitNanos) {
                    expired = true;
                    try {
                        channel.close();
                    } catch (IOException e) {
                        // closing is all that is wanted
                    }
                }
            }, tickMillis, tickMillis, TimeUnit.MILLISECONDS);
        }

        void heard() {
            heardNanos = System.nanoTime();
        }

        boolean expired() {
            return expired;
        }

        @Override
        public void close() {
            timer.shutdownNow();
        }
    }

    private static int relay(InputStream in, PrintWriter out, PrintWriter err, SilenceWatch watch) throws IOException {
        while (true) {
            String line = ControlProtocol.readLine(in);
            watch.heard();
            String[] words = line.split(" ");
            if (words.length == 2 && words[0].equals("exit")) {
                out.flush();
                err.flush();
                try {
                    return Integer.parseInt(words[1]);
                } catch (NumberFormatException e) {
                    throw new IOException("malformed exit status '" + words[1] + "'");
                }
            }
            if (words.length != 2 || !(words[0].equals("out") || words[0].equals("err"))) {
                throw new IOException("unexpected control response '" + line + "'");
            }
            String text = new String(ControlProtocol.readBody(in, words[1]), StandardCharsets.UTF_8);
            watch.heard();
            PrintWriter target = words[0].equals("out") ? out : err;
            target.print(text);
            target.flush();
        }
    }

    /** The leading command words of {@code args} ("snapshot", "create"), options and operands excluded. */
    static List<String> commandWords(List<String> args) {
        List<String> words = new ArrayList<>();
        try {
            String[] array = args.toArray(String[]::new);
            ParseResult leaf = CommandTree.build(array).parseArgs(array);
            while (leaf.hasSubcommand()) {
                leaf = leaf.subcommand();
                words.add(leaf.commandSpec().name());
            }
        } catch (CommandLine.ParameterException e) {
            words.add(args.isEmpty() ? "" : args.get(0));
        }
        return words;
    }

    /**
     * Whether some argument names a unit directory whose control socket exists: a cheap necessary
     * condition of running live, checked before {@link #liveTarget} builds picocli's model of every
     * command (which {@link Main#execute} then builds again: a JFR profile of {@code backup create}
     * found a quarter of the main thread's samples before the backup started in the first build).
     */
    static boolean namesServedUnit(Path cwd, String... args) {
        for (String arg : args) {
            try {
                Path dir = cwd.resolve(arg);
                if (Files.isRegularFile(dir.resolve("unit.properties")) && Files.exists(ControlSocket.path(dir.toRealPath()))) {
                    return true;
                }
            } catch (java.nio.file.InvalidPathException | IOException | CliException e) {
                // not a unit directory (or no usable socket path): look at the next argument
            }
        }
        return false;
    }

    /**
     * The unit directory a live-capable command names (relative paths against {@code cwd}), or null
     * if the command is not live-capable, asks for help, does not parse, or names no unit directory.
     */
    static Path liveTarget(Path cwd, String... args) {
        ParseResult leaf;
        List<String> words = new ArrayList<>();
        try {
            ParseResult root = CommandTree.build(args).parseArgs(args);
            if (root.isUsageHelpRequested() || root.isVersionHelpRequested()) {
                return null;
            }
            leaf = root;
            while (leaf.hasSubcommand()) {
                leaf = leaf.subcommand();
                words.add(leaf.commandSpec().name());
                if (leaf.isUsageHelpRequested() || leaf.isVersionHelpRequested()) {
                    return null;
                }
            }
        } catch (CommandLine.ParameterException e) {
            return null;
        }
        if (!LIVE_COMMANDS.contains(String.join(" ", words)) || leaf.matchedPositionals().isEmpty()) {
            return null;
        }
        Object value = leaf.matchedPositionals().get(0).getValue();
        if (!(value instanceof Path path)) {
            return null;
        }
        Path dir = cwd.resolve(path);
        return Files.isDirectory(dir) && Files.isRegularFile(dir.resolve("unit.properties")) ? dir : null;
    }
}
