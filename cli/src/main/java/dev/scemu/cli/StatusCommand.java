package dev.scemu.cli;

import dev.scemu.flash.FirmwareEvent;
import dev.scemu.raid.RebuildProgress;
import dev.scemu.snapshot.SnapshotVolume;
import dev.scemu.unit.StorageControlUnit;
import dev.scemu.unit.TrustStore;
import dev.scemu.unit.UnitIdentity;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code scemu status DIR}: members, partitions, firmware (and what the boot found), snapshots,
 * meters. Never writes: the unit is opened read-only ({@link StorageControlUnit#openReadOnly}), so
 * what the boot would repair is reported and repaired in memory only.
 */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Print the state and meters of the unit in DIR (read-only: changes no byte of its files).")
final class StatusCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "Directory of the unit.")
    Path dir;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (UnitSession session = Units.lookSession(dir)) {
            StorageControlUnit unit = session.unit();
            out.printf("unit       %s (%d x %s disks, %s backend)%n", dir, unit.config().diskCount(),
                    Sizes.format(unit.config().diskBytes()), unit.config().media().name().toLowerCase());
            out.printf("identity   %s%n", describeIdentity(unit));
            for (String line : describeTrust(unit, dir)) {
                out.printf("trust      %s%n", line);
            }
            out.print(unit.status().describe());
            out.println(session.isLive() ? "           (live: meters count the I/O since 'scemu serve' booted the unit)"
                    : "           (meters count the I/O since this command opened the unit read-only: what the open"
                    + " wrote (superblocks, bitmap, recovery) went to an in-memory overlay, no byte reached the files;"
                    + " run a workload through 'scemu serve' or 'scemu demo' to see write amplification)");
            out.printf("volume     %s (%d blocks of %d B)%n", Sizes.format(unit.host().geometry().capacityBytes()),
                    unit.host().geometry().blockCount(), unit.host().geometry().blockSize());
            SnapshotVolume.StoreUsage usage = unit.snapshots().storeUsage();
            out.printf("store      %d of %d blocks used, %d of %d mapping entries%n", usage.usedStoreBlocks(),
                    usage.storeBlocks(), usage.mappingEntries(), usage.maxMappingEntries());
            CompletableFuture<RebuildProgress> work = unit.array().backgroundWork();
            boolean rebuilding = java.util.stream.IntStream.range(0, unit.array().raidDisks())
                    .anyMatch(role -> unit.array().memberState(role) == dev.scemu.raid.MemberState.REBUILDING);
            out.printf("rebuild    %s%n", work.isDone() ? "none running" : session.isLive() ? (rebuilding ? "running"
                    : "resync running (after an unclean stop)") : rebuilding ? "pending (resumes at the next read-write open)"
                    : "resync pending (after an unclean stop: runs from the first change after the next read-write open)");
            out.printf("boot       %s%n", !unit.bootReport().foundProblems() ? "clean" : session.isLive()
                    ? "found problems and repaired them (when 'scemu serve' started)"
                    : "found problems; the next read-write open repairs them (this look repaired them in memory only)");
            if (!session.isLive() && !Files.exists(dir.resolve("nvram.img"))) {
                out.printf("nvram      nvram.img is missing: this look booted from a blank flash; the next read-write open"
                        + " creates it and restores the firmware from the backup partition%n");
            }
            for (String notice : unit.snapshots().recoveredAtOpen().notices()) {
                out.printf("recovered  %s%n", notice);
            }
            unit.snapshots().restoreIncomplete().ifPresent(note -> out.printf("restore    INCOMPLETE (%s): 'serve' exports"
                    + " the volume read-only; run 'scemu backup restore' again or 'scemu backup clear-incomplete'%n", note));
            for (FirmwareEvent event : unit.bootReport().events()) {
                out.printf("  %s%n", event);
            }
            out.printf("flash      %s%n", unit.firmware().checkFlash());
        }
        return 0;
    }

    /** The unit's identifiers, and whether they are random or derived from a simulation seed. */
    static String describeIdentity(StorageControlUnit unit) {
        UnitIdentity identity = unit.identity();
        return "array " + identity.arrayUuid() + ", GPT disk " + identity.diskGuid() + ", volume " + identity.volumeId()
                + (unit.config().isSimulation() ? " (simulation: derived from seed "
                + unit.config().simulationSeed().getAsLong() + ", not unique)" : "");
    }

    /** One line per trusted key: where it came from, its fingerprint, whether it signed the running image. */
    static List<String> describeTrust(StorageControlUnit unit, Path dir) {
        List<String> lines = new ArrayList<>();
        byte[] runningKey = unit.firmware().running() == null ? null : unit.firmware().running().keyHash();
        for (TrustStore.Entry entry : unit.trustStore().entries()) {
            String fingerprint = entry.fingerprint();
            String line = switch (entry.origin()) {
                case VENDOR -> "vendor key " + fingerprint;
                case TEST_KEY -> {
                    Path privateKey = dir.resolve(TrustStore.TEST_KEY_FILE);
                    yield "test key generated at create (" + privateKey
                            + (Files.exists(privateKey) ? "" : ": private key removed") + "), fingerprint " + fingerprint;
                }
                case SIMULATION -> "simulation key derived from seed " + unit.config().simulationSeed().orElse(0)
                        + " (not secret), fingerprint " + fingerprint;
                case ADDED -> "added key " + fingerprint;
                case LEGACY -> "key derived from the seed of an older scemu unit (not secret), fingerprint " + fingerprint;
            };
            if (runningKey != null && HexFormat.of().formatHex(runningKey).equals(fingerprint)) {
                line += " (signed the running image)";
            }
            lines.add(line);
        }
        return lines;
    }
}
