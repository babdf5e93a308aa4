package dev.scemu.cli;

import java.io.PrintWriter;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code scemu}: the command line of the storage control unit emulator. */
@Command(name = "scemu", mixinStandardHelpOptions = true, version = "scemu 0.1.0-SNAPSHOT",
        description = "Storage control unit emulator.",
        subcommands = {CreateCommand.class, StatusCommand.class, SnapshotCommand.class, DiskCommand.class,
                FirmwareCommand.class, BackupCommand.class, ServeCommand.class, DemoCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit status (0 = success). */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** Runs the command line with the given output streams and returns the exit status. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine commandLine = new CommandLine(new Main());
        commandLine.setOut(out);
        commandLine.setErr(err);
        Units.notices = err;
        commandLine.setParameterExceptionHandler((exception, arguments) -> {
            CommandLine cmd = exception.getCommandLine();
            cmd.getErr().println("scemu: " + oneLine(exception.getMessage()) + " (see '"
                    + cmd.getCommandSpec().qualifiedName() + " --help')");
            cmd.getErr().flush();
            return 2;
        });
        commandLine.setExecutionExceptionHandler((exception, cmd, parseResult) -> {
            cmd.getErr().println("scemu: " + describe(exception));
            cmd.getErr().flush();
            return 1;
        });
        int status = commandLine.execute(args);
        out.flush();
        err.flush();
        return status;
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
