package dev.scemu.cli;

import java.io.PrintWriter;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code scemu}: the command line of the storage control unit emulator. */
@Command(name = "scemu", mixinStandardHelpOptions = true, version = "scemu 0.1.0-SNAPSHOT",
        description = "Storage control unit emulator.")
// the commands are not listed here: CommandTree builds the model of the ones a command line names
public final class Main {

    /** Accepted by every command (inherited); read by {@link CliLogging} before parsing. */
    @CommandLine.Option(names = "--verbose", scope = CommandLine.ScopeType.INHERIT,
            description = "Show the library's log lines (INFO and above) on the error stream.")
    boolean verbose;

    public static void main(String[] args) {
        dev.scemu.core.PhaseTrace.mark("main");
        // the -D half of the JVM flags (the jar's manifest carries the --add-* half): set before Chronicle loads
        System.setProperty("disable.perf.info", System.getProperty("disable.perf.info", "true"));
        System.setProperty("chronicle.analytics.disable", System.getProperty("chronicle.analytics.disable", "true"));
        ColdStart.apply(); // library start-up work no command uses (jnr-ffi's libc stubs, JNA's ldconfig fork)
        CliLogging.configure(args); // library log lines: off, serve's to DIR/scemu.log, --verbose to stderr
        System.setProperty("scemu.owner", ownerLabel(args)); // names this process in a unit's lock file
        PrintWriter err = new PrintWriter(System.err, true);
        // progress bars only on a terminal, and only on this process's own error stream (not a live
        // command's socket); elsewhere Progress writes a plain line every few seconds
        Progress.terminalErr = System.console() != null ? err : null;
        int status = run(new PrintWriter(System.out, true), err, args);
        dev.scemu.core.PhaseTrace.mark("command returned");
        System.exit(status);
    }

    /** "scemu serve", "scemu snapshot create": the command words, for the lock file of a unit. */
    static String ownerLabel(String... args) {
        StringBuilder label = new StringBuilder("scemu");
        for (int i = 0; i < args.length && i < 2; i++) {
            if (args[i].startsWith("-") || args[i].contains("/") || i == 1 && !java.util.Set.of("snapshot", "disk",
                    "firmware", "backup", "md").contains(args[0])) {
                break;
            }
            label.append(' ').append(args[i]);
        }
        return label.toString();
    }

    /** Runs the command line and returns the exit status (0 = success; {@link ExitStatus} lists the others). */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /**
     * Runs the command line with the given output streams and returns the exit status. A live
     * command on a unit that a {@code serve} process owns runs there, through its control socket
     * ({@link LiveControl}); every other command runs here.
     */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        java.util.OptionalInt live = LiveControl.forward(out, err, args);
        if (live.isPresent()) {
            return live.getAsInt();
        }
        return execute(out, err, null, args);
    }

    /**
     * Runs the command line here; path arguments resolve against {@code cwd} (the client's working
     * directory, for a live command the control server runs), or the process's if null.
     */
    static int execute(PrintWriter out, PrintWriter err, java.nio.file.Path cwd, String... args) {
        CommandLine commandLine;
        try (dev.scemu.core.PhaseTrace.Span span = dev.scemu.core.PhaseTrace.begin("cli: command model (picocli)")) {
            commandLine = CommandTree.build(args);
        }
        if (cwd != null) {
            commandLine.registerConverter(java.nio.file.Path.class, cwd::resolve);
        }
        commandLine.setOut(out);
        commandLine.setErr(err);
        Units.notices = err;
        commandLine.setParameterExceptionHandler((exception, arguments) ->
                usageError(exception.getCommandLine(), exception.getMessage()));
        commandLine.setExecutionExceptionHandler((exception, cmd, parseResult) -> {
            if (exception instanceof UsageException usage) { // a value the command refused: as picocli's own
                return usageError(cmd, usage.getMessage());
            }
            cmd.getErr().println("scemu: " + describe(exception));
            cmd.getErr().flush();
            return ExitStatus.of(exception); // one status per error category (ExitStatus)
        });
        int status = commandLine.execute(args);
        out.flush();
        err.flush();
        return status;
    }

    /** A usage error of {@code cmd}: one line naming its help, status 2. */
    private static int usageError(CommandLine cmd, String message) {
        cmd.getErr().println("scemu: " + oneLine(message) + " (see '" + cmd.getCommandSpec().qualifiedName() + " --help')");
        cmd.getErr().flush();
        return ExitStatus.USAGE;
    }

    /** The message of the root cause worth showing, on one line. */
    static String describe(Throwable exception) {
        Throwable cause = exception;
        while ((cause instanceof ExecutionException || cause instanceof CompletionException
                || cause instanceof java.io.UncheckedIOException && cause.getMessage() == null)
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        String message = cause.getMessage();
        if (message == null || message.isBlank()) {
            message = cause.getClass().getSimpleName();
        } else if (cause instanceof java.nio.file.NoSuchFileException) {
            message = "no such file: " + message;
        } else if (cause instanceof java.io.IOException && !(cause instanceof java.nio.file.FileSystemException)) {
            message = cause.getClass().getSimpleName() + ": " + message;
        }
        return oneLine(message);
    }

    private static String oneLine(String message) {
        return message == null ? "" : message.strip().replaceAll("\\s*\\R\\s*", "; ");
    }
}
