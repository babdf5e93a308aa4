package dev.scemu.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@link CommandTree}: a command line that names a command gets the model of that command only,
 * and that model is the one the whole tree holds (same usage help, inherited {@code --verbose}
 * included); anything else gets the whole tree.
 */
class CommandTreeTest {

    @Test
    void aNamedCommandGetsOnlyItsOwnModel() {
        CommandLine root = CommandTree.build("backup", "create", "unit", "-t", "backups");
        assertThat(root.getSubcommands()).containsOnlyKeys("backup");
        assertThat(root.getSubcommands().get("backup").getSubcommands()).containsOnlyKeys("create");

        CommandLine status = CommandTree.build("status", "unit");
        assertThat(status.getSubcommands()).containsOnlyKeys("status");

        CommandLine trust = CommandTree.build("firmware", "trust", "list", "unit");
        assertThat(trust.getSubcommands().get("firmware").getSubcommands()).containsOnlyKeys("trust");
        assertThat(trust.getSubcommands().get("firmware").getSubcommands().get("trust").getSubcommands())
                .containsOnlyKeys("list");
    }

    @Test
    void helpTyposAndOptionsGetTheWholeLevel() {
        List<String> top = List.of("create", "status", "snapshot", "disk", "firmware", "backup", "scrub", "serve", "demo",
                "md", "help");
        for (String[] args : List.of(new String[0], new String[] {"--help"}, new String[] {"help", "backup"},
                new String[] {"stats", "unit"}, new String[] {"--verbose", "status", "unit"})) {
            assertThat(new ArrayList<>(CommandTree.build(args).getSubcommands().keySet())).as(String.join(" ", args))
                    .isEqualTo(top);
        }
        assertThat(CommandTree.build("backup", "--help").getSubcommands().get("backup").getSubcommands())
                .containsOnlyKeys("create", "verify", "restore", "clear-incomplete", "list", "info");
        assertThat(CommandTree.build("backup", "creat").getSubcommands().get("backup").getSubcommands()).hasSize(6);
        assertThat(new ArrayList<>(CommandTree.whole().getSubcommands().get("firmware").getSubcommands().keySet()))
                .first().isEqualTo("trust"); // the class subcommand before the method subcommands, as picocli ordered them
    }

    @Test
    void everyCommandsLazyModelPrintsTheSameUsageAsInTheWholeTree() {
        List<List<String>> paths = new ArrayList<>();
        collect(CommandTree.whole(), new ArrayList<>(), paths);
        assertThat(paths).hasSizeGreaterThan(30);
        for (List<String> path : paths) {
            CommandLine whole = CommandTree.whole();
            CommandLine lazy = CommandTree.build(path.toArray(String[]::new));
            for (String word : path) {
                whole = whole.getSubcommands().get(word);
                lazy = lazy.getSubcommands().get(word);
            }
            assertThat(lazy.getUsageMessage(CommandLine.Help.Ansi.OFF)).as(String.join(" ", path))
                    .isEqualTo(whole.getUsageMessage(CommandLine.Help.Ansi.OFF))
                    .contains("--verbose");
        }
    }

    private static void collect(CommandLine command, List<String> path, List<List<String>> paths) {
        for (var entry : command.getSubcommands().entrySet()) {
            if (entry.getKey().equals("help")) {
                continue;
            }
            List<String> child = new ArrayList<>(path);
            child.add(entry.getKey());
            paths.add(child);
            collect(entry.getValue(), child, paths);
        }
    }
}
