package dev.scemu.cli;

import dev.scemu.flash.FirmwareEvent;
import dev.scemu.raid.RebuildProgress;
import dev.scemu.snapshot.SnapshotVolume;
import dev.scemu.unit.StorageControlUnit;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code scemu status DIR}: members, partitions, firmware (and what the boot found), snapshots, meters. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Open the unit in DIR and print its state and meters.")
final class StatusCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "Directory of the unit.")
    Path dir;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (StorageControlUnit unit = Units.open(dir)) {
            out.printf("unit       %s (%d x %s disks, %s backend)%n", dir, unit.config().diskCount(),
                    Sizes.format(unit.config().diskBytes()), unit.config().media().name().toLowerCase());
            out.print(unit.status().describe());
            out.println("           (meters count the I/O since this command opened the unit; run a workload"
                    + " through 'scemu serve' or 'scemu demo' to see write amplification)");
            out.printf("volume     %s (%d blocks of %d B)%n", Sizes.format(unit.host().geometry().capacityBytes()),
                    unit.host().geometry().blockCount(), unit.host().geometry().blockSize());
            SnapshotVolume.StoreUsage usage = unit.snapshots().storeUsage();
            out.printf("store      %d of %d blocks used, %d of %d mapping entries%n", usage.usedStoreBlocks(),
                    usage.storeBlocks(), usage.mappingEntries(), usage.maxMappingEntries());
            CompletableFuture<RebuildProgress> work = unit.array().backgroundWork();
            out.printf("rebuild    %s%n", work.isDone() ? "none running" : "running (resumed at boot)");
            out.printf("boot       %s%n", unit.bootReport().foundProblems() ? "found problems and repaired them" : "clean");
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
}
