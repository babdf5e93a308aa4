package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static dev.scemu.cli.CliTestSupport.kill9;
import static dev.scemu.cli.CliTestSupport.scemu;
import static dev.scemu.cli.CliTestSupport.startScemu;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.core.BlockDevice;
import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.testkit.concurrency.NbdClient;
import dev.scemu.unit.StorageControlUnit;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code kill -9} of {@code scemu serve} while a snapshot exists: every write a flush covered
 * survives, on the volume and in the snapshot's frozen view. First writes after the snapshot wait in
 * the copy-on-write batches (the unit's volatile write cache) until a commit, whose journal sync is
 * a ranged flush of the store partition; the host's flush must commit them and flush the data
 * partition before it is acknowledged.
 */
class CliServeKillTest {

    private static final int BLOCK = 4096;

    private static int port(Path log) throws Exception {
        Matcher m = Pattern.compile("nbd://127\\.0\\.0\\.1:(\\d+)/volume").matcher(Files.readString(log));
        assertThat(m.find()).as(Files.readString(log)).isTrue();
        return Integer.parseInt(m.group(1));
    }

    private static ByteBuffer block(long seed) {
        byte[] bytes = new byte[BLOCK];
        new Random(seed).nextBytes(bytes);
        return ByteBuffer.allocateDirect(BLOCK).put(0, bytes);
    }

    private static ByteBuffer read(BlockDevice device, long lba) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(BLOCK);
        device.read(lba, 1, buffer, 0);
        return buffer;
    }

    /** Creates the small RAID-5 unit at {@code dir} and starts {@code scemu serve} on it (any port, output in {@code log}). */
    private static Process serveSmallUnit(Path dir, Path log) {
        createSmallUnit(dir);
        return startScemu(log, "serving", "serve", dir, "--port", "0");
    }

    @Test
    void writesAFlushCoveredSurviveAKill9OfServeWithASnapshot(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("unit");
        Path log = tmp.resolve("serve.log");
        Process server = serveSmallUnit(dir, log);
        Map<Long, Long> flushed = new HashMap<>(); // lba -> seed of its block since the snapshot, flushed
        java.util.Set<Long> unflushed = new java.util.HashSet<>(); // written after the last flush: either outcome
        long blocks;
        try (NbdClient client = NbdClient.connect(new InetSocketAddress("127.0.0.1", port(log)), "volume", BLOCK)) {
            blocks = client.exportSize() / BLOCK;
            for (long lba = 0; lba < blocks; lba++) {
                client.write(lba, 1, block(lba), false);
            }
            client.flush();
            assertThat(scemu("snapshot", "create", dir, "before").ok().out()).contains("exported as");
            Random random = new Random(5);
            for (int i = 0; i < 3000; i++) { // first writes after the snapshot: copies wait in the batches
                long lba = random.nextInt((int) blocks);
                long seed = 1_000_000L + i;
                client.write(lba, 1, block(seed), false);
                flushed.put(lba, seed);
            }
            client.flush();
            for (int i = 0; i < 200; i++) { // never flushed: may or may not survive, not checked
                long lba = random.nextInt((int) blocks);
                client.write(lba, 1, block(2_000_000L + i), false);
                unflushed.add(lba);
            }
        }
        kill9(server);

        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            SnapshotInfo before = unit.snapshots().listSnapshots().get(0);
            assertThat(before.name()).isEqualTo("before");
            BlockDevice view = unit.snapshots().snapshot(before.id());
            for (long lba = 0; lba < blocks; lba++) {
                assertThat(read(view, lba)).as("snapshot block %d", lba).isEqualTo(block(lba));
                if (!unflushed.contains(lba)) {
                    assertThat(read(unit.host(), lba)).as("volume block %d", lba)
                            .isEqualTo(block(flushed.getOrDefault(lba, lba)));
                }
            }
            assertThat(flushed.keySet()).as("the check covers writes after the snapshot").hasSizeGreaterThan(2000);
        }
    }
    /**
     * {@code kill -9} of {@code scemu serve} while a degraded RAID-5 (a member failed with
     * {@code scemu disk fail}) takes writes from four NBD connections at once: the parity journal's
     * group commits run with several writers per sync. After the kill, the next open replays the
     * journal; every block, those of the failed member included (rebuilt from parity), reads its
     * flushed content, or for a block written after the last flush, that content or one written
     * since. The journal lives on the lowest in-sync member while the array is degraded: member 0
     * with member 2 failed, member 1 with member 0 failed (the next open must find it there).
     */
    @ParameterizedTest(name = "member {0} failed")
    @ValueSource(ints = {2, 0})
    void degradedWritesAFlushCoveredSurviveAKill9OfServe(int failedMember, @TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("unit");
        Path log = tmp.resolve("serve.log");
        Process server = serveSmallUnit(dir, log);
        int connections = 4;
        long blocks;
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", port(log));
        try (NbdClient client = NbdClient.connect(address, "volume", BLOCK)) {
            blocks = client.exportSize() / BLOCK;
            for (long lba = 0; lba < blocks; lba++) {
                client.write(lba, 1, block(lba), false);
            }
            client.flush();
        }
        assertThat(scemu("disk", "fail", dir, Integer.toString(failedMember)).ok().out())
                .contains(Integer.toString(failedMember));
        // per connection: lba -> seed flushed; lba -> seeds written after its last flush
        List<Map<Long, Long>> flushed = new ArrayList<>();
        List<Map<Long, List<Long>>> unflushed = new ArrayList<>();
        List<java.util.concurrent.CompletableFuture<Void>> writers = new ArrayList<>();
        // own threads: the common pool may have one worker (2 CPUs), which would run the connections in turn
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(connections);
        for (int c = 0; c < connections; c++) {
            int connection = c;
            Map<Long, Long> done = new HashMap<>();
            Map<Long, List<Long>> open = new HashMap<>();
            flushed.add(done);
            unflushed.add(open);
            long total = blocks;
            writers.add(java.util.concurrent.CompletableFuture.runAsync(() -> {
                try (NbdClient client = NbdClient.connect(address, "volume", BLOCK)) {
                    Random random = new Random(100 + connection);
                    for (int i = 0; i < 600; i++) { // each connection writes only its own blocks (lba % 4)
                        long lba = random.nextInt((int) (total / connections)) * (long) connections + connection;
                        long seed = 1_000_000L * (connection + 1) + i;
                        client.write(lba, 1, block(seed), false);
                        done.put(lba, seed);
                    }
                    client.flush();
                    for (int i = 0; i < 100; i++) { // never flushed: either outcome
                        long lba = random.nextInt((int) (total / connections)) * (long) connections + connection;
                        long seed = 9_000_000L * (connection + 1) + i;
                        open.computeIfAbsent(lba, k -> new ArrayList<>()).add(seed);
                        client.write(lba, 1, block(seed), false);
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, threads));
        }
        try {
            for (java.util.concurrent.CompletableFuture<Void> writer : writers) {
                writer.get(120, java.util.concurrent.TimeUnit.SECONDS);
            }
        } finally {
            threads.shutdownNow();
        }
        kill9(server);

        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            int checked = 0;
            for (long lba = 0; lba < blocks; lba++) {
                int connection = (int) (lba % connections);
                long last = flushed.get(connection).getOrDefault(lba, lba);
                List<Long> later = unflushed.get(connection).getOrDefault(lba, List.of());
                ByteBuffer actual = read(unit.host(), lba);
                boolean legal = actual.equals(block(last)) || later.stream().anyMatch(seed -> actual.equals(block(seed)));
                assertThat(legal).as("block %d: its flushed content (seed %d) or one of %s written after", lba, last, later)
                        .isTrue();
                checked += later.isEmpty() ? 1 : 0;
            }
            assertThat(checked).isGreaterThan((int) blocks / 2);
        }
    }
}
