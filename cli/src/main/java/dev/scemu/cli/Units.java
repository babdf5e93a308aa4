package dev.scemu.cli;

import dev.scemu.unit.StorageControlUnit;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opening the unit kept in a directory, with a clear error when there is none. */
final class Units {

    private Units() {
    }

    /** Where {@link #open} reports what the open finished for interrupted operations (Main sets the command's stderr). */
    static volatile PrintWriter notices = new PrintWriter(System.err, true);

    static StorageControlUnit open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new CliException("no such directory: " + dir);
        }
        if (!Files.isRegularFile(dir.resolve("unit.properties"))) {
            throw new CliException("no scemu unit in " + dir + " (create one with 'scemu create " + dir + "')");
        }
        StorageControlUnit unit = StorageControlUnit.open(dir);
        PrintWriter err = notices;
        for (String notice : unit.snapshots().recoveredAtOpen().notices()) {
            err.println("scemu: note: " + notice);
        }
        err.flush();
        haltForTests(unit);
        return unit;
    }

    /** System property of the process-kill tests: the command stops before its Nth write (counted from 0 after the open). */
    static final String HALT_AT_WRITE = "scemu.test.haltAtWrite";
    /** Line printed on stdout when the command stops there; the test then kills the process. */
    static final String HALTED = "SCEMU-TEST-HALTED";

    /**
     * Test hook ({@value #HALT_AT_WRITE}): parks the writing thread forever before that write, after
     * printing {@value #HALTED}, so a test can SIGKILL the process at an exact point of a command.
     */
    private static void haltForTests(StorageControlUnit unit) {
        Long haltAt = Long.getLong(HALT_AT_WRITE);
        if (haltAt == null) {
            return;
        }
        long target = unit.power().writeCount() + haltAt;
        unit.power().observeWrites(index -> {
            if (index == target) {
                System.out.println(HALTED + " " + haltAt);
                System.out.flush();
                while (true) {
                    java.util.concurrent.locks.LockSupport.park();
                }
            }
        });
    }

    static void checkDiskIndex(StorageControlUnit unit, int index) {
        int count = unit.array().raidDisks();
        if (index < 0 || index >= count) {
            throw new CliException("disk index " + index + " is outside 0.." + (count - 1));
        }
    }
}
