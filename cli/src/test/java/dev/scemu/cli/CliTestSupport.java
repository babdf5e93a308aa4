package dev.scemu.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/** Runs the command line in-process and helpers shared by the CLI tests. */
final class CliTestSupport {

    private CliTestSupport() {
    }

    record Result(int status, String out, String err) {
        /** The error stream without progress-bar lines. */
        String errorLines() {
            return java.util.Arrays.stream(err.split("\n")).filter(l -> !l.contains("\r") && !l.isBlank())
                    .reduce("", (a, b) -> a + b + "\n");
        }

        Result ok() {
            assertThat(status).as("status; stdout:%n%s%nstderr:%n%s", out, err).isZero();
            return this;
        }

        /** Failed with exactly one line "scemu: ..." on stderr. */
        Result failsWithOneLine(String expected) {
            assertThat(status).as("status; stdout: %s", out).isNotZero();
            assertThat(errorLines().strip().lines().toList()).as("stderr").hasSize(1);
            assertThat(errorLines()).startsWith("scemu: ").contains(expected);
            return this;
        }
    }

    static Result scemu(Object... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] strings = new String[args.length];
        for (int i = 0; i < args.length; i++) {
            strings[i] = String.valueOf(args[i]);
        }
        int status = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), strings);
        return new Result(status, out.toString(), err.toString());
    }

    static Result createSmallUnit(Path dir) {
        return scemu("create", dir, "--level", "5", "--disks", "4", "--disk-size", "16M", "--chunk", "64K").ok();
    }

    static ByteBuffer pattern(long seed, int blocks) {
        byte[] bytes = new byte[blocks * 4096];
        new Random(seed).nextBytes(bytes);
        return ByteBuffer.allocateDirect(bytes.length).put(bytes).clear();
    }

    static ByteBuffer filled(int value, int blocks) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(blocks * 4096);
        while (buffer.hasRemaining()) {
            buffer.put((byte) value);
        }
        return buffer.clear();
    }

    /** A password file in {@code dir} holding {@code password} and a newline, named after it. */
    static Path passwordFile(Path dir, String password) {
        Path file = dir.resolve("password-" + password.replaceAll("[^A-Za-z0-9]", "_"));
        try {
            Files.writeString(file, password + "\n");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return file;
    }

    /** Opens the unit in {@code dir}, writes {@code data} (whole 4 KiB blocks) at {@code lba}, flushes and closes it. */
    static void writeVolume(Path dir, long lba, ByteBuffer data) {
        try (dev.scemu.unit.StorageControlUnit unit = dev.scemu.unit.StorageControlUnit.open(dir)) {
            unit.host().write(lba, data.remaining() / 4096, data, data.position());
            unit.host().flush();
        }
    }

    static ByteBuffer read(BlockDevice device, long lba, int blocks) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(blocks * 4096);
        device.read(lba, blocks, buffer, 0);
        return buffer.clear();
    }

    static boolean installed(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            if (Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    record ProcessResult(int exitCode, String output) {
    }

    /**
     * {@code scemu ARGS} in a child JVM (this test's class path), started with its output in
     * {@code log}; returns once a line of its output contains {@code readyLine} (deadline 60 s).
     */
    static Process startScemu(Path log, String readyLine, Object... args) {
        List<String> command = new java.util.ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "-Xmx256m"));
        for (String jvmArg : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (jvmArg.startsWith("--add-") || jvmArg.startsWith("--enable-native-access")
                    || jvmArg.startsWith("--sun-misc-unsafe-memory-access")
                    || jvmArg.startsWith("-Ddisable.perf") || jvmArg.startsWith("-Dchronicle")) {
                command.add(jvmArg); // what the off-heap media need (surefire's argLine)
            }
        }
        command.add(Main.class.getName());
        for (Object arg : args) {
            command.add(String.valueOf(arg));
        }
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (true) {
                if (Files.exists(log) && Files.readString(log).contains(readyLine)) {
                    return process;
                }
                if (!process.isAlive()) {
                    throw new AssertionError("scemu " + List.of(args) + " exited " + process.exitValue()
                            + " before '" + readyLine + "':\n" + Files.readString(log));
                }
                if (System.nanoTime() > deadline) {
                    process.destroyForcibly();
                    throw new AssertionError("scemu " + List.of(args) + " did not print '" + readyLine + "' in 60 s:\n"
                            + Files.readString(log));
                }
                process.waitFor(50, TimeUnit.MILLISECONDS); // polls an external process, with a deadline
            }
        } catch (IOException e) {
            throw new AssertionError("cannot start " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Kills {@code process} with SIGKILL and waits for it to be gone. */
    static void kill9(Process process) {
        process.destroyForcibly();
        try {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                throw new AssertionError("process " + process.pid() + " survived SIGKILL for 30 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** SHA-256 of every member image and nvram.img of the unit in {@code dir}, by file name. */
    static java.util.Map<String, String> imageHashes(Path dir) {
        java.util.Map<String, String> hashes = new java.util.TreeMap<>();
        try (var files = Files.list(dir)) {
            for (Path file : files.filter(f -> f.getFileName().toString().endsWith(".img")).toList()) {
                java.security.MessageDigest digest = java.security.MessageDigest.getInstance("SHA-256");
                try (var in = Files.newInputStream(file)) {
                    byte[] chunk = new byte[1 << 20];
                    for (int n; (n = in.read(chunk)) > 0; ) {
                        digest.update(chunk, 0, n);
                    }
                }
                hashes.put(file.getFileName().toString(), java.util.HexFormat.of().formatHex(digest.digest()));
            }
        } catch (IOException | java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
        return hashes;
    }

    /** {@code scemu ARGS} in a child JVM (this test's class path), run to its end: its exit status and output. */
    static ProcessResult scemuProcess(Object... args) {
        List<String> command = new java.util.ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m"));
        for (String jvmArg : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (jvmArg.startsWith("--add-") || jvmArg.startsWith("--enable-native-access")
                    || jvmArg.startsWith("--sun-misc-unsafe-memory-access")
                    || jvmArg.startsWith("-Ddisable.perf") || jvmArg.startsWith("-Dchronicle")) {
                command.add(jvmArg); // what the off-heap media need (surefire's argLine)
            }
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        for (Object arg : args) {
            command.add(String.valueOf(arg));
        }
        return run(command);
    }

    static ProcessResult run(List<String> command) {
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            byte[] output = process.getInputStream().readAllBytes();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("timed out: " + command);
            }
            return new ProcessResult(process.exitValue(), new String(output, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new AssertionError("cannot run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
