package dev.scemu.snapshot.internal;

import dev.scemu.core.IoCause;
import java.nio.ByteBuffer;

/**
 * Reads of the live volume and of snapshot views.
 *
 * <h2>Ordering rules</h2>
 * <ol>
 *   <li><b>Live reads</b> hold the shared locks of every stripe they touch ({@link StripeLocks},
 *       ascending lock order; a shared lock is granted only while no block of its stripe is
 *       held by a run or the committer), read the data device, then copy every pending batch slot of the
 *       range over it (O(1) lookups in each batch's index, see {@link CowBatch#slotOf}). Under
 *       those locks no run and no committer step of the range is half done, so the read returns,
 *       per block, the latest write that completed before it began or one concurrent with it
 *       (the proof is rule 3 of {@link WritePath}). Live reads take no volume-wide lock: snapshot
 *       create, delete and rollback do not stop them.</li>
 *   <li><b>View reads</b> also hold their stripes shared (rule 4 of {@link WritePath}); they
 *       look entries up under {@code meta}, 64 blocks at a time, then read the data device and
 *       the pool outside it. An entry whose copy is still pending in a batch (the committer
 *       writes copies at commit, {@link WritePath#copyPending}, found through the batch's
 *       {@code lba -> slot} index) is read from the data device: its slot is pending, so the
 *       data device still holds the old block, and it keeps holding it while the read holds the
 *       stripe shared (the committer writes a slot's new data only holding the slot's block,
 *       and only after the copy). A pool block is read only once its copy was written. The
 *       caller holds the volume's {@code viewGate} shared, which a deletion takes exclusively: a
 *       pool block freed by a deletion is never read through a stale entry.</li>
 * </ol>
 */
final class ReadPath {

    private static final long FROM_DATA = Long.MIN_VALUE;

    private final VolumeState s;
    private final WritePath writes;
    private final int blockSize;

    ReadPath(VolumeState s, WritePath writes) {
        this.s = s;
        this.writes = writes;
        this.blockSize = s.blockSize;
    }

    /** Reads the live volume. */
    void readLive(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        s.stripes.lockShared(lba, blockCount);
        try {
            s.data.read(lba, blockCount, buffer, bufferOffset);
            s.meter.issuedRead(IoCause.HOST, (long) blockCount * blockSize);
            writes.overlayPending(lba, blockCount, buffer, bufferOffset);
        } finally {
            s.stripes.unlockShared(lba, blockCount);
        }
    }

    /** Reads snapshot {@code epoch}'s blocks under the range's stripe locks (caller holds viewGate shared). */
    void readSnapshot(long epoch, long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        s.stripes.lockShared(lba, blockCount);
        try {
            readSnapshotUnlocked(epoch, lba, blockCount, buffer, bufferOffset);
        } finally {
            s.stripes.unlockShared(lba, blockCount);
        }
    }

    /**
     * Reads snapshot {@code epoch}'s blocks. Without stripe locks: only for a caller that holds
     * writeGate exclusively (no run and no commit can change the range).
     */
    void readSnapshotUnlocked(long epoch, long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        long[] sources = new long[Math.min(blockCount, StripeLocks.DEFAULT_STRIPE_BLOCKS)];
        for (int done = 0; done < blockCount; done += sources.length) {
            int chunk = Math.min(sources.length, blockCount - done);
            synchronized (s.meta) {
                for (int i = 0; i < chunk; i++) {
                    long blockLba = lba + done + i;
                    int entry = s.index.find(blockLba, epoch);
                    if (entry == MappingIndex.NONE) {
                        sources[i] = FROM_DATA;
                    } else {
                        long storeBlock = s.index.storeBlock(entry);
                        // a copy not written yet: its old block is still on the data device (rule 4)
                        sources[i] = storeBlock != MappingIndex.ZERO_BLOCK && writes.copyPending(blockLba, entry)
                                ? FROM_DATA : storeBlock;
                    }
                }
            }
            readChunk(sources, chunk, lba + done, buffer, bufferOffset + done * blockSize);
        }
    }

    private void readChunk(long[] sources, int chunk, long lba, ByteBuffer buffer, int bufferOffset) {
        int runStart = -1;
        for (int i = 0; i <= chunk; i++) {
            boolean fromData = i < chunk && sources[i] == FROM_DATA;
            if (fromData) {
                if (runStart < 0) {
                    runStart = i;
                }
                continue;
            }
            if (runStart >= 0) {
                s.data.read(lba + runStart, i - runStart, buffer, bufferOffset + runStart * blockSize);
                s.meter.issuedRead(IoCause.HOST, (long) (i - runStart) * blockSize);
                runStart = -1;
            }
            if (i == chunk) {
                break;
            }
            long storeBlock = sources[i];
            int at = bufferOffset + i * blockSize;
            if (storeBlock == MappingIndex.ZERO_BLOCK) {
                Buffers.zero(buffer, at, blockSize);
            } else {
                s.store.read(s.layout.pool().lba() + storeBlock, 1, buffer, at);
                s.meter.issuedRead(IoCause.COW_COPY, blockSize);
            }
        }
    }
}
