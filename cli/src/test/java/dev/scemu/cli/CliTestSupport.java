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
            return err.lines().filter(l -> !l.startsWith("\r") && !l.isBlank()).reduce("", (a, b) -> a + b + "\n");
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
