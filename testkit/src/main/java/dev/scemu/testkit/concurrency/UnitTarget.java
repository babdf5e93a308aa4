package dev.scemu.testkit.concurrency;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import dev.scemu.flash.FlashGeometry;
import dev.scemu.raid.RaidLevel;
import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.testkit.sim.internal.FirmwareImages;
import dev.scemu.unit.StorageControlUnit;
import dev.scemu.unit.UnitConfig;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A whole {@link StorageControlUnit} as a {@link ConcurrencyTarget}: RAID-5 over fault-injecting
 * members in one {@link PowerDomain} under the snapshot volume, built by the public API exactly as
 * the unit builds itself (simulation mode: identity from the seed), on off-heap media.
 *
 * <p>Clients are the unit's host device called from each worker thread, unless
 * {@link #withClients} supplies others (the NBD variant connects one NBD client per worker to a
 * server exporting {@link #volume()}; its {@code beforeReboot} closes that server, since the reboot
 * replaces the host device).
 */
public final class UnitTarget implements ConcurrencyTarget {

    /** Opens a client for worker {@code index}. */
    @FunctionalInterface
    public interface ClientFactory {
        Client open(int index) throws Exception;
    }

    private final StorageControlUnit unit;
    private final PowerDomain power;
    private final String description;
    private ClientFactory clients;
    private Runnable beforeReboot = () -> { };
    private boolean closed;

    private UnitTarget(StorageControlUnit unit, PowerDomain power, String description) {
        this.unit = unit;
        this.power = power;
        this.description = description;
        this.clients = index -> new DeviceClient(unit);
    }

    /**
     * RAID-5 of {@code disks} members of {@code diskBytes} (chunk 16 KiB, 4 KiB blocks), a snapshot
     * store of {@code storeBytes}, power domain and identity from {@code seed}.
     */
    public static UnitTarget raid5(long seed, int disks, long diskBytes, long storeBytes) {
        UnitConfig config = UnitConfig.builder().level(RaidLevel.RAID5).disks(disks, diskBytes).chunkBytes(16 << 10)
                .blockSize(4096).firmwareBackupBytes(1L << 20).snapshotStoreBytes(storeBytes)
                .flash(new FlashGeometry(4096, 16, 16)).seed(seed).build();
        PowerDomain power = new PowerDomain(seed);
        StorageControlUnit unit = StorageControlUnit.create(config, FirmwareImages.image(FirmwareImages.version(0)),
                FirmwareImages.signingKey().getPublic(), power);
        return new UnitTarget(unit, power, "unit RAID-5 x" + disks + " of " + (diskBytes >> 20)
                + " MiB + snapshot volume (store " + (storeBytes >> 20) + " MiB)");
    }

    /** Clients from {@code factory} instead of threads on the host device; {@code beforeReboot} runs before a reboot. */
    public UnitTarget withClients(ClientFactory factory, Runnable beforeReboot) {
        this.clients = factory;
        this.beforeReboot = beforeReboot;
        return this;
    }

    public StorageControlUnit unit() {
        return unit;
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public int blockSize() {
        return unit.host().blockSize();
    }

    @Override
    public long blockCount() {
        return unit.host().blockCount();
    }

    @Override
    public Client client(int index) throws Exception {
        return clients.open(index);
    }

    @Override
    public Snapshots snapshots() {
        return new Snapshots() {
            @Override
            public long create(String name) {
                return unit.snapshots().createSnapshot(name).id();
            }

            @Override
            public void delete(long id) {
                unit.snapshots().deleteSnapshot(id);
            }

            @Override
            public BlockDevice view(long id) {
                return unit.snapshots().snapshot(id);
            }

            @Override
            public Map<String, Long> list() {
                Map<String, Long> list = new LinkedHashMap<>();
                for (SnapshotInfo info : unit.snapshots().listSnapshots()) {
                    list.put(info.name(), info.id());
                }
                return list;
            }
        };
    }

    @Override
    public PowerDomain power() {
        return power;
    }

    @Override
    public void reboot(PowerCutMode mode) {
        beforeReboot.run();
        unit.crashAndReboot(mode);
    }

    @Override
    public BlockDevice volume() {
        return unit.host();
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            unit.close();
        }
    }

    /** A worker thread calling the unit's host device (looked up once, at the worker's start). */
    private static final class DeviceClient implements Client {
        private final BlockDevice device;

        DeviceClient(StorageControlUnit unit) {
            this.device = unit.host();
        }

        @Override
        public void read(long lba, int blocks, ByteBuffer buffer) {
            device.read(lba, blocks, buffer, 0);
        }

        @Override
        public void write(long lba, int blocks, ByteBuffer buffer, boolean fua) {
            device.write(lba, blocks, buffer, 0, fua);
        }

        @Override
        public void flush() {
            device.flush();
        }

        @Override
        public void close() {
            // the device belongs to the unit
        }
    }
}
