package dev.scemu.benchmarks.latency;

import dev.scemu.benchmarks.report.Json;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.NativeMemory;
import dev.scemu.flash.FirmwareManager;
import dev.scemu.flash.UpdateReport;
import dev.scemu.raid.RebuildListener;
import dev.scemu.raid.RebuildProgress;
import dev.scemu.unit.DefaultFirmware;
import dev.scemu.unit.StorageControlUnit;
import dev.scemu.unit.RebuildSpeed;
import dev.scemu.unit.UnitConfig;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.HdrHistogram.Histogram;

/**
 * Latency percentiles of 4 KiB host writes through {@link StorageControlUnit#host()} (RAID-5 of 4
 * off-heap members of {@value #DISK_MIB} MiB, default firmware, seed 1), one host thread at QD1
 * writing new data to seeded random blocks of the prefilled volume, recorded in an HdrHistogram
 * (ns, 3 significant digits), in these phases of the same unit, in this order:
 * <ol>
 *   <li>{@code baseline}: no snapshot;</li>
 *   <li>{@code degraded}: member 3 failed, not replaced, no rebuild: the cost of a degraded array
 *       alone (writes to its stripes go through the parity journal), which the rebuild phases also
 *       pay beyond the rebuild's position;</li>
 *   <li>{@code rebuild-throttled-no-snapshot}: still no snapshot, member 3 replaced, one
 *       rebuild with md's speed limits ({@code -D}{@value #REBUILD_SPEED_PROPERTY}{@code =MIN:MAX}
 *       KiB/s, default 1000:200000) that yields to the writes down to MIN, its own speed reported as
 *       {@code rebuildBytesPerSecond} beside {@code minBytesPerSecond}; #20's target "host p99 during
 *       a rebuild ≤ 5x the baseline p99" compares this phase with {@code baseline} (the same snapshot
 *       state);</li>
 *   <li>{@code snapshot}: with one active snapshot (taken at the start of the phase);</li>
 *   <li>{@code rebuild}: member 3 failed and replaced, writes while it rebuilds (fail + replace is
 *       repeated until the phase's time is up; only writes issued while a rebuild runs count);</li>
 *   <li>{@code snapshot-steady}: the snapshot still active, no rebuild: the baseline of</li>
 *   <li>{@code rebuild-throttled}: the throttled rebuild again, with the snapshot active (what
 *       {@code scemu serve} runs: one snapshot), compared with {@code snapshot-steady};</li>
 *   <li>{@code firmwareUpdate}: a second thread stages a newer signed image of the control unit's
 *       default firmware ({@link DefaultFirmware#image}, versions 1.0.1, 1.0.2, ..., built before the
 *       phase) and calls {@link FirmwareManager#update()}, again and again, while the host writes;
 *       only writes issued while updates run count. Each update's switch pause and drain (from
 *       {@link UpdateReport}) go into their own histograms.</li>
 * </ol>
 * Before the first phase an unrecorded <b>warm-up</b> runs every path the phases without a snapshot
 * take, in their order: healthy writes, writes to a degraded array (member 3 failed: the parity
 * journal), writes during an unthrottled rebuild of member 3, then healthy writes again until the
 * JIT has stopped compiling ({@link #warmUp}: the JVM's total compilation time grew by less than
 * {@value #SETTLED_COMPILE_MILLIS} ms over the last {@value #SETTLE_WINDOW_MILLIS} ms, at most
 * {@value #MAX_WARMUP_SECONDS} s). Without it the first recorded phase ({@code baseline}) measured
 * the write path while C2 was still compiling it: on the shared 2-vCPU machine C2 took 3-9 s to
 * compile {@code Raid5Engine.writeSegment} and the rest of the write path, and consecutive 1 s
 * windows of the same healthy writes had p99 15-26 µs before and 2.6-3.2 µs after (the old 1.5 s
 * warm-up left the whole {@code baseline} phase in the first regime: baseline p99 21.9 µs against
 * 5.0 µs for {@code snapshot-steady}, measured much later, with the extra snapshot work). The JSON
 * records the warm-up ({@code warmup}: seconds, compilation time, whether it settled). Phases that
 * follow each other still run on a shared machine: read a ratio of two phases as a ratio of two
 * consecutive measurements, and repeat runs before trusting one. The recording loop allocates
 * nothing per write.
 *
 * <p>Usage: {@code HostWriteLatencyHarness OUT.json [SECONDS_PER_PHASE] [MAX_UPDATES] [MIN_UPDATES]}: the
 * firmware phase runs for SECONDS_PER_PHASE but at least MIN_UPDATES (default 20) and at most
 * MAX_UPDATES (default 50) updates, so the pause percentiles rest on at least 20 values.
 */
public final class HostWriteLatencyHarness {

    /** {@code MIN:MAX} in KiB/s for the throttled rebuild phase (default md's 1000:200000). */
    public static final String REBUILD_SPEED_PROPERTY = "scemu.bench.rebuildSpeed";

    static final int DISK_MIB = 64;
    /** Snapshot store: larger than the data partition, so every data block can be copied once. */
    static final int STORE_MIB = 100;
    static final long SEED = 1;
    static final long HIGHEST_NANOS = TimeUnit.SECONDS.toNanos(60);
    /** Warm-up ends once the JIT compiled for less than this ... */
    static final long SETTLED_COMPILE_MILLIS = 20;
    /** ... over this window of healthy writes, */
    static final long SETTLE_WINDOW_MILLIS = 1000;
    /** or after this long in all. */
    static final long MAX_WARMUP_SECONDS = 30;

    private final BlockDevice host;
    private final ByteBuffer block;
    private final long[] lbas;
    private final byte[] pattern;
    private int next;
    private long generation = 1;

    private HostWriteLatencyHarness(BlockDevice host, long seed) {
        this.host = host;
        this.block = NativeMemory.allocateAligned(host.blockSize(), 4096);
        Random random = new Random(seed);
        pattern = new byte[host.blockSize()];
        random.nextBytes(pattern);
        block.put(0, pattern);
        lbas = new long[1 << 16];
        for (int i = 0; i < lbas.length; i++) {
            lbas[i] = (random.nextLong() & Long.MAX_VALUE) % host.blockCount();
        }
    }

    /** One QD1 host write of new data; returns its latency in ns. */
    private long writeOnce() {
        long lba = lbas[next];
        next = (next + 1) & (lbas.length - 1);
        block.putLong(0, lba);
        block.putLong(8, ++generation);
        long start = System.nanoTime();
        host.write(lba, 1, block, 0);
        return System.nanoTime() - start;
    }

    private static void record(Histogram histogram, long nanos) {
        histogram.recordValue(Math.min(Math.max(nanos, 1), HIGHEST_NANOS));
    }

    /** Writes until {@code running} clears, recording into {@code histogram} while {@code record} is set. */
    private void writeWhile(AtomicBoolean running, AtomicBoolean recording, Histogram histogram) {
        while (running.get()) {
            boolean on = recording.get();
            long nanos = writeOnce();
            if (on && recording.get()) {
                record(histogram, nanos);
            }
        }
    }

    private Histogram timed(double seconds) {
        Histogram histogram = new Histogram(HIGHEST_NANOS, 3);
        long end = System.nanoTime() + (long) (seconds * 1e9);
        while (System.nanoTime() < end) {
            record(histogram, writeOnce());
        }
        return histogram;
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args.length > 0 ? args[0] : "bench/results/latency.json");
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 3;
        int maxUpdates = args.length > 2 ? Integer.parseInt(args[2]) : 50;
        int minUpdates = Math.min(maxUpdates, args.length > 3 ? Integer.parseInt(args[3]) : 20);
        UnitConfig config = UnitConfig.builder().disks(4, (long) DISK_MIB << 20)
                .snapshotStoreBytes((long) STORE_MIB << 20).seed(SEED).build();
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("harness", HostWriteLatencyHarness.class.getName());
        root.put("unit", "RAID-5 of 4 x " + DISK_MIB + " MiB off-heap members, chunk 64 KiB, snapshot store " + STORE_MIB + " MiB, seed " + SEED);
        root.put("secondsPerPhase", seconds);
        List<Object> phases = new ArrayList<>();
        // members write through, as scemu serve opens units (-Dscemu.bench.cache=emulated: the
        // emulated volatile cache, a simulation facility that copies every replaced block)
        boolean emulatedCache = System.getProperty("scemu.bench.cache", "writeThrough").equals("emulated");
        root.put("memberCache", emulatedCache ? "emulated write cache" : "write-through (as scemu serve)");
        try (StorageControlUnit unit = StorageControlUnit.create(config,
                emulatedCache ? new dev.scemu.core.PowerDomain(SEED) : dev.scemu.core.PowerDomain.writeThrough(SEED))) {
            BlockDevice host = unit.host();
            prefill(host);
            HostWriteLatencyHarness h = new HostWriteLatencyHarness(host, 42);

            RebuildSpeed limits = RebuildSpeed.parseKibPerSecond(System.getProperty(REBUILD_SPEED_PROPERTY,
                    "1000:200000"));
            root.put("warmup", h.warmUp(unit, seconds));
            phases.add(phase("baseline", "no snapshot", h.timed(seconds), seconds));
            unit.array().failMember(3); // stays failed: the next phase replaces it
            phases.add(phase("degraded", "no snapshot, member 3 failed and not replaced (no rebuild): writes to"
                    + " stripes that had a block on it go through the parity journal", h.timed(seconds), seconds));
            phases.add(h.throttledRebuildPhase(unit, seconds, limits, "rebuild-throttled-no-snapshot", "no snapshot"));

            unit.snapshots().createSnapshot("latency");
            phases.add(phase("snapshot", "one active snapshot (first writes copy the old block)", h.timed(seconds), seconds));

            phases.add(h.rebuildPhase(unit, seconds));
            phases.add(phase("snapshot-steady", "the same snapshot still active, no rebuild (the baseline of the next"
                    + " phase)", h.timed(seconds), seconds));
            phases.add(h.throttledRebuildPhase(unit, seconds, limits, "rebuild-throttled", "the snapshot active"));

            Map<String, Object> updates = new LinkedHashMap<>();
            phases.add(h.firmwarePhase(unit, seconds, minUpdates, maxUpdates, updates));
            root.put("firmwareUpdates", updates);
            root.put("hostIoGate", Map.of("pauseCount", unit.firmware().hostIoGate().pauseCount(),
                    "maxPauseMicros", unit.firmware().hostIoGate().maxPauseNanos() / 1e3));
            host.flush();
        }
        root.put("phases", phases);
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, Json.write(root));
        System.out.println("latency: " + out);
    }

    /**
     * The unrecorded warm-up (see the class doc): {@code seconds} of healthy writes, {@code seconds}
     * degraded (member 3 failed), writes while member 3 is replaced and rebuilt without speed limits,
     * then healthy writes in windows of {@value #SETTLE_WINDOW_MILLIS} ms until one compiled less than
     * {@value #SETTLED_COMPILE_MILLIS} ms (at most {@value #MAX_WARMUP_SECONDS} s in all). Returns what
     * the JSON records of it.
     */
    private Map<String, Object> warmUp(StorageControlUnit unit, double seconds) throws Exception {
        java.lang.management.CompilationMXBean jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        boolean monitored = jit != null && jit.isCompilationTimeMonitoringSupported();
        long start = System.nanoTime();
        long deadline = start + TimeUnit.SECONDS.toNanos(MAX_WARMUP_SECONDS);
        timed(seconds);
        unit.array().failMember(3);
        timed(seconds);
        unit.setRebuildSpeed(RebuildSpeed.UNLIMITED);
        CompletableFuture<RebuildProgress> rebuild = unit.replaceDisk(3, new RebuildListener() { });
        while (!rebuild.isDone()) {
            writeOnce();
        }
        rebuild.get();
        boolean settled = false;
        long windows = 0;
        long lastWindowMillis = -1;
        while (!settled && System.nanoTime() < deadline) {
            long before = monitored ? jit.getTotalCompilationTime() : 0;
            timed(SETTLE_WINDOW_MILLIS / 1e3);
            lastWindowMillis = monitored ? jit.getTotalCompilationTime() - before : -1;
            windows++;
            settled = monitored && lastWindowMillis < SETTLED_COMPILE_MILLIS;
        }
        Map<String, Object> warmup = new LinkedHashMap<>();
        warmup.put("seconds", (System.nanoTime() - start) / 1e9);
        warmup.put("paths", "healthy, degraded (member 3 failed), unthrottled rebuild of member 3, healthy until the JIT settled");
        warmup.put("settleWindows", windows);
        warmup.put("settled", settled);
        warmup.put("lastWindowCompileMillis", lastWindowMillis);
        warmup.put("totalCompileMillis", monitored ? jit.getTotalCompilationTime() : -1);
        System.out.printf("warm-up %.1fs, settled %s after %d windows (last window compiled %d ms)%n",
                (System.nanoTime() - start) / 1e9, settled, windows, lastWindowMillis);
        return warmup;
    }

    private static void prefill(BlockDevice host) {
        int n = 256;
        ByteBuffer big = NativeMemory.allocateAligned(n * host.blockSize(), 4096);
        Random random = new Random(7);
        byte[] bytes = new byte[big.capacity()];
        random.nextBytes(bytes);
        big.put(0, bytes);
        for (long lba = 0; lba < host.blockCount(); lba += n) {
            host.write(lba, (int) Math.min(n, host.blockCount() - lba), big, 0);
        }
        host.flush();
    }

    private Map<String, Object> rebuildPhase(StorageControlUnit unit, double seconds) throws Exception {
        Histogram histogram = new Histogram(HIGHEST_NANOS, 3);
        long end = System.nanoTime() + (long) (seconds * 1e9);
        int rebuilds = 0;
        long rebuildNanos = 0;
        while (System.nanoTime() < end || rebuilds == 0) {
            unit.array().failMember(3);
            long start = System.nanoTime();
            CompletableFuture<RebuildProgress> rebuild = unit.replaceDisk(3, new RebuildListener() { });
            while (!rebuild.isDone()) {
                record(histogram, writeOnce());
            }
            rebuild.get();
            rebuildNanos += System.nanoTime() - start;
            rebuilds++;
        }
        double speed = unit.array().memberDataBytes() * (double) rebuilds / (rebuildNanos / 1e9);
        Map<String, Object> phase = phase("rebuild", "member 3 failed, replaced and rebuilding (" + rebuilds
                + " rebuilds of a " + DISK_MIB + " MiB member, unthrottled: rebuild at "
                + String.format("%.1f", speed / 1e6) + " MB/s)", histogram, rebuildNanos / 1e9);
        phase.put("rebuilds", rebuilds);
        phase.put("meanRebuildSeconds", rebuildNanos / 1e9 / rebuilds);
        phase.put("rebuildBytesPerSecond", speed);
        return phase;
    }

    /**
     * Like {@link #rebuildPhase} with md's speed limits {@code limits} on the unit
     * ({@code StorageControlUnit.setRebuildSpeed}): one rebuild, host writes for {@code seconds}
     * while it runs (it yields to them down to its minimum); the rebuild's own speed over that time
     * is reported beside the host percentiles. Then the limits are lifted and the rebuild finishes.
     */
    private Map<String, Object> throttledRebuildPhase(StorageControlUnit unit, double seconds, RebuildSpeed limits,
                                                      String name, String snapshotState) throws Exception {
        Histogram histogram = new Histogram(HIGHEST_NANOS, 3);
        unit.setRebuildSpeed(limits);
        unit.array().failMember(3);
        // the first and the latest progress report: {bytes rebuilt, nanos since start when reported}
        AtomicReference<long[]> first = new AtomicReference<>();
        AtomicReference<long[]> rebuilt = new AtomicReference<>(new long[] {0, 0});
        long start = System.nanoTime();
        CompletableFuture<RebuildProgress> rebuild = unit.replaceDisk(3, new RebuildListener() {
            @Override
            public void onProgress(RebuildProgress progress) {
                long[] report = {progress.doneBytes(), System.nanoTime() - start};
                first.compareAndSet(null, report);
                rebuilt.set(report);
            }
        });
        long end = start + (long) (seconds * 1e9);
        while (!rebuild.isDone() && System.nanoTime() < end) {
            record(histogram, writeOnce());
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        boolean finished = rebuild.isDone();
        long[] last = rebuilt.get();
        unit.setRebuildSpeed(RebuildSpeed.UNLIMITED);
        rebuild.get();
        // the rebuild's own speed while it ran: from its first progress report (one per 64 KiB unit)
        // to its latest, as md's speed is over its marks; measured to the phase's end it would miss up
        // to one unit (60 ms at md's minimum), and from the replace call it would count the new
        // disk's creation (tens of ms); that second figure is kept as rebuildBytesPerSecondFromReplace
        long[] from = first.get();
        double speed = finished ? unit.array().memberDataBytes() / elapsed
                : from == null || last[1] <= from[1] ? 0 : (last[0] - from[0]) / ((last[1] - from[1]) / 1e9);
        double fromReplace = finished ? speed : last[1] == 0 ? 0 : last[0] / (last[1] / 1e9);
        Map<String, Object> phase = phase(name, snapshotState + ", member 3 rebuilding with speed limits min "
                + limits.minBytesPerSecond() / 1024 + " max " + limits.maxBytesPerSecond() / 1024
                + " KiB/s (md's speed_limit_min/max): rebuild at " + String.format("%.2f", speed / 1e6)
                + " MB/s while the host wrote", histogram, elapsed);
        phase.put("rebuildBytesPerSecond", speed);
        phase.put("rebuildBytesPerSecondFromReplace", fromReplace);
        // the speed's resolution: progress comes once per unit (one chunk of the member), so the
        // measured span can be off by one unit
        phase.put("rebuildUnitBytes", unit.array().chunkBytes());
        phase.put("rebuildMeasuredSeconds", finished ? elapsed : from == null ? 0 : (last[1] - from[1]) / 1e9);
        phase.put("rebuildBytes", finished ? unit.array().memberDataBytes() : last[0]);
        phase.put("minBytesPerSecond", limits.minBytesPerSecond());
        phase.put("maxBytesPerSecond", limits.maxBytesPerSecond());
        return phase;
    }

    private Map<String, Object> firmwarePhase(StorageControlUnit unit, double seconds, int minUpdates, int maxUpdates,
                                              Map<String, Object> updates) throws Exception {
        FirmwareManager firmware = unit.firmware();
        List<byte[]> images = new ArrayList<>();
        for (int i = 1; i <= maxUpdates; i++) {
            images.add(DefaultFirmware.image("1.0." + i, SEED));
        }
        Histogram histogram = new Histogram(HIGHEST_NANOS, 3);
        Histogram pause = new Histogram(HIGHEST_NANOS, 3);
        Histogram drain = new Histogram(HIGHEST_NANOS, 3);
        Histogram updateTotal = new Histogram(HIGHEST_NANOS, 3);
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicBoolean recording = new AtomicBoolean(false);
        Map<String, Integer> outcomes = new LinkedHashMap<>();
        Thread writer = new Thread(() -> writeWhile(running, recording, histogram), "host-writer");
        writer.start();
        long phaseStart = System.nanoTime();
        long end = phaseStart + (long) (seconds * 1e9);
        int done = 0;
        long flashBytes = 0;
        try {
            Thread.sleep(50); // the writer is running at QD1 before the first update
            recording.set(true);
            for (byte[] image : images) {
                if (done >= minUpdates && System.nanoTime() >= end) {
                    break;
                }
                long start = System.nanoTime();
                firmware.stage(image);
                UpdateReport report = firmware.update();
                record(updateTotal, System.nanoTime() - start);
                outcomes.merge(report.outcome().name(), 1, Integer::sum);
                if (report.switchPauseNanos() > 0) {
                    record(pause, report.switchPauseNanos());
                    record(drain, Math.max(1, report.drainNanos()));
                }
                flashBytes += report.flashBytesWritten();
                done++;
            }
            recording.set(false);
        } finally {
            running.set(false);
            writer.join();
        }
        double elapsed = (System.nanoTime() - phaseStart) / 1e9;
        updates.put("count", done);
        updates.put("outcomes", outcomes);
        updates.put("lastVersion", firmware.running().version().toString());
        updates.put("switchPause", percentiles(pause));
        updates.put("drain", percentiles(drain));
        updates.put("stagePlusUpdate", percentiles(updateTotal));
        updates.put("flashBytesWrittenPerUpdate", done == 0 ? 0 : flashBytes / done);
        return phase("firmwareUpdate", done + " updates (stage + update) back to back while the host writes",
                histogram, elapsed);
    }

    private static Map<String, Object> phase(String name, String description, Histogram h, double seconds) {
        Map<String, Object> phase = new LinkedHashMap<>();
        phase.put("name", name);
        phase.put("description", description);
        phase.put("seconds", seconds);
        phase.putAll(percentiles(h));
        phase.put("opsPerSecond", seconds > 0 ? h.getTotalCount() / seconds : Double.NaN);
        System.out.printf("latency %-15s n=%d p50=%.1fus p99=%.1fus p99.9=%.1fus max=%.1fus%n", name,
                h.getTotalCount(), h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3,
                h.getValueAtPercentile(99.9) / 1e3, h.getMaxValue() / 1e3);
        return phase;
    }

    private static Map<String, Object> percentiles(Histogram h) {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("count", h.getTotalCount());
        p.put("p50Micros", h.getValueAtPercentile(50) / 1e3);
        p.put("p99Micros", h.getValueAtPercentile(99) / 1e3);
        p.put("p999Micros", h.getValueAtPercentile(99.9) / 1e3);
        p.put("maxMicros", h.getMaxValue() / 1e3);
        p.put("meanMicros", h.getMean() / 1e3);
        return p;
    }
}
