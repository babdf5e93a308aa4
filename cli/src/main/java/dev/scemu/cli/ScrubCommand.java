package dev.scemu.cli;

import dev.scemu.raid.ScrubListener;
import dev.scemu.raid.ScrubMismatch;
import dev.scemu.unit.ScrubRecord;
import dev.scemu.unit.StorageControlUnit;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code scemu scrub DIR [--repair]}: reads every stripe and compares its parity (RAID-5) or
 * mirrors (RAID-1) with its data, prints each mismatch with its array offset, rewrites them with
 * {@code --repair} (md's repair: parity from the data, mirrors from the first member), and records
 * the result in {@code DIR/scrub.properties} for {@code status}. Exit status 1 if mismatches are
 * left unrepaired.
 */
@Command(name = "scrub", mixinStandardHelpOptions = true,
        description = "Check parity/mirrors of every stripe of the unit in DIR (with --repair: rewrite the mismatched ones).")
final class ScrubCommand implements Callable<Integer> {

    /** Mismatch lines printed before the rest are only counted. */
    static final int MAX_LINES = 64;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "Directory of the unit.")
    Path dir;

    @Option(names = "--repair", description = "Rewrite mismatched stripes (parity from the data; mirrors from the first member).")
    boolean repair;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        try (UnitSession session = Units.session(dir)) {
            StorageControlUnit unit = session.unit();
            long capacity = unit.array().geometry().capacityBytes();
            out.printf("scrub      %s: %s, %s%n", dir, unit.array().level(), repair ? "check and repair" : "check only");
            out.flush();
            long[] lines = new long[1];
            ScrubRecord record;
            try (Progress progress = new Progress(spec.commandLine().getErr(), repair ? "scrub --repair" : "scrub", capacity)) {
                record = unit.scrub(repair, new ScrubListener() {
                    @Override
                    public void onProgress(long stripesDone, long stripesTotal) {
                        progress.update(stripesTotal == 0 ? capacity : capacity / stripesTotal * stripesDone, capacity);
                    }

                    @Override
                    public void onMismatch(ScrubMismatch m) {
                        if (lines[0]++ < MAX_LINES) {
                            synchronized (out) {
                                out.printf("mismatch   stripe %d: array bytes [%d, %d)%s%n", m.stripe(), m.arrayOffsetBytes(),
                                        m.arrayOffsetBytes() + m.lengthBytes(), m.repaired() ? ", repaired" : "");
                            }
                        }
                    }
                });
            }
            if (lines[0] > MAX_LINES) {
                out.printf("mismatch   ... and %d more%n", lines[0] - MAX_LINES);
            }
            out.printf("result     %d stripes checked, %d mismatched, %d repaired (recorded for 'scemu status')%n",
                    record.stripesChecked(), record.mismatchedStripes(), record.repairedStripes());
            if (record.leftMismatches()) {
                out.flush();
                throw new CliException("scrub found " + record.mismatchedStripes() + " mismatched stripes and left them"
                        + " unrepaired (run 'scemu scrub " + dir + " --repair')");
            }
        }
        return 0;
    }
}
