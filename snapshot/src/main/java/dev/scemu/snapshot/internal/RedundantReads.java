package dev.scemu.snapshot.internal;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.CoreException;
import dev.scemu.snapshot.SnapshotException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads of the store's sealed metadata blocks (superblock, checkpoint headers and pages) that fall
 * back to the redundant copies of the device below when a block fails its seal
 * ({@link BlockDevice#readCopy}): on a RAID-5 store, a block whose member was damaged (bit rot, a
 * stray write) reads again rebuilt from the other members; on a RAID-1 store, from another mirror.
 * md passes a damaged block up as it is, and one bad 4 KiB block of the superblock stopped the whole
 * volume although the array still held its contents; ZFS, and btrfs over Synology's md, check their
 * metadata's checksums the same way and ask the RAID layer for another copy.
 *
 * <p>Ordering: an open is read-only until every check passed, so a block read from a copy is only
 * noted here; {@link #repair} rewrites those blocks on the member that held the damaged copy
 * ({@link BlockDevice#repairFromCopy}) once the volume has loaded. A failed open writes nothing.
 */
final class RedundantReads {

    private static final Logger LOG = LoggerFactory.getLogger(RedundantReads.class);

    private final BlockDevice store;
    /** {store lba, redundancy copy} of each block a copy supplied, in the order read. */
    private final List<long[]> fromCopies = new ArrayList<>();

    RedundantReads(BlockDevice store) {
        this.store = store;
    }

    /**
     * Runs {@code check} on {@code block} (store block {@code lba}, already read): if it refuses the
     * block ({@link SnapshotException} or {@link CoreException}), reads each redundant copy of that
     * block into {@code block} in turn until one passes. Returns normally with a checked block in
     * {@code block}; throws the plain read's failure when no copy passes (then {@code block} holds
     * the last copy tried).
     */
    void check(long lba, ByteBuffer block, Consumer<ByteBuffer> check) {
        RuntimeException failure;
        try {
            check.accept(block);
            return;
        } catch (SnapshotException | CoreException e) {
            failure = e;
        }
        for (int copy = 1; copy <= store.redundantCopies(); copy++) {
            if (!store.readCopy(lba, 1, block, 0, copy)) {
                continue;
            }
            try {
                check.accept(block);
            } catch (SnapshotException | CoreException e) {
                continue;
            }
            LOG.warn("snapshot store block {} of {} failed its check ({}); read from redundancy copy {}, rewritten once"
                    + " the volume has loaded", lba, store.name(), failure.getMessage(), copy);
            fromCopies.add(new long[] {lba, copy});
            return;
        }
        throw failure;
    }

    /** Reads store block {@code lba} into {@code block} and {@linkplain #check checks} it. */
    void read(long lba, ByteBuffer block, Consumer<ByteBuffer> check) {
        store.read(lba, 1, block, 0);
        check(lba, block, check);
    }

    /** The store blocks a copy supplied so far. */
    int blocksFromCopies() {
        return fromCopies.size();
    }

    /**
     * Rewrites every block a copy supplied, so that plain reads return it again. A repair that fails
     * is logged, not thrown: the volume loaded from the good copy, and the next open reads it again.
     */
    void repair() {
        for (long[] block : fromCopies) {
            try {
                store.repairFromCopy(block[0], 1, (int) block[1]);
            } catch (RuntimeException e) {
                LOG.warn("snapshot store block {} of {}: repair from redundancy copy {} failed: {}", block[0],
                        store.name(), block[1], e.getMessage());
            }
        }
        fromCopies.clear();
    }
}
