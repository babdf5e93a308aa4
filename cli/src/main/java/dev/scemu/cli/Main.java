package dev.scemu.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code scemu}: the command line of the storage control unit emulator. */
@Command(name = "scemu", mixinStandardHelpOptions = true, version = "scemu 0.1.0-SNAPSHOT",
        description = "Storage control unit emulator.",
        subcommands = {DemoCommand.class, CommandLine.HelpCommand.class})
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
        commandLine.setExecutionExceptionHandler((exception, cmd, parseResult) -> {
            cmd.getErr().println("scemu: " + exception.getMessage());
            return 1;
        });
        return commandLine.execute(args);
    }
}
