package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A JVM started without the flags fails at the first device with one {@link CoreException} that
 * lists exactly the missing flags; a JVM with some of them lists only the rest. Runs child JVMs on
 * this test's class path ({@link Probe} is their main class).
 */
class JvmFlagsTest {

    /** The child: opens a memory device and prints "OK" or the exception's class, category and message. */
    public static final class Probe {
        public static void main(String[] args) {
            try (BlockDevice device = Media.memory("probe", new BlockGeometry(4096, 16))) {
                device.flush();
                System.out.println("OK");
            } catch (ScemuException e) {
                System.out.println(e.getClass().getSimpleName() + " " + e.category() + " " + e.getMessage());
            }
        }
    }

    @Test
    void withoutAnyFlagTheFirstDeviceNamesEveryMissingFlag() throws Exception {
        String line = runProbe(List.of());
        List<String> expected = new ArrayList<>(JvmFlags.allFlags("ALL-UNNAMED"));
        if (Runtime.version().feature() < 22) {
            expected.remove("--enable-native-access=ALL-UNNAMED"); // JDK 17..21 cannot tell (and do not need it)
        }
        assertThat(line).startsWith("CoreException ENVIRONMENT JVM_FLAGS_MISSING: ")
                .contains(expected.size() + " flag(s)")
                .contains(String.join(" ", expected))
                .contains("Surefire's <argLine>").contains("JDK_JAVA_OPTIONS").doesNotContain("IllegalAccessError");
    }

    @Test
    void withSomeFlagsOnlyTheOthersAreListed() throws Exception {
        List<String> given = List.of("--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
                "--add-opens=java.base/java.nio=ALL-UNNAMED", "--enable-native-access=ALL-UNNAMED");
        String line = runProbe(given);
        assertThat(line).startsWith("CoreException ENVIRONMENT JVM_FLAGS_MISSING: this JVM was started without 3 flag(s)")
                .contains("--add-exports=java.base/jdk.internal.ref=ALL-UNNAMED --add-exports=java.base/jdk.internal.util=ALL-UNNAMED "
                        + "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED.");
        for (String flag : given) {
            assertThat(line).doesNotContain(flag + " ").doesNotContain(flag + ".");
        }
    }

    @Test
    void withEveryFlagTheDeviceWorks() throws Exception {
        assertThat(runProbe(JvmFlags.allFlags("ALL-UNNAMED"))).isEqualTo("OK");
        assertThat(JvmFlags.missing()).as("this test JVM (Surefire argLine)").isEmpty();
    }

    private static String runProbe(List<String> flags) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(flags);
        if (Runtime.version().feature() >= 24) {
            command.add("--sun-misc-unsafe-memory-access=allow");
        }
        command.addAll(List.of("-Xmx64m", "-Dchronicle.analytics.disable=true", "-Ddisable.perf.info=true",
                "-cp", System.getProperty("java.class.path"), Probe.class.getName()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(false);
        builder.environment().remove("JDK_JAVA_OPTIONS");
        Process child = builder.redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(child.waitFor(60, TimeUnit.SECONDS)).as("child exits").isTrue();
        assertThat(child.exitValue()).as("child status; out: %s", out).isZero();
        return out.lines().reduce((a, b) -> b).orElse("");
    }
}
