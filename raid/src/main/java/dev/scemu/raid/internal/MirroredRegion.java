package dev.scemu.raid.internal;

import dev.scemu.core.AbstractBlockDevice;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.IoCause;
import dev.scemu.raid.MemberState;
import java.nio.ByteBuffer;

/**
 * The same block range (the member tail after data_offset + data_size) on every
 * in-sync member, seen as one device: writes go to every ACTIVE member, flushes to every present
 * one, reads come from the first ACTIVE member that answers. Holds the parity journal, so the
 * journal survives the loss of any member. I/O is metered on the array as {@link IoCause#JOURNAL}.
 *
 * <p>A member being rebuilt gets no journal writes: nothing reads its copy (reads and the journal's
 * open at assembly take ACTIVE members only, and it is not ACTIVE after a restart either), and it
 * receives the whole region, copied from an in-sync member under the journal's drain lock, just before it
 * turns ACTIVE ({@code MdRaidArray.rebuildDone}). During a rebuild that is one journal block write
 * in four fewer per degraded write. It is still flushed with the others: a flush of the region
 * flushes every working member whole, which is what makes the data of the journal's earlier
 * transactions durable ({@code ParityJournal} Ordering 1 and 2).
 */
final class MirroredRegion extends AbstractBlockDevice {

    private final MdRaidArray array;
    private final long startLba;

    MirroredRegion(MdRaidArray array, long startLba, long blockCount) {
        super(array.name() + "-journal", new BlockGeometry(array.blockSize, blockCount));
        this.array = array;
        this.startLba = startLba;
    }

    long startLba() {
        return startLba;
    }

    @Override
    protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        for (Slot slot : array.slots) {
            BlockDevice d = slot.device;
            if (d == null || slot.state != MemberState.ACTIVE) {
                continue;
            }
            try {
                d.read(startLba + lba, blockCount, buffer, bufferOffset);
                array.meter().issuedRead(IoCause.JOURNAL, geometry().lengthOf(blockCount));
                return;
            } catch (CoreException e) {
                MdRaidArray.rethrowIfFatal(e);
            }
        }
        throw new CoreException(CoreError.IO_ERROR, "journal blocks [" + lba + ", +" + blockCount
                + ") unreadable on every member of " + array.name());
    }

    @Override
    protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        int written = 0;
        for (Slot slot : array.slots) {
            BlockDevice d = slot.device;
            if (d == null || slot.state != MemberState.ACTIVE) {
                continue;
            }
            try {
                d.write(startLba + lba, blockCount, buffer, bufferOffset, fua);
                array.meter().issuedWrite(IoCause.JOURNAL, geometry().lengthOf(blockCount));
                written++;
            } catch (CoreException e) {
                MdRaidArray.rethrowIfFatal(e);
                array.markFailed(slot, "journal write: " + e.getMessage());
            }
        }
        if (written == 0) {
            throw new CoreException(CoreError.IO_ERROR, "journal write failed on every member of " + array.name());
        }
    }

    /**
     * Flushes every present member that has not failed, one after the other on the calling thread:
     * a journal sync on memory members is a few microseconds, which handing flushes to other
     * threads ({@link MemberFlushes}) would multiply; on file members it measured the same.
     */
    @Override
    protected void doFlush() {
        for (Slot slot : array.slots) {
            BlockDevice d = slot.device;
            if (d != null && slot.state != MemberState.FAILED) {
                try {
                    d.flush();
                } catch (CoreException e) {
                    MdRaidArray.rethrowIfFatal(e);
                    array.markFailed(slot, "journal flush: " + e.getMessage());
                }
            }
        }
    }

    @Override
    protected void doTrim(long lba, long blockCount) {
        // the journal never trims
    }

    @Override
    protected void doClose() {
        // members belong to the array
    }
}
