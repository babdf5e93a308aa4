package dev.scemu.unit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.CrashPointExplorer;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A read-write open of a cleanly closed unit writes nothing until the first change (md's
 * read-auto): open, reads, status, refused requests and close leave every image file
 * byte-identical; the first write makes the array active (superblock events + 1) before it
 * reaches a member, and a power cut at any write of that first change boots again with every
 * flushed block and a consistent array.
 */
class ReadWriteOpenWritesNothingTest {

    private static final int BLOCK = 4096;

    private static UnitConfig config(Path dir) {
        return UnitConfig.builder().disks(3, 6L << 20).chunkBytes(64 << 10).snapshotStoreBytes(2L << 20)
                .firmwareBackupBytes(2L << 20).seed(5).directory(dir).build();
    }

    static Map<String, String> hashes(Path dir) throws IOException {
        Map<String, String> hashes = new TreeMap<>();
        try (var files = Files.list(dir)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".img")).toList()) {
                try (InputStream in = Files.newInputStream(file)) {
                    MessageDigest digest = MessageDigest.getInstance("SHA-256");
                    digest.update(in.readAllBytes());
                    hashes.put(file.getFileName().toString(), HexFormat.of().formatHex(digest.digest()));
                } catch (java.security.NoSuchAlgorithmException e) {
                    throw new AssertionError(e);
                }
            }
        }
        return hashes;
    }

    private static ByteBuffer filled(int value, int blocks) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(blocks * BLOCK);
        for (int i = 0; i < buffer.capacity(); i++) {
            buffer.put(i, (byte) value);
        }
        return buffer;
    }

    private static ByteBuffer read(StorageControlUnit unit, long lba, int blocks) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(blocks * BLOCK);
        unit.host().read(lba, blocks, buffer, 0);
        return buffer;
    }

    @Test
    void anOpenWithReadsAndRefusedRequestsLeavesEveryFileByteIdentical(@TempDir Path dir) throws Exception {
        try (StorageControlUnit unit = StorageControlUnit.create(config(dir))) {
            unit.host().write(10, 8, filled(1, 8), 0);
            unit.snapshots().createSnapshot("before");
            unit.host().write(10, 8, filled(2, 8), 0); // copied on write: the snapshot store holds entries
            unit.host().flush();
        }
        Map<String, String> before = hashes(dir);
        assertThat(before).containsKeys("disk0.img", "disk1.img", "disk2.img", "nvram.img");
        long events;
        PowerDomain power = new PowerDomain(7);
        try (StorageControlUnit unit = StorageControlUnit.open(dir, power)) {
            events = unit.array().events();
            assertThat(read(unit, 10, 8)).isEqualTo(filled(2, 8));
            ByteBuffer snapshot = ByteBuffer.allocateDirect(8 * BLOCK);
            unit.snapshots().snapshot(unit.snapshots().listSnapshots().get(0).id()).read(10, 8, snapshot, 0);
            assertThat(snapshot).isEqualTo(filled(1, 8));
            assertThat(unit.status().degraded()).isFalse();
            unit.firmware().inspect();
            unit.host().flush();
            assertThatThrownBy(() -> unit.snapshots().deleteSnapshot(99)).hasMessageContaining("UNKNOWN_SNAPSHOT");
            assertThatThrownBy(() -> unit.snapshots().createSnapshot("before")).hasMessageContaining("DUPLICATE_NAME");
            assertThatThrownBy(() -> unit.firmware().stage(new byte[100])).isInstanceOf(RuntimeException.class);
            assertThatThrownBy(() -> unit.replaceDisk(0, null)).isInstanceOf(RuntimeException.class);
            assertThat(power.writeCount()).as("writes the open and the requests issued to disks and flash").isZero();
            assertThat(unit.array().events()).isEqualTo(events);
        }
        assertThat(hashes(dir)).as("after open, reads, refused requests and close").isEqualTo(before);

        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            unit.host().write(20, 1, filled(3, 1), 0);
            unit.host().flush(); // the volume's batch reaches the array
            assertThat(unit.array().events()).as("the first write made the array active").isEqualTo(events + 1);
            unit.host().write(21, 1, filled(4, 1), 0);
            unit.host().flush();
            assertThat(unit.array().events()).as("once").isEqualTo(events + 1);
        }
        assertThat(hashes(dir)).as("a change changes the files").isNotEqualTo(before);
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(read(unit, 20, 2)).isEqualTo(ByteBuffer.allocateDirect(2 * BLOCK).put(filled(3, 1))
                    .put(filled(4, 1)).clear());
        }
    }

    /** A copy of the closed template unit, opened on the explorer's power domain. */
    private record World(StorageControlUnit unit) implements AutoCloseable {
        @Override
        public void close() {
            unit.close();
        }
    }

    @Test
    void aPowerCutAtAnyWriteOfTheFirstChangeRecovers(@TempDir Path tmp) throws Exception {
        Path template = tmp.resolve("template");
        try (StorageControlUnit unit = StorageControlUnit.create(config(template))) {
            unit.host().write(0, 4, filled(1, 4), 0);
        }
        AtomicInteger worlds = new AtomicInteger();
        CrashPointExplorer.Report report = new CrashPointExplorer<>(power -> {
            Path dir = tmp.resolve("w" + worlds.incrementAndGet());
            copy(template, dir);
            World world = new World(StorageControlUnit.open(dir, power));
            assertThat(power.writeCount()).as("the open wrote nothing: every write explored is the change's").isZero();
            return world;
        }, world -> {
            world.unit().host().write(2, 4, filled(2, 4), 0); // the first change: array active, bitmap, data, parity
            world.unit().host().flush();
        }, (world, crash) -> {
            world.unit().crashAndReboot(PowerCutMode.DROP_UNFLUSHED);
            ByteBuffer head = read(world.unit(), 0, 2);
            assertThat(head).as("%s: blocks the change did not touch", crash).isEqualTo(filled(1, 2));
            for (int i = 2; i < 6; i++) {
                ByteBuffer block = read(world.unit(), i, 1);
                assertThat(block.equals(filled(i < 4 ? 1 : 0, 1)) || block.equals(filled(2, 1)))
                        .as("%s: block %d holds its old or its new contents", crash, i).isTrue();
            }
            assertThat(world.unit().array().scrub(false).mismatchedStripes()).as("%s: parity", crash).isZero();
        }).seed(3).modes(PowerCutMode.KEEP_RANDOM_SUBSET).explore();
        assertThat(report.totalWrites()).as("the change's writes: superblocks, bitmap, data, parity").isGreaterThan(6);
        assertThat(report.cutsFired()).isEqualTo(report.runs());
        assertThat(report.passed()).isEqualTo(report.runs());
        System.out.printf("CRASH POINTS: ReadWriteOpenWritesNothingTest %s%n", report.counts());
    }

    private static void copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path file : files.toList()) {
                if (!file.getFileName().toString().equals("unit.lock")) {
                    Files.copy(file, to.resolve(file.getFileName()));
                }
            }
        }
    }
}
