package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static dev.scemu.cli.CliTestSupport.run;
import static dev.scemu.cli.CliTestSupport.scemu;
import static dev.scemu.cli.CliTestSupport.startScemu;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code nbdinfo --map} against {@code scemu serve} (a RAID-5 unit of sparse member files under
 * the snapshot volume): a fresh volume is holes, written ranges are data, a trim of blocks a
 * snapshot needs is data (preserved, then zeros written), a trim no snapshot needs is
 * {@code hole,zero} over the whole stripe rows it covers (passed down to every member, which punch
 * holes) and data only on the partial rows at its ends, and a snapshot export keeps the
 * allocation of its instant after the live volume has changed.
 */
class CliBlockStatusTest {

    /** One line of {@code nbdinfo --map}: offset, length, type (3 hole+zero, 2 zero, 0 data). */
    record MapLine(long offset, long length, int type) {
    }

    private static List<MapLine> map(String uri) {
        CliTestSupport.ProcessResult result = run(List.of("nbdinfo", "--map", uri));
        assertThat(result.exitCode()).as(result.output()).isZero();
        List<MapLine> lines = new ArrayList<>();
        for (String line : result.output().strip().split("\n")) {
            String[] f = line.strip().split("\\s+");
            lines.add(new MapLine(Long.parseLong(f[0]), Long.parseLong(f[1]), Integer.parseInt(f[2])));
        }
        return lines;
    }

    /** The byte ranges reported as data (type 0), merged. */
    private static List<long[]> data(List<MapLine> lines) {
        List<long[]> ranges = new ArrayList<>();
        for (MapLine line : lines) {
            if (line.type() != 0) {
                continue;
            }
            long[] last = ranges.isEmpty() ? null : ranges.get(ranges.size() - 1);
            if (last != null && last[1] == line.offset()) {
                last[1] = line.offset() + line.length();
            } else {
                ranges.add(new long[] {line.offset(), line.offset() + line.length()});
            }
        }
        return ranges;
    }

    private static boolean covers(List<long[]> ranges, long from, long to) {
        return ranges.stream().anyMatch(r -> r[0] <= from && to <= r[1]);
    }

    private static long bytes(List<long[]> ranges) {
        return ranges.stream().mapToLong(r -> r[1] - r[0]).sum();
    }

    private static void qemuIo(String uri, String command) {
        CliTestSupport.ProcessResult result = run(List.of("qemu-io", "-f", "raw", uri, "-c", command));
        assertThat(result.exitCode()).as(result.output()).isZero();
        assertThat(result.output()).doesNotContain("failed");
    }

    /**
     * Writes 8 stripe rows' worth (1536 KiB) at {@code from}, flushes (no COW batch holds it), trims
     * it: it reads zeros, the whole stripe rows it covers are {@code hole,zero}, and at most the two
     * partial rows at its ends are data (zeros written, parity kept right).
     */
    private static void assertTrimIsHoleOnWholeRows(String base, long from) {
        long length = 8 * (192L << 10);
        qemuIo(base + "volume", "write -P 0xcc " + from + " " + length);
        qemuIo(base + "volume", "flush");
        qemuIo(base + "volume", "discard " + from + " " + length);
        qemuIo(base + "volume", "read -P 0 " + from + " " + length);
        List<MapLine> trimmed = map(base + "volume");
        long dataInside = trimmed.stream().filter(l -> l.type() == 0)
                .mapToLong(l -> Math.max(0, Math.min(l.offset() + l.length(), from + length) - Math.max(l.offset(), from)))
                .sum();
        long holeInside = trimmed.stream().filter(l -> l.type() == 3)
                .mapToLong(l -> Math.max(0, Math.min(l.offset() + l.length(), from + length) - Math.max(l.offset(), from)))
                .sum();
        String inside = trimmed.stream().filter(l -> l.offset() < from + length && from < l.offset() + l.length())
                .map(MapLine::toString).collect(java.util.stream.Collectors.joining("\n"));
        assertThat(dataInside).as("at %d only the partial stripe rows at either end stay data (zeros written):\n%s",
                from, inside).isLessThanOrEqualTo(2 * (192L << 10));
        assertThat(holeInside).as("the whole stripe rows are hole,zero again:\n%s", inside)
                .isGreaterThanOrEqualTo(length - 2 * (192L << 10));
    }

    @Test
    void volumeAndSnapshotExportsReportTheirAllocation(@TempDir Path tmp) throws Exception {
        assumeTrue(CliTestSupport.installed("nbdinfo"), "nbdinfo (libnbd-bin) is not installed");
        assumeTrue(CliTestSupport.installed("qemu-io"), "qemu-io (qemu-utils) is not installed");
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir); // RAID-5, 4 × 16 MiB, chunk 64 KiB: a stripe row holds 192 KiB of data
        Path log = tmp.resolve("serve.log");
        Process server = startScemu(log, "serving", "serve", dir, "--port", "0");
        try {
            Matcher m = Pattern.compile("nbd://127\\.0\\.0\\.1:(\\d+)/volume").matcher(Files.readString(log));
            assertThat(m.find()).as(Files.readString(log)).isTrue();
            String base = "nbd://127.0.0.1:" + m.group(1) + "/";

            List<MapLine> fresh = map(base + "volume");
            long size = fresh.get(fresh.size() - 1).offset() + fresh.get(fresh.size() - 1).length();
            assertThat(bytes(data(fresh))).as("a fresh volume is holes").isZero();

            qemuIo(base + "volume", "write -P 0xaa 1M 64k");
            List<long[]> written = data(map(base + "volume"));
            assertThat(covers(written, 1 << 20, (1 << 20) + (64 << 10))).isTrue();
            // RAID-5: parity makes the same offsets of the row's other chunks data too (at most a row)
            assertThat(bytes(written)).isBetween(64L << 10, 192L << 10);

            assertTrimIsHoleOnWholeRows(base, 10L << 20); // no snapshot at all
            assertThat(scemu("snapshot", "create", dir, "s1").ok().out()).contains("exported as snap-1");
            qemuIo(base + "volume", "write -P 0xbb 4M 64k");
            qemuIo(base + "volume", "discard 1M 64k");
            List<long[]> live = data(map(base + "volume"));
            assertThat(covers(live, 4 << 20, (4 << 20) + (64 << 10))).isTrue();
            assertThat(covers(live, 1 << 20, (1 << 20) + (64 << 10)))
                    .as("trimmed through the volume while the snapshot needs the old data: preserved,"
                            + " then zeros written (and a partial stripe row below): data").isTrue();

            // written after the snapshot (so no snapshot needs it), flushed (no COW batch holds it),
            // then trimmed: 8 stripe rows' worth, so whole rows of the array are trimmed on every member
            assertTrimIsHoleOnWholeRows(base, 6L << 20);

            List<MapLine> snapshot = map(base + "snap-1");
            assertThat(snapshot.get(snapshot.size() - 1).offset() + snapshot.get(snapshot.size() - 1).length())
                    .isEqualTo(size);
            List<long[]> seen = data(snapshot);
            assertThat(covers(seen, 1 << 20, (1 << 20) + (64 << 10))).as("the snapshot's data, preserved").isTrue();
            assertThat(seen.stream().noneMatch(r -> r[0] < (4 << 20) + (64 << 10) && (4 << 20) < r[1]))
                    .as("written after the snapshot: not data in it").isTrue();
            assertThat(snapshot).as("the snapshot saw a hole there: zeros")
                    .anyMatch(l -> l.offset() <= (4 << 20) && (4 << 20) + (64 << 10) <= l.offset() + l.length()
                            && (l.type() & 2) != 0);
        } finally {
            server.destroy();
            if (!server.waitFor(60, TimeUnit.SECONDS)) {
                CliTestSupport.kill9(server);
            }
        }
    }
}
