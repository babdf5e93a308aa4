package dev.scemu.cli;

import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.unit.StorageControlUnit;
import java.io.PrintWriter;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code scemu snapshot create|list|delete|rollback DIR ...}. */
@Command(name = "snapshot", mixinStandardHelpOptions = true,
        description = "Create, list, delete and roll back copy-on-write snapshots of the volume.")
final class SnapshotCommand {

    @Spec
    CommandSpec spec;

    private PrintWriter out() {
        return spec.commandLine().getOut();
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Freeze the volume under NAME.")
    int create(@Parameters(paramLabel = "DIR", description = "Directory of the unit.") Path dir,
               @Parameters(paramLabel = "NAME", description = "Snapshot name (1..64 bytes).") String name) {
        try (StorageControlUnit unit = Units.open(dir)) {
            SnapshotInfo info = unit.snapshots().createSnapshot(name);
            out().printf("snapshot %d '%s' created at %s%n", info.id(), info.name(), info.createdAt());
        }
        return 0;
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the snapshots, oldest first.")
    int list(@Parameters(paramLabel = "DIR", description = "Directory of the unit.") Path dir) {
        try (StorageControlUnit unit = Units.open(dir)) {
            PrintWriter out = out();
            out.printf("%-6s %-24s %-30s %s%n", "ID", "NAME", "CREATED", "EPOCH");
            for (SnapshotInfo info : unit.snapshots().listSnapshots()) {
                out.printf("%-6d %-24s %-30s %d%n", info.id(), info.name(), info.createdAt(), info.epoch());
            }
        }
        return 0;
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a snapshot (by id or name).")
    int delete(@Parameters(paramLabel = "DIR", description = "Directory of the unit.") Path dir,
               @Parameters(paramLabel = "SNAPSHOT", description = "Snapshot id or name.") String snapshot) {
        try (StorageControlUnit unit = Units.open(dir)) {
            SnapshotInfo info = find(unit, snapshot);
            unit.snapshots().deleteSnapshot(info.id());
            out().printf("snapshot %d '%s' deleted%n", info.id(), info.name());
        }
        return 0;
    }

    @Command(name = "rollback", mixinStandardHelpOptions = true,
            description = "Make the volume read exactly like a snapshot (later snapshots are kept).")
    int rollback(@Parameters(paramLabel = "DIR", description = "Directory of the unit.") Path dir,
                 @Parameters(paramLabel = "SNAPSHOT", description = "Snapshot id or name.") String snapshot) {
        try (StorageControlUnit unit = Units.open(dir)) {
            SnapshotInfo info = find(unit, snapshot);
            unit.snapshots().rollback(info.id());
            unit.host().flush();
            out().printf("volume rolled back to snapshot %d '%s'%n", info.id(), info.name());
        }
        return 0;
    }

    /** The snapshot with this id, else the one with this name. */
    static SnapshotInfo find(StorageControlUnit unit, String idOrName) {
        for (SnapshotInfo info : unit.snapshots().listSnapshots()) {
            if (String.valueOf(info.id()).equals(idOrName)) {
                return info;
            }
        }
        for (SnapshotInfo info : unit.snapshots().listSnapshots()) {
            if (info.name().equals(idOrName)) {
                return info;
            }
        }
        throw new CliException("no snapshot with id or name '" + idOrName + "'");
    }
}
