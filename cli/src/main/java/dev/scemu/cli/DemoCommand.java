package dev.scemu.cli;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.CoreException;
import dev.scemu.core.Extent;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.IoMeter;
import dev.scemu.core.Media;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code scemu demo}: the main job on an embedded default. Builds a controller's disks in memory,
 * runs a seeded workload, cuts the power and checks that exactly the flushed data survived,
 * injects medium errors and bit rot, and prints the meters. Grows with the modules.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run the built-in demonstration scenario and print a report.")
final class DemoCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--seed", description = "Seed of the workload and the faults (default: ${DEFAULT-VALUE}).")
    long seed = 2026;

    @Option(names = "--disks", description = "Number of member disks (default: ${DEFAULT-VALUE}).")
    int diskCount = 4;

    @Option(names = "--disk-size-mib", description = "Size of each disk in MiB (default: ${DEFAULT-VALUE}).")
    int diskSizeMib = 64;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        long started = System.nanoTime();
        BlockGeometry geometry = BlockGeometry.ofBytes(4096, (long) diskSizeMib << 20);
        PowerDomain power = new PowerDomain(seed);
        List<FaultInjectingDevice> disks = new ArrayList<>();
        try {
            for (int i = 0; i < diskCount; i++) {
                disks.add(power.attach(Media.memory("disk" + i, geometry)));
            }
            out.printf("scemu demo (seed %d): %d disks of %d MiB, off-heap memory, one power domain%n",
                    seed, diskCount, diskSizeMib);

            Workload workload = new Workload(geometry, seed);
            int flushed = workload.run(disks, 4000);
            disks.forEach(BlockDevice::flush);
            int unflushed = workload.run(disks, 1000);
            out.printf("1. wrote %d blocks and flushed, then %d more blocks without a flush%n", flushed, unflushed);

            power.cut(PowerCutMode.KEEP_RANDOM_SUBSET);
            power.restore();
            Workload.Check check = workload.verify(disks);
            out.printf("2. power cut (torn at block granularity), power restored: %d/%d flushed blocks intact, "
                            + "%d blocks kept a version from the %d unflushed writes, the rest kept their flushed data%n",
                    check.flushedIntact(), check.flushedTotal(), check.unflushedSurvived(), unflushed);
            if (check.flushedIntact() != check.flushedTotal()) {
                throw new IllegalStateException("flushed data was lost: this is a bug");
            }

            FaultInjectingDevice disk = disks.get(1);
            disk.failReads(Extent.of(100, 1));
            String error;
            try {
                disk.read(100, 1, ByteBuffer.allocateDirect(4096), 0);
                error = "none";
            } catch (CoreException e) {
                error = e.getMessage();
            }
            disk.clearMediumErrors();
            int bit = disks.get(2).corruptBlock(workload.someFlushedLba(2));
            out.printf("3. latent sector error on disk1 block 100: %s (then cleared)%n", error);
            out.printf("   bit rot on disk2: bit %d flipped silently; verification now finds %d corrupted block(s)%n",
                    bit, workload.verify(disks).flushedTotal() - workload.verify(disks).flushedIntact());

            out.println("4. meters (bytes issued to the medium by each disk):");
            out.printf("   %-8s %12s %12s %10s%n", "disk", "written", "read", "WA");
            for (FaultInjectingDevice d : disks) {
                IoMeter.Snapshot m = d.meter().snapshot();
                out.printf("   %-8s %12d %12d %10.3f%n", d.name(), m.issuedWriteTotal().bytes(),
                        m.issuedReadTotal().bytes(), m.writeAmplification());
            }
            out.printf("done in %d ms%n", (System.nanoTime() - started) / 1_000_000);
            return 0;
        } finally {
            disks.forEach(BlockDevice::close);
        }
    }

    /**
     * A seeded random workload that remembers what it wrote: the flushed pattern of each block and
     * every pattern written to it since (a torn power cut may keep any one of them).
     */
    private static final class Workload {
        private final BlockGeometry geometry;
        private final Random random;
        private final List<long[]> durable = new ArrayList<>();                         // disk -> lba -> pattern (0 = none)
        private final List<java.util.Map<Integer, List<Long>>> pending = new ArrayList<>(); // disk -> lba -> patterns

        Workload(BlockGeometry geometry, long seed) {
            this.geometry = geometry;
            this.random = new Random(seed);
        }

        int run(List<FaultInjectingDevice> disks, int blocks) {
            while (durable.size() < disks.size()) {
                durable.add(new long[(int) geometry.blockCount()]);
                pending.add(new java.util.TreeMap<>());
            }
            for (int d = 0; d < disks.size(); d++) {   // what was pending before this run has been flushed
                long[] flushed = durable.get(d);
                pending.get(d).forEach((lba, patterns) -> flushed[lba] = patterns.get(patterns.size() - 1));
                pending.get(d).clear();
            }
            ByteBuffer block = ByteBuffer.allocateDirect(geometry.blockSize());
            for (int i = 0; i < blocks; i++) {
                int disk = random.nextInt(disks.size());
                int lba = random.nextInt((int) geometry.blockCount());
                long pattern = random.nextLong() | 1;
                fill(block, pattern);
                disks.get(disk).write(lba, 1, block, 0);
                pending.get(disk).computeIfAbsent(lba, k -> new ArrayList<>()).add(pattern);
            }
            return blocks;
        }

        long someFlushedLba(int disk) {
            long[] f = durable.get(disk);
            for (int i = 0; i < f.length; i++) {
                if (f[i] != 0) {
                    return i;
                }
            }
            return 0;
        }

        Check verify(List<FaultInjectingDevice> disks) {
            ByteBuffer actual = ByteBuffer.allocateDirect(geometry.blockSize());
            ByteBuffer expected = ByteBuffer.allocateDirect(geometry.blockSize());
            int flushedTotal = 0;
            int flushedIntact = 0;
            int unflushedSurvived = 0;
            for (int d = 0; d < disks.size(); d++) {
                long[] f = durable.get(d);
                java.util.Map<Integer, List<Long>> p = pending.get(d);
                for (int lba = 0; lba < f.length; lba++) {
                    List<Long> versions = p.getOrDefault(lba, List.of());
                    if (f[lba] == 0 && versions.isEmpty()) {
                        continue;
                    }
                    disks.get(d).read(lba, 1, actual, 0);
                    boolean survived = false;
                    for (long pattern : versions) {
                        fill(expected, pattern);
                        survived |= actual.equals(expected);
                    }
                    if (survived) {
                        unflushedSurvived++;
                    } else if (f[lba] != 0) {
                        flushedTotal++;
                        fill(expected, f[lba]);
                        flushedIntact += actual.equals(expected) ? 1 : 0;
                    }
                }
            }
            return new Check(flushedTotal, flushedIntact, unflushedSurvived);
        }

        private static void fill(ByteBuffer block, long pattern) {
            Random r = new Random(pattern);
            for (int i = 0; i < block.capacity(); i += 8) {
                block.putLong(i, r.nextLong());
            }
        }

        record Check(int flushedTotal, int flushedIntact, int unflushedSurvived) {
        }
    }

}
