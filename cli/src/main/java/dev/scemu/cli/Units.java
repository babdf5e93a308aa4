package dev.scemu.cli;

import dev.scemu.core.PhaseTrace;
import dev.scemu.core.PowerDomain;
import dev.scemu.unit.StorageControlUnit;
import java.security.SecureRandom;
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
        checkUnitDirectory(dir);
        // a CLI process cannot cut its own power: its disks write through (PowerDomain.writeThrough)
        try (PhaseTrace.Span span = PhaseTrace.begin("cli: unit open (read-write)")) {
            return withNotices(StorageControlUnit.open(dir, PowerDomain.writeThrough(new SecureRandom().nextLong())));
        }
    }

    /** Opens the unit to look at it: nothing reaches its files (see {@link StorageControlUnit#openReadOnly}). */
    static StorageControlUnit openReadOnly(Path dir) {
        checkUnitDirectory(dir);
        StorageControlUnit unit = StorageControlUnit.openReadOnly(dir);
        printNotices(unit, " (in memory only: a look writes nothing; the next read-write open does it)");
        return unit;
    }

    /**
     * The unit in {@code dir} for one command: the one this process serves when the command runs
     * through the control channel (left open at the end), else opened here (closed at the end).
     */
    static UnitSession session(Path dir) {
        LiveUnit live = LiveUnit.current();
        if (live != null && sameDirectory(live.directory(), dir)) {
            return UnitSession.live(live);
        }
        return UnitSession.offline(open(dir));
    }

    /** Like {@link #session(Path)}, but offline the unit is opened read-only ({@link #openReadOnly}). */
    static UnitSession lookSession(Path dir) {
        LiveUnit live = LiveUnit.current();
        if (live != null && sameDirectory(live.directory(), dir)) {
            return UnitSession.live(live);
        }
        return UnitSession.offline(openReadOnly(dir));
    }

    private static boolean sameDirectory(Path real, Path dir) {
        try {
            return Files.isDirectory(dir) && real.equals(dir.toRealPath());
        } catch (java.io.IOException e) {
            return false;
        }
    }

    static void checkUnitDirectory(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new CliException("no such directory: " + dir);
        }
        if (!Files.isRegularFile(dir.resolve("unit.properties"))) {
            throw new CliException("no scemu unit in " + dir + " (create one with 'scemu create " + dir + "')");
        }
    }

    private static StorageControlUnit withNotices(StorageControlUnit unit) {
        printNotices(unit, "");
        haltForTests(unit);
        return unit;
    }

    /** Reports on stderr what the open finished for interrupted operations (each notice, then {@code suffix}). */
    private static void printNotices(StorageControlUnit unit, String suffix) {
        PrintWriter err = notices;
        for (String notice : unit.snapshots().recoveredAtOpen().notices()) {
            err.println("scemu: note: " + notice + suffix);
        }
        err.flush();
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
            throw new UsageException("disk index " + index + " is outside 0.." + (count - 1));
        }
    }
}
