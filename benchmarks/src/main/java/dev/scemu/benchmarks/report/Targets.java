package dev.scemu.benchmarks.report;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Properties;

/**
 * The performance targets of {@code bench/targets.properties} (in the repository, committed with the
 * report that judges them). Every key the renderer asks for must be there: a missing or malformed
 * one fails the render naming the key and the file.
 */
public final class Targets {

    private final Properties values;
    private final Path file;

    private Targets(Properties values, Path file) {
        this.values = values;
        this.file = file;
    }

    public static Targets load(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("targets file " + file + " not found (bench/targets.properties)");
        }
        Properties values = new Properties();
        try (Reader in = Files.newBufferedReader(file)) {
            values.load(in);
        }
        return new Targets(values, file);
    }

    /** The threshold stored under {@code key}. */
    public double value(String key) {
        String text = values.getProperty(key);
        if (text == null) {
            throw new IllegalArgumentException("target " + key + " is missing from " + file);
        }
        try {
            return Double.parseDouble(text.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("target " + key + " in " + file + " is not a number: '" + text + "'");
        }
    }

    /** The threshold as the report prints it (no trailing zeros: 0.01, 2.1, 10). */
    public String text(String key) {
        double v = value(key);
        return v == Math.rint(v) ? String.format(Locale.ROOT, "%d", (long) v)
                : java.math.BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
    }

    public Path file() {
        return file;
    }
}
