package dev.scemu.benchmarks.report;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.IoCause;
import dev.scemu.core.IoMeter;
import dev.scemu.core.NativeMemory;
import dev.scemu.raid.RebuildListener;
import dev.scemu.raid.RebuildProgress;
import dev.scemu.unit.StorageControlUnit;
import dev.scemu.unit.UnitConfig;
import java.io.IOException;
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

/**
 * Write amplification by cause, read from the {@link IoMeter}s of a {@link StorageControlUnit}
 * (RAID-5 of 4 off-heap members of {@value #DISK_MIB} MiB, snapshot volume, default firmware, seed
 * 1), one fresh unit per scenario, every data block prefilled (seeded content) and the meters reset
 * before the measured writes:
 * <ul>
 *   <li>{@code random4k}: {@value #WRITES} random 4 KiB writes of new data, no snapshot;</li>
 *   <li>{@code sequential1m}: 1 MiB writes of new data over the first {@value #SEQ_MIB} MiB;</li>
 *   <li>{@code rewriteIdentical4k}: {@value #WRITES} random 4 KiB writes of the bytes the blocks hold;</li>
 *   <li>{@code firstWriteAfter1Snapshot} / {@code firstWriteAfter16Snapshots}: {@value #WRITES}
 *       4 KiB writes of new data to distinct random blocks after 1 / 16 snapshots (each the first
 *       write to its block since the snapshots);</li>
 *   <li>{@code firstSequentialAfter1Snapshot}: the sequential 1 MiB writes after 1 snapshot (every
 *       block copied once);</li>
 *   <li>{@code duringRebuild}: member 3 failed and replaced, then {@value #WRITES} random 4 KiB
 *       writes while it rebuilds; the rebuild's own bytes (REBUILD) are counted until it completes.</li>
 * </ul>
 * Each scenario ends with a flush of the host device (its journal and metadata writes are
 * counted). Physical bytes by cause (bytes the array wrote to its members) are split by what caused
 * them: the array's HOST bytes are the bytes the snapshot volume issued, split by the volume's own
 * causes (HOST, COW_COPY, JOURNAL, METADATA); PARITY, REBUILD, the array's METADATA (superblocks,
 * bitmap) and JOURNAL come from the array meter. {@code unattributed} = array HOST bytes − volume
 * issued bytes (0 unless something else, e.g. firmware staging, wrote through the array).
 *
 * <p>Usage: {@code WriteAmplificationHarness OUT.json}
 */
public final class WriteAmplificationHarness {

    static final int DISK_MIB = 64;
    /** Snapshot store: larger than the data partition, so every data block can be copied once. */
    static final int STORE_MIB = 100;
    static final int WRITES = 8192;
    static final int SEQ_MIB = 64;
    static final long SEED = 1;

    private WriteAmplificationHarness() {
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args.length > 0 ? args[0] : "bench/results/wa.json");
        List<Object> scenarios = new ArrayList<>();
        scenarios.add(run("random4k", "random 4 KiB writes, no snapshot", 0, Kind.RANDOM));
        scenarios.add(run("sequential1m", "sequential 1 MiB writes, no snapshot", 0, Kind.SEQUENTIAL));
        scenarios.add(run("rewriteIdentical4k", "rewrite of identical data (4 KiB random)", 0, Kind.IDENTICAL));
        scenarios.add(run("firstWriteAfter1Snapshot", "first 4 KiB write after 1 snapshot", 1, Kind.FIRST));
        scenarios.add(run("firstWriteAfter16Snapshots", "first 4 KiB write after 16 snapshots", 16, Kind.FIRST));
        scenarios.add(run("firstSequentialAfter1Snapshot", "first sequential 1 MiB writes after 1 snapshot", 1,
                Kind.SEQUENTIAL));
        scenarios.add(run("duringRebuild", "random 4 KiB writes during a rebuild", 0, Kind.REBUILD));
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("harness", WriteAmplificationHarness.class.getName());
        root.put("unit", "RAID-5 of 4 x " + DISK_MIB + " MiB off-heap members, chunk 64 KiB, snapshot store " + STORE_MIB + " MiB, seed " + SEED);
        root.put("scenarios", scenarios);
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, Json.write(root));
        System.out.println("write amplification: " + out);
    }

    enum Kind { RANDOM, SEQUENTIAL, IDENTICAL, FIRST, REBUILD }

    static void stampBlock(ByteBuffer buffer, int offset, byte[] pattern, long lba, long generation) {
        buffer.put(offset, pattern);
        buffer.putLong(offset, lba);
        buffer.putLong(offset + 8, generation);
    }

    private static Map<String, Object> run(String name, String description, int snapshots, Kind kind)
            throws Exception {
        UnitConfig config = UnitConfig.builder().disks(4, (long) DISK_MIB << 20)
                .snapshotStoreBytes((long) STORE_MIB << 20).seed(SEED).build();
        try (StorageControlUnit unit = StorageControlUnit.create(config)) {
            BlockDevice host = unit.host();
            int bs = host.blockSize();
            long blocks = host.blockCount();
            Random random = new Random(42);
            byte[] pattern = new byte[bs];
            random.nextBytes(pattern);
            int prefillBlocks = 256;
            ByteBuffer big = NativeMemory.allocateAligned(prefillBlocks * bs, 4096);
            for (long lba = 0; lba < blocks; lba += prefillBlocks) {
                int n = (int) Math.min(prefillBlocks, blocks - lba);
                for (int i = 0; i < n; i++) {
                    stampBlock(big, i * bs, pattern, lba + i, 0);
                }
                host.write(lba, n, big, 0);
            }
            host.flush();
            for (int i = 0; i < snapshots; i++) {
                unit.snapshots().createSnapshot("s" + i);
            }
            host.flush();
            CompletableFuture<RebuildProgress> rebuild = null;
            if (kind == Kind.REBUILD) {
                unit.array().failMember(3);
                rebuild = unit.replaceDisk(3, new RebuildListener() { });
            }
            resetMeters(unit);
            ByteBuffer block = NativeMemory.allocateAligned(bs, 4096);
            long[] permutation = permutation(blocks, random);
            long generation = 1;
            boolean rebuildRanThroughout = true;
            switch (kind) {
                case RANDOM, REBUILD -> {
                    for (int i = 0; i < WRITES; i++) {
                        long lba = (random.nextLong() & Long.MAX_VALUE) % blocks;
                        stampBlock(block, 0, pattern, lba, ++generation);
                        host.write(lba, 1, block, 0);
                    }
                    if (rebuild != null) {
                        rebuildRanThroughout = !rebuild.isDone();
                        host.flush();
                        rebuild.get(10, TimeUnit.MINUTES);
                    }
                }
                case IDENTICAL -> {
                    for (int i = 0; i < WRITES; i++) {
                        long lba = (random.nextLong() & Long.MAX_VALUE) % blocks;
                        stampBlock(block, 0, pattern, lba, 0);
                        host.write(lba, 1, block, 0);
                    }
                }
                case FIRST -> {
                    for (int i = 0; i < WRITES; i++) {
                        long lba = permutation[i];
                        stampBlock(block, 0, pattern, lba, ++generation);
                        host.write(lba, 1, block, 0);
                    }
                }
                case SEQUENTIAL -> {
                    long seqBlocks = Math.min(blocks, ((long) SEQ_MIB << 20) / bs);
                    for (long lba = 0; lba + prefillBlocks <= seqBlocks; lba += prefillBlocks) {
                        ++generation;
                        for (int i = 0; i < prefillBlocks; i++) {
                            stampBlock(big, i * bs, pattern, lba + i, generation);
                        }
                        host.write(lba, prefillBlocks, big, 0);
                    }
                }
            }
            host.flush();
            Map<String, Object> result = measure(unit);
            Map<String, Object> scenario = new LinkedHashMap<>();
            scenario.put("name", name);
            scenario.put("description", description);
            scenario.put("snapshots", snapshots);
            if (kind == Kind.REBUILD) {
                scenario.put("rebuildRanThroughoutHostWrites", rebuildRanThroughout);
            }
            scenario.putAll(result);
            System.out.printf("WA %-28s %s%n", name, result.get("perHostByte"));
            return scenario;
        }
    }

    private static long[] permutation(long blocks, Random random) {
        long[] p = new long[(int) blocks];
        for (int i = 0; i < p.length; i++) {
            p[i] = i;
        }
        for (int i = p.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            long t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    private static void resetMeters(StorageControlUnit unit) {
        unit.host().meter().reset();
        unit.snapshots().meter().reset();
        unit.array().meter().reset();
    }

    private static Map<String, Object> measure(StorageControlUnit unit) {
        IoMeter.Snapshot volume = unit.snapshots().meter().snapshot();
        IoMeter.Snapshot array = unit.array().meter().snapshot();
        long host = volume.receivedWrite().bytes();
        Map<String, Object> bytes = new LinkedHashMap<>();
        long volumeIssued = volume.issuedWriteTotal().bytes();
        bytes.put("HOST", volume.issuedWrite(IoCause.HOST).bytes());
        bytes.put("PARITY", array.issuedWrite(IoCause.PARITY).bytes());
        bytes.put("COW_COPY", volume.issuedWrite(IoCause.COW_COPY).bytes());
        bytes.put("JOURNAL", volume.issuedWrite(IoCause.JOURNAL).bytes() + array.issuedWrite(IoCause.JOURNAL).bytes());
        bytes.put("METADATA", volume.issuedWrite(IoCause.METADATA).bytes() + array.issuedWrite(IoCause.METADATA).bytes());
        bytes.put("REBUILD", array.issuedWrite(IoCause.REBUILD).bytes());
        bytes.put("SCRUB", array.issuedWrite(IoCause.SCRUB).bytes());
        bytes.put("unattributed", array.issuedWrite(IoCause.HOST).bytes() - volumeIssued);
        Map<String, Object> perHost = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : bytes.entrySet()) {
            perHost.put(e.getKey(), host == 0 ? Double.NaN : ((Long) e.getValue()) / (double) host);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("hostWriteOps", volume.receivedWrite().operations());
        out.put("hostWriteBytes", host);
        out.put("skippedBytes", volume.skippedWrite().bytes());
        out.put("volumeIssuedBytes", volumeIssued);
        out.put("volumeWriteAmplification", host == 0 ? Double.NaN : volumeIssued / (double) host);
        out.put("arrayReceivedBytes", array.receivedWrite().bytes());
        out.put("arrayIssuedBytes", array.issuedWriteTotal().bytes());
        out.put("arrayWriteAmplification", array.writeAmplification());
        out.put("arrayReadsIssuedPerHostByte", host == 0 ? Double.NaN : array.issuedReadTotal().bytes() / (double) host);
        out.put("physicalPerHostByte", host == 0 ? Double.NaN : array.issuedWriteTotal().bytes() / (double) host);
        out.put("physicalBytesByCause", bytes);
        out.put("perHostByte", perHost);
        return out;
    }
}
