package dev.scemu.cli;

import dev.scemu.snapshot.SnapshotError;
import dev.scemu.snapshot.SnapshotException;
import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.unit.StorageControlUnit;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code scemu snapshot create|list|delete|rollback DIR ...}. */
@Command(name = "snapshot", mixinStandardHelpOptions = true, addMethodSubcommands = false, // CommandTree adds them
        description = "Create, list, delete and roll back copy-on-write snapshots of the volume.")
final class SnapshotCommand {

    @Spec
    CommandSpec spec;

    private PrintWriter out() {
        return spec.commandLine().getOut();
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Freeze the volume under NAME.")
    int create(@Parameters(paramLabel = "DIR", description = "Directory of the unit.") Path dir,
               @Parameters(paramLabel = "NAME",
                       description = "Snapshot name (1..64 bytes, unique in the unit, not purely numeric).") String name) {
        if (!name.isEmpty() && name.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new UsageException("snapshot name '" + name + "' is purely numeric; names must not look like ids"
                    + " (commands take a name, or --id N)");
        }
        try (UnitSession session = Units.session(dir)) {
            SnapshotInfo info = session.unit().snapshots().createSnapshot(name);
            session.snapshotCreated(info);
            out().printf("snapshot %d '%s' created at %s%s%n", info.id(), info.name(), info.createdAt(),
                    session.isLive() ? "; exported as " + ServeCommand.snapshotExportName(info) : "");
        }
        return 0;
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the snapshots, oldest first.")
    int list(@Parameters(paramLabel = "DIR", description = "Directory of the unit.") Path dir) {
        try (UnitSession session = Units.lookSession(dir)) {
            StorageControlUnit unit = session.unit();
            PrintWriter out = out();
            out.printf("%-6s %-24s %-30s %s%n", "ID", "NAME", "CREATED", "EPOCH");
            for (SnapshotInfo info : unit.snapshots().listSnapshots()) {
                out.printf("%-6d %-24s %-30s %d%n", info.id(), info.name(), info.createdAt(), info.epoch());
            }
        }
        return 0;
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a snapshot (by NAME or --id N).")
    int delete(@Parameters(index = "0", paramLabel = "DIR", description = "Directory of the unit.") Path dir,
               @Parameters(index = "1", arity = "0..1", paramLabel = "NAME", description = "Snapshot name.") String name,
               @Option(names = "--id", paramLabel = "N", description = "Snapshot id (instead of NAME).") Long id) {
        checkOneOf(name, id);
        try (UnitSession session = Units.session(dir)) {
            SnapshotInfo info = find(session.unit(), name, id);
            session.snapshotDeleting(info);
            try {
                session.unit().snapshots().deleteSnapshot(info.id());
            } catch (RuntimeException e) {
                session.snapshotCreated(info); // still there: export it again
                throw e;
            }
            out().printf("snapshot %d '%s' deleted%n", info.id(), info.name());
        }
        return 0;
    }

    @Command(name = "rollback", mixinStandardHelpOptions = true,
            description = "Make the volume read exactly like a snapshot (later snapshots are kept).")
    int rollback(@Parameters(index = "0", paramLabel = "DIR", description = "Directory of the unit.") Path dir,
                 @Parameters(index = "1", arity = "0..1", paramLabel = "NAME", description = "Snapshot name.") String name,
                 @Option(names = "--id", paramLabel = "N", description = "Snapshot id (instead of NAME).") Long id) {
        checkOneOf(name, id);
        try (UnitSession session = Units.session(dir)) {
            StorageControlUnit unit = session.unit();
            SnapshotInfo info = find(unit, name, id);
            session.rollback(() -> {
                unit.snapshots().rollback(info.id());
                unit.host().flush();
            });
            out().printf("volume rolled back to snapshot %d '%s'%n", info.id(), info.name());
        }
        return 0;
    }

    static void checkOneOf(String name, Long id) {
        if ((name == null) == (id == null)) {
            throw new UsageException("name the snapshot by NAME or by --id N (exactly one of them)");
        }
    }

    /** The snapshot named {@code name}, or with id {@code id} (exactly one is non-null). */
    static SnapshotInfo find(StorageControlUnit unit, String name, Long id) {
        for (SnapshotInfo info : unit.snapshots().listSnapshots()) {
            if (id != null ? info.id() == id : info.name().equals(name)) {
                return info;
            }
        }
        // the library's code, so the line reads "UNKNOWN_SNAPSHOT: ..." as when the snapshot layer finds it
        if (id != null) {
            throw new SnapshotException(SnapshotError.UNKNOWN_SNAPSHOT, "no snapshot with id " + id);
        }
        throw new SnapshotException(SnapshotError.UNKNOWN_SNAPSHOT, "no snapshot named '" + name + "'"
                + (!name.isEmpty() && name.chars().allMatch(c -> c >= '0' && c <= '9') ? " (for the snapshot with id " + name
                        + " use --id " + name + ")" : ""));
    }
}
