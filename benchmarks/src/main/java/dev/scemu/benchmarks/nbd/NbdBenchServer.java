package dev.scemu.benchmarks.nbd;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.NativeMemory;
import dev.scemu.nbd.NbdServer;
import dev.scemu.unit.StorageControlUnit;
import dev.scemu.unit.UnitConfig;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.Random;

/**
 * Serves a {@link StorageControlUnit} for the NBD peer comparison: RAID-5 of 4 off-heap members
 * ({@code DISK_MIB} MiB each, default 384), snapshot store {@code STORE_MIB} MiB (default 576, room
 * for a copy of every prefilled block), the
 * first {@code PREFILL_MIB} MiB of the volume (default 512) written with seeded random data, then
 * one snapshot taken (so fio's first writes copy shared blocks, like qcow2 after
 * {@code qemu-img snapshot -c}). Export {@code volume} on 127.0.0.1 (ephemeral port) with the nbd
 * module's {@link NbdServer}. Prints {@code READY nbd://127.0.0.1:PORT/volume SIZE_BYTES} and
 * serves until its standard input closes, then stops the server and closes the unit.
 *
 * <p>Usage: {@code NbdBenchServer [DISK_MIB STORE_MIB PREFILL_MIB]}
 */
public final class NbdBenchServer {

    private NbdBenchServer() {
    }

    public static void main(String[] args) throws IOException {
        long diskMib = args.length > 0 ? Long.parseLong(args[0]) : 384;
        long storeMib = args.length > 1 ? Long.parseLong(args[1]) : 576;
        long prefillMib = args.length > 2 ? Long.parseLong(args[2]) : 512;
        UnitConfig config = UnitConfig.builder().disks(4, diskMib << 20).snapshotStoreBytes(storeMib << 20).seed(1)
                .build();
        try (StorageControlUnit unit = StorageControlUnit.create(config)) {
            BlockDevice host = unit.host();
            prefill(host, Math.min(host.blockCount(), (prefillMib << 20) / host.blockSize()));
            unit.snapshots().createSnapshot("bench");
            host.flush();
            try (NbdServer server = NbdServer.builder()
                    .export("volume", host, "scemu RAID-5 + snapshot (benchmark)", false)
                    .bindTcp(InetAddress.getLoopbackAddress(), 0)
                    .start()) {
                System.out.printf("READY nbd://127.0.0.1:%d/volume %d%n", server.port(), host.geometry().capacityBytes());
                System.out.flush();
                InputStream in = System.in;
                while (in.read() >= 0) {
                    // serve until stdin closes
                }
                System.err.println("nbd stats: " + server.stats());
            }
            host.flush();
        }
    }

    private static void prefill(BlockDevice host, long blocks) {
        int n = 256;
        ByteBuffer big = NativeMemory.allocateAligned(n * host.blockSize(), 4096);
        byte[] bytes = new byte[big.capacity()];
        new Random(42).nextBytes(bytes);
        big.put(0, bytes);
        for (long lba = 0; lba < blocks; lba += n) {
            for (int i = 0; i < n; i++) {
                big.putLong(i * host.blockSize(), lba + i);
            }
            host.write(lba, (int) Math.min(n, blocks - lba), big, 0);
        }
    }
}
