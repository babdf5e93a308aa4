package dev.scemu.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@link PhaseTrace} in a child JVM (the switch is read once, when the class loads): with
 * {@code -Dscemu.trace.phases=true} the spans of every thread and the marks are printed on stderr
 * at exit, sorted by start, each with its thread; without it nothing is printed.
 */
class PhaseTraceTest {

    /** The child: a mark, a span on the main thread around a span on a worker thread. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            PhaseTrace.mark("child main");
            ExecutorService worker = Executors.newSingleThreadExecutor(r -> new Thread(r, "trace-worker"));
            try (PhaseTrace.Span outer = PhaseTrace.begin("outer phase")) {
                worker.submit(() -> {
                    try (PhaseTrace.Span inner = PhaseTrace.begin("inner phase")) {
                        long x = 0;
                        for (int i = 0; i < 1_000_000; i++) {
                            x += i;
                        }
                        return x;
                    }
                }).get();
            } finally {
                worker.shutdown();
            }
            System.exit(0);
        }
    }

    private static List<String> runChild(boolean traced) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = new ArrayList<>(List.of(java.toString(), "-cp", System.getProperty("java.class.path")));
        if (traced) {
            command.add("-D" + PhaseTrace.PROPERTY + "=true");
        }
        command.add(Child.class.getName());
        Process process = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        byte[] err = process.getErrorStream().readAllBytes(); // until the child closes it (it exits)
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("child exited").isTrue();
        assertThat(process.exitValue()).isZero();
        return new String(err, StandardCharsets.UTF_8).lines().toList();
    }

    @Test
    void printsEveryThreadsSpansInStartOrderAtExitWhenAskedAndNothingOtherwise() throws Exception {
        List<String> lines = runChild(true);
        assertThat(lines).isNotEmpty();
        assertThat(lines.get(0)).startsWith("scemu phase trace");
        int mark = indexOf(lines, "child main");
        int outer = indexOf(lines, "outer phase");
        int inner = indexOf(lines, "inner phase");
        assertThat(mark).as("the mark").isPositive().isLessThan(outer);
        assertThat(outer).as("sorted by start: the outer span starts first").isLessThan(inner);
        assertThat(lines.get(outer)).contains("main");
        assertThat(lines.get(inner)).contains("trace-worker");
        String[] outerFields = lines.get(outer).trim().split("\\s+");
        String[] innerFields = lines.get(inner).trim().split("\\s+");
        double outerStart = Double.parseDouble(outerFields[0]);
        double outerEnd = Double.parseDouble(outerFields[1]);
        double innerStart = Double.parseDouble(innerFields[0]);
        double innerEnd = Double.parseDouble(innerFields[1]);
        assertThat(outerStart).as("ms since the JVM started").isPositive();
        assertThat(innerStart).isGreaterThanOrEqualTo(outerStart);
        assertThat(innerEnd).isLessThanOrEqualTo(outerEnd).isGreaterThanOrEqualTo(innerStart);
        assertThat(Double.parseDouble(outerFields[2])).as("length").isEqualTo(outerEnd - outerStart, org.assertj.core.data.Offset.offset(0.11));
        assertThat(lines.get(lines.size() - 1)).contains("exit (shutdown hooks); process CPU");

        assertThat(runChild(false)).as("stderr without the property").isEmpty();
    }

    private static int indexOf(List<String> lines, String phase) {
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).endsWith(" " + phase)) {
                return i;
            }
        }
        throw new AssertionError("no line for " + phase + " in " + lines);
    }
}
