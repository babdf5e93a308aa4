package dev.scemu.nbd;

import dev.scemu.core.RequiredTool;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs real client programs (qemu-io, nbdinfo, ...) for tests, skipping tests whose program is missing. */
final class Processes {

    static final long TIMEOUT_SECONDS = 60;

    record Result(int exitCode, String output) {
    }

    private Processes() {
    }

    /** Skips the test when {@code program} is missing; fails it under CI=true ({@link RequiredTool}). */
    static void assumeInstalled(String program, String debianPackage) {
        RequiredTool.require(program, debianPackage);
    }

    /** Runs {@code command} with no input, its output (stdout and stderr) logged in {@code logDir}. */
    static Result run(Path logDir, String... command) throws IOException, InterruptedException {
        Path log = Files.createTempFile(logDir, "process", ".log");
        Process process = new ProcessBuilder(new ArrayList<>(List.of(command)))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .start();
        if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError(String.join(" ", command) + " did not finish in " + TIMEOUT_SECONDS
                    + " s:\n" + Files.readString(log, StandardCharsets.UTF_8));
        }
        return new Result(process.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    }
}
