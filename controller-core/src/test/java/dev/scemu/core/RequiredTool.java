package dev.scemu.core;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * The one gate of tests that need a real program or library (mdadm, qemu-io, nbdinfo, sfdisk,
 * openssl, ISA-L, ...): on a developer's machine a missing one skips the test with a note; under
 * {@code CI=true} (what {@code .ci/run} runs with) it fails the test naming what is missing and its
 * Debian package, so CI cannot stay green by skipping. Shipped in controller-core's test jar.
 */
public final class RequiredTool {

    private RequiredTool() {
    }

    /** True when {@code program} is an executable in a PATH directory, /usr/sbin or /sbin. */
    public static boolean installed(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return Files.isExecutable(Path.of("/usr/sbin", program)) || Files.isExecutable(Path.of("/sbin", program));
    }

    /** Skips (fails under CI=true) unless {@code program} is installed. */
    public static void require(String program, String debianPackage) {
        requireThat(installed(program), program, debianPackage);
    }

    /** Skips (fails under CI=true) unless {@code available}; {@code what} names the tool or library. */
    public static void requireThat(boolean available, String what, String debianPackage) {
        check(available, what, debianPackage, isCi());
    }

    /** CI=true in the environment, or -Dscemu.requireTools=true. */
    public static boolean isCi() {
        return "true".equalsIgnoreCase(System.getenv("CI")) || Boolean.getBoolean("scemu.requireTools");
    }

    static void check(boolean available, String what, String debianPackage, boolean ci) {
        if (available) {
            return;
        }
        String message = what + " is not installed (apt-get install " + debianPackage + ")";
        if (ci) {
            throw new AssertionError("CI=true requires " + message + "; .ci/run installs it");
        }
        System.out.println("NOTE: " + message + "; skipping");
        Assumptions.assumeTrue(false, message + "; skipping");
    }
}
