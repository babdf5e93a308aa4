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
 * The same block range (the member tail after data_offset + data_size) on the in-sync members,
 * seen as one device: the parity journal's region. I/O is metered on the array as
 * {@link IoCause#JOURNAL}.
 *
 * <h2>Which members hold the journal</h2>
 * <ul>
 *   <li><b>Every role ACTIVE (mirror mode):</b> writes go to every member, reads come from the
 *       first that answers (the copies are equal), so the journal survives the loss of any member.
 *       The journal is then idle: only degraded writes are journaled.</li>
 *   <li><b>Some role not ACTIVE (home mode: degraded, or rebuilding):</b> reads, writes and the
 *       log's flushes go to the <em>home</em> member alone, the ACTIVE member of the lowest role.
 *       md's PPL keeps one copy of a stripe's partial parity (on its parity disk), for the same
 *       reason: the array survives no further loss, so a second copy of the journal would protect
 *       only against an unreadable journal block on the home at the next assembly (a cut, a
 *       degraded array and a medium error there at once; the journal is then formatted afresh with
 *       a warning, as any unreadable one). One copy costs one member flush per group commit instead of one per member
 *       (`scemu serve` on file members, one member failed: three ranged {@code msync}s of the
 *       journal, 2.2-2.9 ms a sync, bound degraded 4 KiB writes at QD16 to about 3k IOPS).</li>
 * </ul>
 * The home is stable while the array is degraded: it changes only if the home member fails, which
 * is a second loss. The other ACTIVE members' copies are then stale (an older prefix of the same
 * log) and are never read: a stale unfinished transaction replayed over newer data of its columns
 * would write a wrong parity. At assembly the same member is home: a member failed while running
 * is recorded faulty in the others' superblocks before any journaled write
 * ({@code MdRaidArray.markFailed}), so the lowest ACTIVE role is the same one. The array leaves
 * home mode only in {@code MdRaidArray.rebuildDone}: under the journal's drain lock, after every
 * transaction is committed, the home's region is copied to every other member that will be ACTIVE
 * (the stale copies and the rebuilt member's) and flushed, and only then does the rebuilt member
 * turn ACTIVE in the superblocks. A member being rebuilt gets no journal writes before that.
 *
 * <h2>Flushes</h2>
 * A flush of the region ({@link #flush()}, what the journal's {@code ExecutionLog} calls) is a
 * ranged flush of the region's member blocks on the members that hold the journal: it makes the
 * journal's own blocks durable and writes back nothing else (on file members a ranged
 * {@code msync} of the tail, not a write-back of every data page the degraded writes dirtied).
 * {@link #flushMembersWhole()} flushes every working member whole: what the journal needs before
 * a COMMIT (the transaction's data durable) and before logging an L whose columns were written
 * (ParityJournal Ordering 2 and 3).
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

    /** The home member (see the class doc) while some role is not ACTIVE; null while every role is. */
    Slot home() {
        Slot first = null;
        boolean everyRoleActive = true;
        for (Slot slot : array.slots) {
            if (slot.device != null && slot.state == MemberState.ACTIVE) {
                first = first == null ? slot : first;
            } else {
                everyRoleActive = false;
            }
        }
        return everyRoleActive ? null : first;
    }

    private static boolean holdsJournal(Slot slot, Slot home) {
        return home == null ? slot.device != null && slot.state == MemberState.ACTIVE : slot == home;
    }

    @Override
    protected void doRead(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        Slot home = home();
        for (Slot slot : array.slots) {
            BlockDevice d = slot.device;
            if (d == null || !holdsJournal(slot, home)) {
                continue;
            }
            try {
                d.read(startLba + lba, blockCount, buffer, bufferOffset);
                array.meter().issuedRead(IoCause.JOURNAL, geometry().lengthOf(blockCount));
                return;
            } catch (CoreException e) {
                MdRaidArray.rethrowIfFatal(e, slot, d);
            }
        }
        throw new CoreException(CoreError.IO_ERROR, "journal blocks [" + lba + ", +" + blockCount
                + ") unreadable on " + (home == null ? "every member" : "its home member " + home.role) + " of "
                + array.name());
    }

    @Override
    protected void doWrite(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        Slot home = home();
        int written = 0;
        for (Slot slot : array.slots) {
            BlockDevice d = slot.device;
            if (d == null || !holdsJournal(slot, home)) {
                continue;
            }
            try {
                d.write(startLba + lba, blockCount, buffer, bufferOffset, fua);
                array.meter().issuedWrite(IoCause.JOURNAL, geometry().lengthOf(blockCount));
                written++;
            } catch (CoreException e) {
                MdRaidArray.rethrowIfFatal(e, slot, d);
                array.markFailed(slot, d, "journal write: " + e.getMessage());
            }
        }
        if (written == 0) {
            throw new CoreException(CoreError.IO_ERROR, "journal write failed on "
                    + (home == null ? "every member" : "its home member " + home.role) + " of " + array.name());
        }
    }

    /** The region's blocks on the members that hold the journal: its own blocks durable, nothing else. */
    @Override
    protected void doFlush() {
        Slot home = home();
        for (Slot slot : array.slots) {
            if (home == null || slot == home) {
                flushMember(slot, startLba, blockCount());
            }
        }
    }

    /**
     * Flushes every working member whole: every write any of them completed before the call is
     * durable when this returns (the data and parity of the journal's done transactions, the columns
     * an L assumes).
     */
    void flushMembersWhole() {
        for (Slot slot : array.slots) {
            flushMember(slot, 0, -1);
        }
    }

    /**
     * Flushes member blocks {@code [memberLba, +blockCount)} ({@code -1}: whole) of a present
     * member that has not failed, on the calling thread: a journal sync on memory members is a few
     * microseconds, which handing flushes to other threads ({@link MemberFlushes}) would multiply;
     * on file members it measured the same (tenth and eleventh sessions).
     */
    private void flushMember(Slot slot, long memberLba, long blockCount) {
        BlockDevice d = slot.device;
        if (d == null || slot.state == MemberState.FAILED) {
            return;
        }
        try {
            if (blockCount < 0) {
                d.flush();
            } else {
                d.flushRange(memberLba, blockCount);
            }
        } catch (CoreException e) {
            MdRaidArray.rethrowIfFatal(e, slot, d);
            array.markFailed(slot, d, "journal flush: " + e.getMessage());
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
