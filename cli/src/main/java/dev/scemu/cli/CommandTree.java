package dev.scemu.cli;

import java.lang.reflect.Method;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * picocli's model of {@code scemu}'s commands, built for the command being run only.
 *
 * <p>picocli builds a command's model by reflection: every option, every parameter of a method
 * subcommand ({@code backup create}, {@code snapshot delete}, ...) and its annotations, and it does
 * so for every subcommand as soon as the root is built. In a cold JVM that was a quarter of the main
 * thread's profile samples of {@code scemu status} and a quarter of those before the backup started
 * in {@code scemu backup create} (docs/benchmarks.md, "#21, fifth session"). So the tree is built
 * level by level from the arguments: when the next argument names a command of this level exactly,
 * only that command is added; otherwise (an option such as {@code --help}, {@code help}, a typo, no
 * argument) every command of the level is added, so that usage help, "did you mean" suggestions and
 * error messages are the ones of the whole tree. Parsing then sees the same model for the words it
 * reads: a command's own options and parameters, and the inherited {@code --verbose}.
 *
 * <p>The annotations therefore do not list the commands ({@link Main} has no {@code subcommands},
 * the classes with method subcommands say {@code addMethodSubcommands = false}); {@link #TOP} does,
 * in the order {@code scemu --help} lists them, and picocli's {@link CommandLine#getCommandMethods}
 * finds a class's method subcommands in its own order. {@code md}'s two commands stay in its
 * annotation (classes without method parameters, and rarely run).
 */
final class CommandTree {

    /** A command class and the commands declared under it as classes (method subcommands are found by reflection). */
    private record Node(String name, Class<?> type, List<Node> classChildren) {
    }

    /** The top-level commands, in the order of {@code scemu --help}; {@code help} is added after them. */
    private static final List<Node> TOP = List.of(
            new Node("create", CreateCommand.class, List.of()),
            new Node("status", StatusCommand.class, List.of()),
            new Node("snapshot", SnapshotCommand.class, List.of()),
            new Node("disk", DiskCommand.class, List.of()),
            new Node("firmware", FirmwareCommand.class, List.of(new Node("trust", TrustCommand.class, List.of()))),
            new Node("backup", BackupCommand.class, List.of()),
            new Node("scrub", ScrubCommand.class, List.of()),
            new Node("serve", ServeCommand.class, List.of()),
            new Node("demo", DemoCommand.class, List.of()),
            new Node("md", MdCommand.class, List.of()));

    private CommandTree() {
    }

    /** The model for {@code args}: the commands they name, or every command of a level they name none of. */
    static CommandLine build(String... args) {
        CommandLine root = new CommandLine(new Main());
        boolean whole = addChildren(root, null, TOP, args, 0);
        if (whole) {
            root.addSubcommand(new CommandLine.HelpCommand()); // "scemu help X" needs the whole tree: args[0] is "help"
        }
        return root;
    }

    /** The whole model, every command at every level (what the annotations used to declare). */
    static CommandLine whole() {
        return build();
    }

    /**
     * Adds the commands of one level under {@code parent}: only the one {@code args[depth]} names
     * exactly, else all of them. Returns whether all were added.
     */
    private static boolean addChildren(CommandLine parent, Class<?> parentType, List<Node> classChildren, String[] args,
                                       int depth) {
        List<Method> methods = parentType == null ? List.of() : CommandLine.getCommandMethods(parentType, null);
        String word = depth < args.length ? args[depth] : null;
        boolean named = false; // loops, not streams: each lambda is one more class to spin up in a cold JVM
        for (Node child : classChildren) {
            named |= child.name().equals(word);
        }
        for (Method method : methods) {
            named |= nameOf(method).equals(word);
        }
        for (Node child : classChildren) {
            if (!named || child.name().equals(word)) {
                CommandLine commandLine = new CommandLine(child.type());
                addChildren(commandLine, child.type(), child.classChildren(), args, depth + 1);
                parent.addSubcommand(child.name(), commandLine);
            }
        }
        for (Method method : methods) {
            if (!named || nameOf(method).equals(word)) {
                // as picocli's own method subcommands: a CommandLine of the Method, run on the parent's instance
                CommandLine commandLine = new CommandLine(method, CommandLine.defaultFactory());
                parent.addSubcommand(commandLine.getCommandName(), commandLine);
            }
        }
        return !named;
    }

    private static String nameOf(Method method) {
        return method.getAnnotation(Command.class).name();
    }
}
