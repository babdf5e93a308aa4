package dev.scemu.cli;

import dev.scemu.raid.MemberState;
import dev.scemu.raid.RebuildListener;
import dev.scemu.raid.RebuildProgress;
import dev.scemu.unit.StorageControlUnit;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code scemu disk fail|replace DIR N}. A failure is recorded in the md superblocks of the
 * remaining members, so the next {@code open} assembles the array degraded; a replacement rebuilds
 * onto a new blank image and then takes the place of {@code disk<N>.img}. A member the unit started
 * without (image missing, unreadable, damaged or foreign superblock: see {@code scemu status}) is
 * failed already and is replaced the same way.
 */
@Command(name = "disk", mixinStandardHelpOptions = true, addMethodSubcommands = false, // CommandTree adds them
        description = "Fail or replace a member disk.")
final class DiskCommand {

    @Spec
    CommandSpec spec;

    @Command(name = "fail", mixinStandardHelpOptions = true,
            description = "Mark member disk N failed (md --fail); the array runs degraded. Refused on RAID-0,"
                    + " which has no redundancy, and, as mdadm refuses it, when the array cannot run without the disk.")
    int fail(@Parameters(paramLabel = "DIR", description = "Directory of the unit.") Path dir,
             @Parameters(paramLabel = "N", description = "Member disk index.") int index) {
        try (UnitSession session = Units.session(dir)) {
            StorageControlUnit unit = session.unit();
            Units.checkDiskIndex(unit, index);
            if (unit.array().memberState(index) == MemberState.FAILED) {
                throw new CliException("disk " + index + " has already failed");
            }
            refuseFailingTheArray(unit, index, dir);
            unit.array().failMember(index);
            spec.commandLine().getOut().printf("disk %d failed; array %s%n", index,
                    unit.array().isDegraded() ? "degraded" : "optimal");
        }
        return 0;
    }

    /**
     * Refuses to fail a member the array cannot run without, as mdadm does ("Cannot remove ... array
     * will be failed"): a RAID-5 needs all but one member in sync, a RAID-1 one. A member being rebuilt
     * is not in sync. (RAID-0 is refused by the array itself.) Before, a second 'disk fail' on a
     * degraded RAID-5 said "array degraded" and failed the array: every read and write failed, and the
     * unit no longer assembled (NOT_ENOUGH_MEMBERS) though no byte of the data was lost.
     */
    private static void refuseFailingTheArray(StorageControlUnit unit, int index, Path dir) {
        dev.scemu.raid.RaidArray array = unit.array();
        int needed = switch (array.level()) {
            case RAID0 -> 0; // the array's own refusal names RAID-0
            case RAID1 -> 1;
            case RAID5 -> array.raidDisks() - 1;
        };
        java.util.List<String> others = new java.util.ArrayList<>();
        int inSync = 0;
        for (int role = 0; role < array.raidDisks(); role++) {
            if (role == index) {
                continue;
            }
            MemberState state = array.memberState(role);
            if (state == MemberState.ACTIVE) {
                inSync++;
            } else {
                others.add("disk " + role + " " + state);
            }
        }
        if (inSync < needed) {
            throw new CliException(dev.scemu.core.ErrorCategory.INVALID_STATE, "failing disk " + index + " would fail"
                    + " the array (mdadm refuses too): " + array.level() + " of " + array.raidDisks() + " disks needs "
                    + needed + " in sync and " + String.join(", ", others) + "; replace it first ('scemu disk replace "
                    + dir + " N') or let its rebuild finish");
        }
    }

    @Command(name = "replace", mixinStandardHelpOptions = true,
            description = "Replace failed disk N with a blank disk and rebuild it (with a progress bar).")
    int replace(@Parameters(paramLabel = "DIR", description = "Directory of the unit.") Path dir,
                @Parameters(paramLabel = "N", description = "Member disk index.") int index) {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        RebuildProgress done;
        boolean live;
        try (UnitSession session = Units.session(dir)) {
            StorageControlUnit unit = session.unit();
            live = session.isLive();
            Units.checkDiskIndex(unit, index);
            MemberState state = unit.array().memberState(index);
            if (state != MemberState.FAILED) {
                throw new CliException("disk " + index + " is " + state + "; only a failed disk can be replaced"
                        + " (scemu disk fail " + dir + " " + index + ")");
            }
            try (Progress progress = new Progress(err, "rebuild disk " + index,
                    unit.array().memberDataBytes())) {
                done = session.await(unit.replaceDisk(index, new RebuildListener() {
                    @Override
                    public void onProgress(RebuildProgress p) {
                        progress.update(p.doneBytes(), p.totalBytes());
                    }

                    @Override
                    public void onComplete(RebuildProgress p) {
                        progress.update(p.doneBytes(), p.totalBytes());
                    }
                }), () -> new CliException("'scemu serve' is stopping: the rebuild of disk " + index + " stops at its"
                        + " last checkpoint and resumes when the unit is next opened"));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CliException("interrupted while rebuilding disk " + index);
            } catch (ExecutionException e) {
                throw new CliException("rebuild of disk " + index + " failed: " + e.getCause().getMessage(), e);
            }
            unit.host().flush();
        } // closing the unit gives the rebuilt image the slot's name (disk<N>.img)
        out.printf("disk %d replaced and rebuilt: %s in %.1f MiB/s; array optimal%s%n", index,
                Sizes.format(done.doneBytes()), done.bytesPerSecond() / (1 << 20),
                live ? " (the rebuilt image becomes disk" + index + ".img when 'scemu serve' stops)" : "");
        return 0;
    }
}
