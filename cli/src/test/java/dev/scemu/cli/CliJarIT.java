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

    @Test
    void aCommandLoadsNeitherJnrFfiNorTheOtherCommandsModels(@TempDir Path tmp) throws Exception {
        Path unit = tmp.resolve("nas");
        assertThat(java("-jar", JAR.toString(), "create", unit.toString(), "--level", "5", "--disks", "3",
                "--disk-size", "16M", "--chunk", "64K").status).isZero();
        Run status = java("-Xlog:class+load", "-jar", JAR.toString(), "status", unit.toString());
        assertThat(status.status).as("status: %s", status.output).isZero();
        assertThat(status.output).contains("dev.scemu.cli.StatusCommand", "picocli.CommandLine ")
                .doesNotContain("jnr.ffi.") // ColdStart: OpenHFT's no-op PosixAPI, not jnr-ffi's generated stubs
                .doesNotContain("BackupCommand$TargetOptions"); // CommandTree: backup's model was not built
    }

    /**
     * The launcher in a copy of the repository's layout (no sources, so it builds nothing): the first
     * run makes the command's class archive (JDK 17/18 and 25+: after a successful run; 19-24: the
     * JVM at exit), a later run uses it, and every run prints what the launcher prints without
     * archives ({@code SCEMU_CDS=0}: the same JVM flags, so JDK 24+'s Unsafe warnings stay off too).
     */
    @Test
    void theLauncherMakesAndUsesItsArchiveWithoutChangingTheOutput(@TempDir Path tmp) throws Exception {
        Path root = tmp.resolve("repo");
        Files.createDirectories(root.resolve("bench"));
        Files.createDirectories(root.resolve("cli/target"));
        Files.copy(Path.of("..", "scemu"), root.resolve("scemu"));
        Files.copy(Path.of("..", "bench", "jvm-flags.sh"), root.resolve("bench/jvm-flags.sh"));
        Files.copy(JAR, root.resolve("cli/target/scemu.jar"));
        Path unit = tmp.resolve("nas");
        assertThat(java("-jar", JAR.toString(), "create", unit.toString(), "--level", "5", "--disks", "3",
                "--disk-size", "16M", "--chunk", "64K").status).isZero();
        Run direct = launcher(root, false, "status", unit.toString());
        try (var files = Files.list(root.resolve("cli/target"))) {
            assertThat(files.count()).as("SCEMU_CDS=0 makes no archive").isEqualTo(1);
        }

        Run first = launcher(root, true, "status", unit.toString());
        try (var files = Files.list(root.resolve("cli/target"))) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).as("archives after the first run")
                    .anyMatch(name -> name.matches("scemu-java\\d+-status\\.(jsa|aot)"))
                    .noneMatch(name -> name.endsWith(".tmp") || name.endsWith(".conf"));
        }
        Run second = launcher(root, true, "status", unit.toString());
        assertThat(first.status).as("first: %s", first.output).isZero();
        assertThat(second.status).isZero();
        assertThat(first.output).isEqualTo(direct.output);
        assertThat(second.output).isEqualTo(direct.output);

        Run usage = launcher(root, true, "status");
        assertThat(usage.status).isEqualTo(ExitStatus.USAGE);
        assertThat(usage.output.strip()).isEqualTo("scemu: Missing required parameter: 'DIR' (see 'scemu status --help')");
    }

    private static Run launcher(Path root, boolean archives, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(root.resolve("scemu").toString());
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().remove("JDK_JAVA_OPTIONS");
        builder.environment().remove("SCEMU_JAVA_OPTS");
        builder.environment().remove("SCEMU_CDS");
        if (!archives) {
            builder.environment().put("SCEMU_CDS", "0");
        }
        builder.environment().put("PATH", Path.of(System.getProperty("java.home"), "bin") + java.io.File.pathSeparator
                + System.getenv().getOrDefault("PATH", ""));
        Process child = builder.start();
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(child.waitFor(300, TimeUnit.SECONDS)).as("launcher exits").isTrue();
        return new Run(child.exitValue(), output);
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
