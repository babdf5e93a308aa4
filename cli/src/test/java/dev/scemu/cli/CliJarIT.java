package dev.scemu.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code java -jar scemu.jar} with no JVM flag works: the shaded jar's manifest carries
 * Add-Exports, Add-Opens and Enable-Native-Access (failsafe: runs after {@code package}).
 */
class CliJarIT {

    private static final Path JAR = Path.of("target", "scemu.jar");

    @Test
    void manifestCarriesTheJvmFlags() throws IOException {
        try (JarFile jar = new JarFile(JAR.toFile())) {
            Attributes main = jar.getManifest().getMainAttributes();
            assertThat(main.getValue("Main-Class")).isEqualTo("dev.scemu.cli.Main");
            assertThat(main.getValue("Add-Exports").split(" "))
                    .containsExactlyInAnyOrder("java.base/jdk.internal.ref", "java.base/sun.nio.ch", "java.base/jdk.internal.util");
            assertThat(main.getValue("Add-Opens").split(" "))
                    .containsExactlyInAnyOrder("java.base/java.lang.reflect", "java.base/java.nio");
            assertThat(main.getValue("Enable-Native-Access")).isEqualTo("ALL-UNNAMED");
        }
    }

    @Test
    void createAndStatusRunWithoutAnyJvmFlag(@TempDir Path tmp) throws Exception {
        Path unit = tmp.resolve("nas");
        Run created = java("-jar", JAR.toString(), "create", unit.toString(), "--level", "5", "--disks", "3",
                "--disk-size", "16M", "--chunk", "64K");
        assertThat(created.status).as("create: %s", created.output).isZero();
        Run status = java("-jar", JAR.toString(), "status", unit.toString());
        assertThat(status.status).as("status: %s", status.output).isZero();
        assertThat(status.output).doesNotContain("IllegalAccess").doesNotContain("JVM_FLAGS_MISSING");
        assertThat(Files.exists(unit.resolve("disk0.img"))).isTrue();
    }

    @Test
    void onTheClassPathWithoutFlagsTheErrorNamesThem(@TempDir Path tmp) throws Exception {
        Run run = java("-cp", JAR.toString(), "dev.scemu.cli.Main", "create", tmp.resolve("nas").toString(),
                "--level", "1", "--disks", "2", "--disk-size", "16M");
        assertThat(run.status).isNotZero();
        assertThat(run.output).contains("JVM_FLAGS_MISSING").contains("--add-exports=java.base/sun.nio.ch=ALL-UNNAMED")
                .doesNotContain("IllegalAccessError").doesNotContain("\tat ");
    }

    private record Run(int status, String output) {
    }

    private static Run java(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx256m");
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().remove("JDK_JAVA_OPTIONS");
        Process child = builder.start();
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(child.waitFor(120, TimeUnit.SECONDS)).as("child exits").isTrue();
        return new Run(child.exitValue(), output);
    }
}
