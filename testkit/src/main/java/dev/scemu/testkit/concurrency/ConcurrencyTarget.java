package dev.scemu.testkit.concurrency;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import java.nio.ByteBuffer;
import java.util.Map;

/**
 * The system a {@link ConcurrencyChecker} drives: a volume that several clients use at once, its
 * snapshots, and the power domain whose cut the checker arms.
 *
 * <p>Implementations: {@link UnitTarget} (a whole {@code StorageControlUnit}: RAID-5 over
 * fault-injecting members under the snapshot volume; its clients are threads calling the host
 * device, or NBD connections, see {@link UnitTarget#withClients}), and any test double a vendor
 * writes (the checker's own tests plug in deliberately broken devices).
 */
public interface ConcurrencyTarget extends AutoCloseable {

    /** One line for messages ("RAID-5 x4 + snapshots, 4 threads"). */
    String describe();

    int blockSize();

    /** Blocks of the volume (the checker uses a region at its start). */
    long blockCount();

    /** A client for worker {@code index}; called on that worker's thread before its first operation. */
    Client client(int index) throws Exception;

    /** The snapshot control, or null when the target has none (no snapshot events then). */
    Snapshots snapshots();

    /** The power domain of the volume's media, or null when the target cannot lose power (no cut then). */
    PowerDomain power();

    /**
     * After every client is closed: power is cut (if not already) with {@code mode}, restored, and
     * the volume reopened from what its media hold. {@link #volume()} and {@link #snapshots()} then
     * answer for the reopened volume.
     */
    void reboot(PowerCutMode mode);

    /** The volume itself, for the checker's own reads between the workload and the verification. */
    BlockDevice volume();

    @Override
    void close();

    /** One client of the volume: a thread's handle on the device, or an NBD connection. Not shared between threads. */
    interface Client extends AutoCloseable {
        /** Reads {@code blocks} blocks at {@code lba} into {@code buffer} from position 0. */
        void read(long lba, int blocks, ByteBuffer buffer) throws Exception;

        /** Writes {@code blocks} blocks at {@code lba} from {@code buffer} position 0; FUA: durable when it returns. */
        void write(long lba, int blocks, ByteBuffer buffer, boolean fua) throws Exception;

        /** Every write completed before this call started is durable when it returns. */
        void flush() throws Exception;

        @Override
        void close();
    }

    /** Snapshot control: creation, deletion, a read-only view, the list. */
    interface Snapshots {
        /** Creates a snapshot named {@code name}; returns its id. The snapshot is durable on return. */
        long create(String name);

        void delete(long id);

        /** A read-only view of the snapshot (valid until it is deleted or the target reboots). */
        BlockDevice view(long id);

        /** Snapshots that exist, name to id. */
        Map<String, Long> list();
    }
}
