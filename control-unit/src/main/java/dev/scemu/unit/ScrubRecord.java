package dev.scemu.unit;

import dev.scemu.raid.ScrubResult;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;

/**
 * The result of the last scrub of a unit, kept in {@code DIR/scrub.properties} so that
 * {@code status} can show it after the scrubbing process is gone. Written atomically (a temporary
 * file, fsync, rename over the old one, fsync of the directory): a crash leaves the old or the new
 * record, never a mix. Keys (Java properties, ISO-8859-1):
 *
 * <pre>
 * time              ISO-8601 instant the scrub finished     2026-12-05T10:00:00Z
 * stripesChecked    stripes read and compared
 * mismatchedStripes stripes whose parity/mirrors disagreed with the data
 * repairedStripes   of those, rewritten (repair mode)
 * mismatchOffsets   array byte offsets of the first {@value #MAX_OFFSETS} mismatched stripes, comma-separated
 * </pre>
 *
 * @param time              when the scrub finished
 * @param stripesChecked    stripes read and compared
 * @param mismatchedStripes stripes found inconsistent
 * @param repairedStripes   stripes rewritten
 * @param mismatchOffsets   array byte offsets of (up to {@value #MAX_OFFSETS}) mismatched stripes
 */
public record ScrubRecord(Instant time, long stripesChecked, long mismatchedStripes, long repairedStripes,
                          List<Long> mismatchOffsets) {

    /** File name of the record in the unit directory. */
    public static final String FILE = "scrub.properties";
    /** Mismatch offsets the record keeps. */
    public static final int MAX_OFFSETS = 64;

    private static final DateTimeFormatter DISPLAY = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss 'UTC'")
            .withZone(ZoneOffset.UTC);

    public ScrubRecord {
        mismatchOffsets = List.copyOf(mismatchOffsets);
    }

    static ScrubRecord of(Instant time, ScrubResult result, List<Long> offsets) {
        return new ScrubRecord(time, result.stripesChecked(), result.mismatchedStripes(), result.repairedStripes(),
                offsets.subList(0, Math.min(offsets.size(), MAX_OFFSETS)));
    }

    /** True if the scrub found stripes it did not repair: the array's redundancy is not trustworthy. */
    public boolean leftMismatches() {
        return mismatchedStripes > repairedStripes;
    }

    /** "2026-12-05 10:00:00 UTC: 3 stripes mismatched, repaired" (one line). */
    public String describe() {
        String outcome;
        if (mismatchedStripes == 0) {
            outcome = "no mismatch in " + stripesChecked + " stripes";
        } else {
            outcome = mismatchedStripes + " stripe" + (mismatchedStripes == 1 ? "" : "s") + " mismatched, "
                    + (repairedStripes == mismatchedStripes ? "repaired" : repairedStripes == 0 ? "not repaired"
                    : repairedStripes + " repaired");
        }
        return DISPLAY.format(time) + ": " + outcome;
    }

    /** Writes the record to {@code directory} atomically. */
    void save(Path directory) {
        Properties p = new Properties();
        p.setProperty("time", time.toString());
        p.setProperty("stripesChecked", Long.toString(stripesChecked));
        p.setProperty("mismatchedStripes", Long.toString(mismatchedStripes));
        p.setProperty("repairedStripes", Long.toString(repairedStripes));
        p.setProperty("mismatchOffsets", String.join(",", mismatchOffsets.stream().map(String::valueOf).toList()));
        UnitFiles.writeProperties(directory.resolve(FILE), p, "scemu: last scrub");
    }

    /** The record in {@code directory}, if a scrub ever finished there. */
    static Optional<ScrubRecord> load(Path directory) {
        Path file = directory.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(file)) {
            p.load(in);
            List<Long> offsets = new ArrayList<>();
            for (String offset : p.getProperty("mismatchOffsets", "").split(",")) {
                if (!offset.isBlank()) {
                    offsets.add(Long.parseLong(offset.strip()));
                }
            }
            return Optional.of(new ScrubRecord(Instant.parse(p.getProperty("time")),
                    Long.parseLong(p.getProperty("stripesChecked")), Long.parseLong(p.getProperty("mismatchedStripes")),
                    Long.parseLong(p.getProperty("repairedStripes")), offsets));
        } catch (IOException | RuntimeException e) {
            throw new UnitException(UnitError.INVALID_LAYOUT, "scrub record " + file + " is unreadable: " + e.getMessage());
        }
    }
}
