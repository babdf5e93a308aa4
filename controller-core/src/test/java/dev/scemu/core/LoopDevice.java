package dev.scemu.core;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Linux loop device over an image file ({@code losetup -f --show [-r] FILE}), detached by
 * {@link #close()} ({@code losetup -d}; a device still open is detached by the kernel at its last
 * close). Loop devices are not a required tool: where {@code losetup} or {@code /dev/loop-control}
 * is missing, or attaching is refused (a container without the capability), the test is skipped
 * with the reason, under {@code CI=true} too.
 */
public final class LoopDevice implements AutoCloseable {

    private static final long TIMEOUT_SECONDS = 30;
    private static final String LOSETUP = List.of("/usr/sbin/losetup", "/sbin/losetup", "/usr/bin/losetup").stream()
            .filter(p -> Files.isExecutable(Path.of(p))).findFirst().orElse(null);

    private final Path device;
    private boolean detached;

    private LoopDevice(Path device) {
        this.device = device;
    }

    /** Attaches {@code file} to a free loop device, read-only ({@code -r}) if asked; skips the test if impossible. */
    public static LoopDevice attach(Path file, boolean readOnly) {
        assumeTrue(LOSETUP != null, "losetup is not installed: no loop devices; skipping");
        assumeTrue(Files.exists(Path.of("/dev/loop-control")), "/dev/loop-control is missing: no loop devices; skipping");
        List<String> command = new ArrayList<>(List.of(LOSETUP, "-f", "--show"));
        if (readOnly) {
            command.add("-r");
        }
        command.add(file.toAbsolutePath().toString());
        String[] result = run(command);
        assumeTrue(result[0].equals("0"), "cannot attach a loop device (" + String.join(" ", command) + "): "
                + result[1].strip() + "; skipping");
        return new LoopDevice(Path.of(result[1].strip()));
    }

    /** The block special file, e.g. /dev/loop3. */
    public Path path() {
        return device;
    }

    /** Detaches the device. Idempotent. */
    @Override
    public void close() {
        if (!detached) {
            detached = true;
            String[] result = run(List.of(LOSETUP, "-d", device.toString()));
            if (!result[0].equals("0")) {
                throw new AssertionError("losetup -d " + device + " failed: " + result[1]);
            }
        }
    }

    @Override
    public String toString() {
        return device.toString();
    }

    /** {exit status, output}. */
    private static String[] run(List<String> command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
            byte[] out = process.getInputStream().readAllBytes();
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError(command + " did not finish in " + TIMEOUT_SECONDS + " s");
            }
            return new String[] {Integer.toString(process.exitValue()), new String(out, StandardCharsets.UTF_8)};
        } catch (IOException e) {
            throw new AssertionError("cannot run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
