package dev.scemu.raid.internal;

import static dev.scemu.raid.internal.MdRaidArray.IO_MEDIUM_ERROR;
import static dev.scemu.raid.internal.MdRaidArray.IO_OK;

import dev.scemu.core.BlockFill;
import dev.scemu.core.IoCause;
import dev.scemu.core.NativeMemory;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * RAID-5 data path with md's placement ({@link Raid5Geometry}).
 *
 * <h2>Writes</h2>
 * A write is split by stripe (row); inside a row, by segments of chunk offsets over which the set
 * W of written data chunks is constant. Per segment of {@code h} blocks, like md's
 * handle_stripe_dirtying: read-modify-write costs {@code (|W| + 1) * h} reads (old data of W and
 * old parity), reconstruct-write {@code (D - |W|) * h} (the data not written); RMW is used when
 * strictly cheaper, otherwise RCW, so a full-stripe write reads nothing and computes parity from
 * the new data only. A strategy that needs an unreadable member is not chosen; a medium error
 * during the reads switches to the other strategy. When neither strategy can read what it needs
 * for a segment of several blocks, the segment is written block by block: md's stripe is one
 * block per member, so unreadable blocks of different members at different offsets are separate
 * single faults (only two in the same block are a double fault).
 *
 * <h2>Ordering</h2>
 * The row's bitmap bit is durable before the row's columns are locked; under the lock the old data
 * and parity are read, then new data and new parity are written (with the caller's FUA), then the
 * lock is released. Readers of healthy members take no lock.
 *
 * <h2>Locking: columns, not rows (md's {@code stripe_head})</h2>
 * A <b>column</b> {@code c} of row {@code r} is member block {@code r * chunkBlocks + c} of every
 * member: the data blocks at chunk offset {@code c} and the parity block that is their XOR. Parity
 * is per column, so a column's consistency involves that column's blocks only. The row locks
 * ({@link StripeLocks}) are sets of column locks; the rules, and why they keep parity the XOR of
 * the data:
 * <ol>
 *   <li><b>Every member I/O stays in its columns.</b> {@link #writeRow} splits the written row
 *       blocks into segments {@code [segStart, segStart + h)} of chunk offsets, each inside the
 *       written range {@code [start[j], end[j])} of some data index {@code j}. Every member read
 *       or write of a segment, whatever the strategy, is at member blocks
 *       {@code r * chunkBlocks + [segStart, segStart + h)}: the written data
 *       ({@link #writeData}), the old data and old parity a read-modify-write reads
 *       ({@link #readModifyWrite}: the parity range is the segment's, no wider), the unwritten data
 *       a reconstruct-write reads ({@link #reconstructWrite}), the parity written
 *       ({@link #writeFullSegment} and {@link #writeSegment}); so are the block-by-block retry and
 *       the journal's pieces (sub-ranges of the segment), and a journal transaction records exactly
 *       the segment. The union of the segments is the set of columns
 *       {@code (rowOffset + i) % chunkBlocks} of the written blocks ({@link #columnsOf}).</li>
 *   <li><b>A write of a row in sync takes exactly those columns</b> ({@link #lockForWrite}), all
 *       at once. Two writes of disjoint columns of one row therefore read and write disjoint member
 *       blocks, and each one's parity update ({@code p' = p ^ old ^ new}, or the XOR of the column's
 *       data) reads only blocks the other never writes: they commute, and the result is what either
 *       order under a row lock would give. Writes with a common column still serialize, as whole
 *       rows did. A write that covers a chunk's worth of blocks or more (a whole row among them)
 *       takes every column.</li>
 *   <li><b>Whole-row operations take every column</b> ({@link StripeLocks#lockRow}): reconstruction
 *       of unreadable blocks and their repair ({@link #readPiece}), a row's member trims
 *       ({@link #trimRow}), resync and scrub ({@link #syncUnit}), rebuild ({@link #rebuildUnit},
 *       which also moves the member's recovered offset past the row). They run with no column
 *       holder in the row, and a column writer never sees a row half rebuilt, half trimmed or half
 *       resynced, nor the recovered offset move past its row while it holds columns.</li>
 *   <li><b>Degraded rows are written by column too.</b> A write to a row some member is not in
 *       sync with (as a power cut would leave it: failed, missing, or rebuilding above its durable
 *       recovery_offset) may go through the parity journal; it takes its columns like any other.
 *       It stays in them (rule 1: a read-modify-write reads the written members' old data and the
 *       parity of its columns; a reconstruct-write, possible only when the missing member's
 *       blocks are written, reads the other present members' data of its columns), each journal
 *       transaction records and recovers only its own columns, and the journal's ordering rule
 *       is per column ({@link ParityJournal} Ordering 3: a transaction's L assumes only the other
 *       members' data of its columns, which no writer of other columns touches). Reconstruction
 *       of the missing member's blocks on a read takes the whole row (rule 3), so it never sees a
 *       column half written. Until the tenth session degraded writes took the whole row: a
 *       sequential stream of 4 KiB writes (the next columns of one row) then ran one at a time,
 *       each with its own journal sync, instead of sharing group commits.</li>
 *   <li><b>Lock order.</b> Bitmap bits, then one row's columns (a multi-row write releases each row
 *       before the next), then the parity journal's locks, then the metadata lock; never the other
 *       way round ({@link StripeLocks} Ordering). Readers of healthy members take no lock: a
 *       member block write is atomic, so they see a column's old or new data, as before.</li>
 * </ol>
 */
final class Raid5Engine implements LevelEngine {

    /**
     * Per-thread arrays of {@link #writeRow} and of the parity passes ({@code sources}/{@code offsets}:
     * the inputs of one multi-source {@link Xor#xor(ByteBuffer, int, ByteBuffer[], int[], int, int)}),
     * so the write path allocates nothing per I/O. {@code sources} is cleared after each use so the
     * thread does not keep callers' buffers reachable.
     */
    private static final class Scratch {
        final int[] start;
        final int[] end;
        final int[] bounds;
        final boolean[] written;
        final ByteBuffer[] sources;
        final int[] offsets;
        final ParityFill parityFill = new ParityFill();

        Scratch(int dataDisks) {
            start = new int[dataDisks];
            end = new int[dataDisks];
            bounds = new int[2 * dataDisks];
            written = new boolean[dataDisks];
            sources = new ByteBuffer[dataDisks + 1];
            offsets = new int[dataDisks + 1];
        }
    }

    /**
     * The parity of a full-stripe segment as a {@link BlockFill}: XOR of {@code count} sources of
     * the scratch arrays into the memory the parity member hands over (its own storage when it is
     * a memory medium, else a pool buffer it then writes). One per thread, in {@link Scratch}.
     */
    private static final class ParityFill implements BlockFill {
        ByteBuffer[] sources;
        int[] offsets;
        int count;

        @Override
        public void fill(long address, int length) {
            Xor.xorToAddress(address, sources, offsets, count, length);
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(() -> new Scratch(0));

    private final MdRaidArray a;
    private final Raid5Geometry geo;
    private final int n;
    private final int dataDisks;
    private final int chunkBlocks;
    private final int blockSize;

    Raid5Engine(MdRaidArray array) {
        this.a = array;
        this.n = array.raidDisks;
        this.geo = new Raid5Geometry(array.layout, n);
        this.dataDisks = n - 1;
        this.chunkBlocks = array.chunkBlocks;
        this.blockSize = array.blockSize;
    }

    Raid5Geometry geometry() {
        return geo;
    }

    @Override
    public long unitCount() {
        return a.memberDataBlocks / chunkBlocks;
    }

    // ------------------------------------------------------------------ read

    @Override
    public void read(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        forEachPiece(lba, blockCount, bufferOffset, (pos, row, member, memberLba, k, off) -> {
            readPiece(pos, row, member, memberLba, k, buffer, off);
            return true;
        });
    }

    /** One piece of a range: its blocks within one chunk, on one member. */
    @FunctionalInterface
    private interface Piece {
        /** Whether to go on with the next piece. */
        boolean visit(long lba, long row, int member, long memberLba, int blockCount, int bufferOffset);
    }

    /** Splits {@code [lba, +blockCount)} at chunk boundaries; false if a visit stopped it. */
    private boolean forEachPiece(long lba, int blockCount, int bufferOffset, Piece piece) {
        long pos = lba;
        int remaining = blockCount;
        int off = bufferOffset;
        while (remaining > 0) {
            long chunk = pos / chunkBlocks;
            int inChunk = (int) (pos % chunkBlocks);
            int k = Math.min(remaining, chunkBlocks - inChunk);
            long row = geo.stripeOf(chunk);
            if (!piece.visit(pos, row, geo.memberOf(chunk), row * chunkBlocks + inChunk, k, off)) {
                return false;
            }
            pos += k;
            remaining -= k;
            off += k * blockSize;
        }
        return true;
    }

    private void readPiece(long lba, long row, int member, long memberLba, int k, ByteBuffer buffer, int off) {
        int status = MdRaidArray.IO_UNAVAILABLE;
        if (a.readable(member, memberLba + k)) {
            status = a.readMember(member, memberLba, k, buffer, off, IoCause.HOST);
            if (status == IO_OK) {
                return;
            }
            if (status == IO_MEDIUM_ERROR && k > 1) {
                // like md: only the blocks that fail are rebuilt from redundancy, the others read as stored
                for (int i = 0; i < k; i++) {
                    readPiece(lba + i, row, member, memberLba + i, 1, buffer, off + i * blockSize);
                }
                return;
            }
        }
        a.locks.lockRow(row); // reconstruction: the whole row (Locking 3)
        try {
            if (status != IO_MEDIUM_ERROR && a.readable(member, memberLba + k)
                    && a.readMember(member, memberLba, k, buffer, off, IoCause.HOST) == IO_OK) {
                return;
            }
            reconstruct(row, member, memberLba, k, buffer, off, lba, IoCause.PARITY);
            if (status == IO_MEDIUM_ERROR && a.writable(member)) {
                a.repairMediumErrors(member, memberLba, k, buffer, off);
            }
        } finally {
            a.locks.unlockRow(row);
        }
    }

    /** XOR of every other member's blocks into {@code buffer}; caller holds the row lock. */
    private void reconstruct(long row, int missing, long memberLba, int k, ByteBuffer buffer, int off, long lba,
                             IoCause cause) {
        ByteBuffer tmp = a.pool.acquire();
        try {
            boolean first = true;
            int length = k * blockSize;
            for (int m = 0; m < n; m++) {
                if (m == missing) {
                    continue;
                }
                if (!a.readable(m, memberLba + k)
                        || a.readMember(m, memberLba, k, tmp, 0, cause) != IO_OK) {
                    throw a.arrayFailed("reconstruct member " + missing + " (also needs member " + m + ")", lba, m);
                }
                if (first) {
                    Xor.copy(buffer, off, tmp, 0, length);
                    first = false;
                } else {
                    Xor.xorInto(buffer, off, tmp, 0, length);
                }
            }
        } finally {
            a.pool.release(tmp);
        }
    }

    // ------------------------------------------------------------------ copies (BlockDevice.readCopy)

    @Override
    public boolean readWithout(int excluded, long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        return forEachPieceWithout(excluded, lba, blockCount, buffer, bufferOffset, false);
    }

    @Override
    public void repairWithout(int excluded, long lba, int blockCount) {
        ByteBuffer rebuilt = a.pool.acquire();
        try {
            long pos = lba;
            int remaining = blockCount;
            while (remaining > 0) {
                int k = Math.min(remaining, chunkBlocks - (int) (pos % chunkBlocks));
                forEachPieceWithout(excluded, pos, k, rebuilt, 0, true);
                pos += k;
                remaining -= k;
            }
        } finally {
            a.pool.release(rebuilt);
        }
    }

    /**
     * Reads {@code [lba, +blockCount)} with member {@code excluded}'s pieces rebuilt from the other
     * members under their row lock (the row's data and parity cannot change meanwhile); with
     * {@code repair}, writes each rebuilt piece back to {@code excluded} under the same lock. Whether
     * any piece lay on {@code excluded} and the others could rebuild every such piece.
     */
    private boolean forEachPieceWithout(int excluded, long lba, int blockCount, ByteBuffer buffer, int bufferOffset,
                                        boolean repair) {
        boolean[] differs = {false};
        boolean complete = forEachPiece(lba, blockCount, bufferOffset, (pos, row, member, memberLba, k, off) -> {
            if (member != excluded) {
                if (!repair) {
                    readPiece(pos, row, member, memberLba, k, buffer, off);
                }
                return true;
            }
            a.locks.lockRow(row); // reconstruction: the whole row (Locking 3)
            try {
                for (int m = 0; m < n; m++) {
                    if (m != excluded && !a.readable(m, memberLba + k)) {
                        return false; // a second member missing: no other copy of this piece
                    }
                }
                reconstruct(row, excluded, memberLba, k, buffer, off, pos, IoCause.PARITY);
                if (repair) {
                    a.rewriteFromRedundancy(excluded, memberLba, k, buffer, off);
                }
            } catch (dev.scemu.raid.RaidException e) {
                return false;
            } finally {
                a.locks.unlockRow(row);
            }
            differs[0] = true;
            return true;
        });
        return complete && differs[0];
    }

    // ------------------------------------------------------------------ write

    @Override
    public void write(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua) {
        writeOver(lba, blockCount, buffer, bufferOffset, null, 0, fua);
    }

    /**
     * A write whose old contents the caller hands over ({@code old} at {@code oldOffset}, null if
     * not): a read-modify-write takes the old data of the written chunks from there and reads only
     * the old parity (md would read both). Parity stays exact as long as the caller's contract holds
     * (the old contents are what the blocks hold; see {@code BlockDevice.writeOver}).
     */
    @Override
    public void writeOver(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, ByteBuffer old,
                          int oldOffset, boolean fua) {
        long rowBlocks = (long) chunkBlocks * dataDisks;
        long pos = lba;
        int remaining = blockCount;
        int off = bufferOffset;
        int oldOff = oldOffset;
        while (remaining > 0) {
            long row = pos / rowBlocks;
            int rowOffset = (int) (pos - row * rowBlocks);
            int k = (int) Math.min(remaining, rowBlocks - rowOffset);
            writeRow(row, rowOffset, k, buffer, off, old, oldOff, fua);
            pos += k;
            remaining -= k;
            off += k * blockSize;
            oldOff += k * blockSize;
        }
    }

    /** The rows' member blocks, as {@link #writeRow} starts them: {@code [firstRow, lastRow + 1) * chunkBlocks}. */
    @Override
    public long[] bitmapSpan(long lba, long blockCount) {
        long rowBlocks = (long) chunkBlocks * dataDisks;
        return new long[] {lba / rowBlocks * chunkBlocks, ((lba + blockCount - 1) / rowBlocks + 1) * chunkBlocks};
    }

    private void writeRow(long row, int rowOffset, int k, ByteBuffer buffer, int off, ByteBuffer old, int oldOff,
                          boolean fua) {
        long rowMemberLba = row * chunkBlocks;
        a.bitmapStart(rowMemberLba, chunkBlocks);
        long columns = lockForWrite(row, rowOffset, k);
        // the chunk offsets from the first any data member's part starts at to the last it ends at:
        // the columns (member lbas) written, parity included, for the journal's ordering rule
        int firstColumn = 0;
        int endColumn = 0;
        try {
            // written chunk-offset range [start[j], end[j]) of each data index j (per-thread scratch)
            Scratch scratch = scratch();
            int[] start = scratch.start;
            int[] end = scratch.end;
            int[] bounds = scratch.bounds;
            boolean[] written = scratch.written;
            Arrays.fill(start, 0);
            Arrays.fill(end, 0);
            int nb = 0;
            for (int j = 0; j < dataDisks; j++) {
                int s = Math.max(rowOffset, j * chunkBlocks);
                int e = Math.min(rowOffset + k, (j + 1) * chunkBlocks);
                if (e > s) {
                    start[j] = s - j * chunkBlocks;
                    end[j] = e - j * chunkBlocks;
                    bounds[nb++] = start[j];
                    bounds[nb++] = end[j];
                }
            }
            Arrays.sort(bounds, 0, nb);
            firstColumn = bounds[0];
            endColumn = bounds[nb - 1];
            for (int i = 0; i + 1 < nb; i++) {
                int segStart = bounds[i];
                int segEnd = bounds[i + 1];
                if (segEnd <= segStart) {
                    continue;
                }
                int w = 0;
                for (int j = 0; j < dataDisks; j++) {
                    written[j] = end[j] > start[j] && start[j] <= segStart && segEnd <= end[j];
                    w += written[j] ? 1 : 0;
                }
                if (w > 0) {
                    int h = segEnd - segStart;
                    int max = journaled(row, row * chunkBlocks + segEnd) ? a.journal.maxSegmentBlocks() : h;
                    for (int s = 0; s < h; s += max) {
                        writeSegment(row, segStart + s, Math.min(max, h - s), written, w, rowOffset, buffer, off,
                                old, oldOff, fua);
                    }
                }
            }
        } finally {
            if (a.journal != null && endColumn > firstColumn) {
                // before the columns are released (ParityJournal Ordering 3)
                a.journal.columnsWritten(rowMemberLba + firstColumn, endColumn - firstColumn);
            }
            a.locks.unlock(row, columns);
            a.bitmapEnd(rowMemberLba, chunkBlocks);
        }
    }

    /**
     * Takes the row lock a write of row blocks {@code [rowOffset, rowOffset + k)} needs (Locking 2
     * and 4) and returns the columns held: the columns it touches, or the whole row when the row is
     * degraded. A member that leaves the row's sync between the check and the lock (it failed) is
     * seen by the second check, and the write trades its columns for the whole row before it has
     * read or written anything.
     */
    private long lockForWrite(long row, int rowOffset, int k) {
        long columns = columnsOf(rowOffset, k);
        a.locks.lock(row, columns);
        return columns;
    }

    /**
     * The column mask of row blocks {@code [rowOffset, rowOffset + k)}: the chunk offsets
     * {@code (rowOffset + i) % chunkBlocks}, which are the member blocks every segment of
     * {@link #writeRow} reads and writes on every member, parity included; every column when the
     * write covers a chunk's worth of blocks or more.
     */
    long columnsOf(int rowOffset, int k) {
        if (k >= chunkBlocks) {
            return a.locks.all();
        }
        int s = rowOffset % chunkBlocks;
        int e = s + k;
        if (e <= chunkBlocks) {
            return a.locks.mask(s, e);
        }
        return a.locks.mask(s, chunkBlocks) | a.locks.mask(0, e - chunkBlocks); // ends in the next chunk
    }

    /**
     * Whole stripe rows pass down as member trims: every data chunk of the row and its parity, under
     * the row lock with the row's bitmap bit set first (as {@link #writeRow}). Parity of zeros is
     * zeros, so the trimmed row is consistent. The head and tail of the range that do not cover a
     * whole row, and any row a member cannot read in full (degraded, rebuilding), take the write
     * path with zeros instead ({@link MdRaidArray#writeZeros}: read-modify-write or reconstruct-write,
     * the parity journal when the row is degraded).
     *
     * <p>Crash: the bit is durable before any member changes. A cut in the middle of a row's member
     * trims leaves each member block holding its old data or zeros, and parity old or zeros; the set
     * bit makes assembly resync the row (parity recomputed from the data), so every data block reads
     * its old data or zeros, never a mix. A degraded row is never trimmed this way: there a stripe
     * torn between old and zero would reconstruct the missing member's blocks as garbage.
     */
    @Override
    public void trim(long lba, long blockCount) {
        long rowBlocks = (long) chunkBlocks * dataDisks;
        long end = lba + blockCount;
        long firstRow = (lba + rowBlocks - 1) / rowBlocks;
        long endRow = end / rowBlocks;
        if (endRow <= firstRow) {
            a.writeZeros(lba, blockCount);
            return;
        }
        if (firstRow * rowBlocks > lba) {
            a.writeZeros(lba, firstRow * rowBlocks - lba);
        }
        for (long row = firstRow; row < endRow; row++) {
            if (!trimRow(row)) {
                a.writeZeros(row * rowBlocks, rowBlocks);
            }
        }
        if (end > endRow * rowBlocks) {
            a.writeZeros(endRow * rowBlocks, end - endRow * rowBlocks);
        }
    }

    /** Trims every member's chunk of {@code row}; false (nothing changed) if the row is not fully readable. */
    private boolean trimRow(long row) {
        long memberLba = row * chunkBlocks;
        a.bitmapStart(memberLba, chunkBlocks);
        a.locks.lockRow(row);
        try {
            for (int m = 0; m < n; m++) {
                if (!a.inSyncDurably(m, memberLba + chunkBlocks)) {
                    return false;
                }
            }
            int failed = 0;
            for (int m = 0; m < n; m++) {
                if (!a.trimMember(m, memberLba, chunkBlocks, IoCause.HOST)) {
                    failed++;
                }
            }
            if (failed > 1) {
                throw a.arrayFailed("trim", row * chunkBlocks * (long) dataDisks, -1);
            }
            return true;
        } finally {
            if (a.journal != null) {
                a.journal.columnsWritten(memberLba, chunkBlocks); // before the row is released (ParityJournal Ordering 3)
            }
            a.locks.unlockRow(row);
            a.bitmapEnd(memberLba, chunkBlocks);
        }
    }

    private Scratch scratch() {
        Scratch scratch = SCRATCH.get();
        if (scratch.start.length < dataDisks) {
            scratch = new Scratch(dataDisks);
            SCRATCH.set(scratch);
        }
        return scratch;
    }

    private int dataBufferOffset(int j, int segStart, int rowOffset, int off) {
        return off + (j * chunkBlocks + segStart - rowOffset) * blockSize;
    }

    private void writeSegment(long row, int segStart, int h, boolean[] written, int w, int rowOffset,
                              ByteBuffer buffer, int off, ByteBuffer old, int oldOff, boolean fua) {
        long memberLba = row * chunkBlocks + segStart;
        long arrayLba = row * chunkBlocks * (long) dataDisks + rowOffset;
        int parity = geo.parityMember(row);
        int length = h * blockSize;
        if (!a.writable(parity)) {
            writeData(row, segStart, h, written, rowOffset, buffer, off, fua, arrayLba);
            return;
        }
        if (w == dataDisks && !journaled(row, memberLba + h)) {
            writeFullSegment(row, segStart, h, written, rowOffset, buffer, off, fua, arrayLba, parity);
            return;
        }
        ByteBuffer p = a.pool.acquire();
        ByteBuffer tmp = a.pool.acquire();
        try {
            int badMask = 0; // members that returned a medium error in this segment
            boolean done = false;
            for (int attempt = 0; attempt < 3 && !done; attempt++) {
                boolean rmwOk = readableFor(parity, memberLba + h, badMask);
                boolean rcwOk = true;
                for (int j = 0; j < dataDisks; j++) {
                    int m = geo.dataMember(row, j);
                    if (written[j]) {
                        rmwOk &= old != null || readableFor(m, memberLba + h, badMask); // old data handed over
                    } else {
                        rcwOk &= readableFor(m, memberLba + h, badMask);
                    }
                }
                int rmwCost = old != null ? 1 : w + 1;
                int rcwCost = dataDisks - w;
                boolean useRmw = rmwOk && (rmwCost < rcwCost || !rcwOk);
                if (!useRmw && !rcwOk) {
                    break;
                }
                int failedMember = useRmw
                        ? readModifyWrite(row, memberLba, h, written, segStart, rowOffset, buffer, off, old, oldOff, p,
                                tmp, parity)
                        : reconstructWrite(row, memberLba, h, written, segStart, rowOffset, buffer, off, p, tmp);
                if (failedMember < 0) {
                    done = true;
                } else {
                    badMask |= 1 << failedMember;
                }
            }
            if (!done) {
                if (h > 1) {
                    // md's stripes are one block per member: unreadable blocks at different offsets of
                    // this segment are separate single faults, so each block chooses its own strategy
                    // (nothing has been written yet)
                    for (int i = 0; i < h; i++) {
                        writeSegment(row, segStart + i, 1, written, w, rowOffset, buffer, off, old, oldOff, fua);
                    }
                    return;
                }
                throw a.arrayFailed("compute parity", arrayLba,
                        badMask == 0 ? parity : Integer.numberOfTrailingZeros(badMask));
            }
            if (journaled(row, memberLba + h)) {
                // L = new parity XOR new data of the present written members (see ParityJournal), one pass
                Scratch scratch = scratch();
                ByteBuffer[] sources = scratch.sources;
                int[] offsets = scratch.offsets;
                sources[0] = p;
                offsets[0] = 0;
                int count = 1;
                int mask = 0;
                for (int j = 0; j < dataDisks; j++) {
                    int m = geo.dataMember(row, j);
                    if (written[j] && a.writable(m)) {
                        sources[count] = buffer;
                        offsets[count++] = dataBufferOffset(j, segStart, rowOffset, off);
                        mask |= 1 << m;
                    }
                }
                Xor.xor(tmp, 0, sources, offsets, count, length);
                Arrays.fill(sources, null);
                a.journal.protectedWrite(row, memberLba, h, mask, tmp, () -> {
                    writeData(row, segStart, h, written, rowOffset, buffer, off, fua, arrayLba);
                    a.writeMember(parity, memberLba, h, p, 0, IoCause.PARITY, fua);
                });
            } else {
                writeData(row, segStart, h, written, rowOffset, buffer, off, fua, arrayLba);
                a.writeMember(parity, memberLba, h, p, 0, IoCause.PARITY, fua);
            }
            if (!a.writable(parity) && !anyDataWritable(row, written)) {
                throw a.arrayFailed("write", arrayLba, parity);
            }
        } finally {
            a.pool.release(tmp);
            a.pool.release(p);
        }
        assert length > 0;
    }

    /**
     * Every data chunk of the segment is written and the row is not degraded: reconstruct-write
     * reading nothing, as {@link #reconstructWrite} would do it, but the parity is computed after
     * the data writes straight into the parity member ({@link MdRaidArray#writeMemberComputed}), so
     * a memory member takes it without the copy out of a pool buffer. Same writes, same order
     * (data, then parity, with the caller's FUA), same bytes. Caller holds the row lock.
     */
    private void writeFullSegment(long row, int segStart, int h, boolean[] written, int rowOffset, ByteBuffer buffer,
                                  int off, boolean fua, long arrayLba, int parity) {
        Scratch scratch = scratch();
        ParityFill fill = scratch.parityFill;
        ByteBuffer p = a.pool.acquire();
        try {
            for (int j = 0; j < dataDisks; j++) {
                scratch.sources[j] = buffer;
                scratch.offsets[j] = dataBufferOffset(j, segStart, rowOffset, off);
            }
            fill.sources = scratch.sources;
            fill.offsets = scratch.offsets;
            fill.count = dataDisks;
            writeData(row, segStart, h, written, rowOffset, buffer, off, fua, arrayLba);
            a.writeMemberComputed(parity, row * chunkBlocks + segStart, h, fill, p, IoCause.PARITY, fua);
            if (!a.writable(parity) && !anyDataWritable(row, written)) {
                throw a.arrayFailed("write", arrayLba, parity);
            }
        } finally {
            Arrays.fill(scratch.sources, null);
            fill.sources = null;
            fill.offsets = null;
            a.pool.release(p);
        }
    }

    /**
     * Whether a write to {@code row} goes through the parity journal: the stripe is degraded, parity
     * present. Degraded as a power cut would leave it ({@link MdRaidArray#inSyncDurably}): a row the
     * rebuild has passed but not yet checkpointed is read from the new member, yet a restart would
     * rebuild it again from the others, so a torn write there must be repairable like any degraded one.
     */
    private boolean journaled(long row, long endBlock) {
        if (a.journal == null || !a.writable(geo.parityMember(row))) {
            return false;
        }
        for (int m = 0; m < n; m++) {
            if (!a.inSyncDurably(m, endBlock)) {
                return true;
            }
        }
        return false;
    }

    private boolean anyDataWritable(long row, boolean[] written) {
        for (int j = 0; j < dataDisks; j++) {
            if (written[j] && a.writable(geo.dataMember(row, j))) {
                return true;
            }
        }
        return false;
    }

    private boolean readableFor(int member, long endBlock, int badMask) {
        return (badMask & (1 << member)) == 0 && a.readable(member, endBlock);
    }

    private void writeData(long row, int segStart, int h, boolean[] written, int rowOffset, ByteBuffer buffer,
                           int off, boolean fua, long arrayLba) {
        long memberLba = row * chunkBlocks + segStart;
        int failed = 0;
        for (int j = 0; j < dataDisks; j++) {
            if (written[j]) {
                int m = geo.dataMember(row, j);
                if (!a.writeMember(m, memberLba, h, buffer, dataBufferOffset(j, segStart, rowOffset, off),
                        IoCause.HOST, fua)) {
                    failed++;
                }
            }
        }
        if (failed > 1 || (failed == 1 && !a.writable(geo.parityMember(row)))) {
            throw a.arrayFailed("write data", arrayLba, -1);
        }
    }

    /** Returns -1 on success, else the member whose read failed with a medium error. */
    private int readModifyWrite(long row, long memberLba, int h, boolean[] written, int segStart, int rowOffset,
                                ByteBuffer buffer, int off, ByteBuffer old, int oldOff, ByteBuffer p, ByteBuffer tmp,
                                int parity) {
        int length = h * blockSize;
        if (a.readMember(parity, memberLba, h, p, 0, IoCause.PARITY) != IO_OK) {
            return parity;
        }
        for (int j = 0; j < dataDisks; j++) {
            if (!written[j]) {
                continue;
            }
            int newOffset = dataBufferOffset(j, segStart, rowOffset, off);
            if (old != null) {
                // p = p ^ old ^ new, the old data as the caller handed it over: no member read
                Xor.xor(p, 0, p, 0, old, dataBufferOffset(j, segStart, rowOffset, oldOff), buffer, newOffset, length);
                continue;
            }
            int m = geo.dataMember(row, j);
            if (a.readMember(m, memberLba, h, tmp, 0, IoCause.PARITY) != IO_OK) {
                return m;
            }
            // p = p ^ old ^ new in one pass (p is read and written at the same offset)
            Xor.xor(p, 0, p, 0, tmp, 0, buffer, newOffset, length);
        }
        return -1;
    }

    /**
     * Parity from the new data of W and the current data of the others. The new data and the first
     * member read (if any) are XORed in one pass; further reads (only with 5+ members) are folded in
     * one by one through {@code tmp}. A full-stripe write reads nothing: one pass over its data.
     * Returns -1 on success, else the member whose read failed with a medium error.
     */
    private int reconstructWrite(long row, long memberLba, int h, boolean[] written, int segStart, int rowOffset,
                                 ByteBuffer buffer, int off, ByteBuffer p, ByteBuffer tmp) {
        int length = h * blockSize;
        Scratch scratch = scratch();
        ByteBuffer[] sources = scratch.sources;
        int[] offsets = scratch.offsets;
        int count = 0;
        int firstRead = -1;
        for (int j = 0; j < dataDisks; j++) {
            if (written[j]) {
                sources[count] = buffer;
                offsets[count++] = dataBufferOffset(j, segStart, rowOffset, off);
            } else if (firstRead < 0) {
                firstRead = j;
            }
        }
        try {
            if (firstRead >= 0) {
                int m = geo.dataMember(row, firstRead);
                if (a.readMember(m, memberLba, h, tmp, 0, IoCause.PARITY) != IO_OK) {
                    return m;
                }
                sources[count] = tmp;
                offsets[count++] = 0;
            }
            Xor.xor(p, 0, sources, offsets, count, length);
        } finally {
            Arrays.fill(sources, null);
        }
        for (int j = firstRead + 1; firstRead >= 0 && j < dataDisks; j++) {
            if (!written[j]) {
                int m = geo.dataMember(row, j);
                if (a.readMember(m, memberLba, h, tmp, 0, IoCause.PARITY) != IO_OK) {
                    return m;
                }
                Xor.xorInto(p, 0, tmp, 0, length);
            }
        }
        return -1;
    }

    // ------------------------------------------------------------------ resync, scrub, rebuild

    @Override
    public long unitArrayLba(long row) {
        return row * chunkBlocks * (long) dataDisks;
    }

    @Override
    public long unitArrayBlocks(long row) {
        return chunkBlocks * (long) dataDisks;
    }

    @Override
    public int syncUnit(long row, boolean repair, IoCause cause) {
        long memberLba = row * chunkBlocks;
        int parity = geo.parityMember(row);
        if (repair) {
            a.bitmapStart(memberLba, chunkBlocks);
        }
        a.locks.lockRow(row);
        ByteBuffer p = a.pool.acquire();
        ByteBuffer tmp = a.pool.acquire();
        try {
            for (int m = 0; m < n; m++) {
                if (!a.readable(m, memberLba + chunkBlocks)) {
                    return -1;
                }
            }
            int length = chunkBlocks * blockSize;
            for (int j = 0; j < dataDisks; j++) {
                int m = geo.dataMember(row, j);
                ByteBuffer target = j == 0 ? p : tmp;
                int status = a.readMember(m, memberLba, chunkBlocks, target, 0, cause);
                if (status == IO_MEDIUM_ERROR) {
                    return syncRowByBlock(row, repair, cause, p, tmp);
                }
                if (status != IO_OK) {
                    return -1;
                }
                if (j > 0) {
                    Xor.xorInto(p, 0, tmp, 0, length);
                }
            }
            int parityStatus = a.readMember(parity, memberLba, chunkBlocks, tmp, 0, cause);
            if (parityStatus == IO_MEDIUM_ERROR) {
                return syncRowByBlock(row, repair, cause, p, tmp);
            }
            if (parityStatus != IO_OK) {
                if (repair) {
                    a.writeMember(parity, memberLba, chunkBlocks, p, 0, cause, false);
                }
                return 1;
            }
            if (Xor.equal(p, 0, tmp, 0, length)) {
                return 0;
            }
            if (repair) {
                a.writeMember(parity, memberLba, chunkBlocks, p, 0, cause, false);
            }
            return 1;
        } finally {
            a.pool.release(tmp);
            a.pool.release(p);
            a.locks.unlockRow(row);
            if (repair) {
                a.bitmapEnd(memberLba, chunkBlocks);
            }
        }
    }

    /**
     * {@link #syncUnit} of a row where a member returned a medium error: block by block, md's
     * stripe unit. A block one member cannot read is rebuilt from the others and rewritten (md's
     * check and repair both correct read errors), and the rest of the row is still compared; a
     * block two members cannot read is a double fault and the row is not checked (-1). Caller holds
     * the row lock; {@code acc} and {@code tmp} are chunk buffers it owns.
     */
    private int syncRowByBlock(long row, boolean repair, IoCause cause, ByteBuffer acc, ByteBuffer tmp) {
        long memberLba = row * chunkBlocks;
        int parity = geo.parityMember(row);
        int result = 0;
        for (int i = 0; i < chunkBlocks; i++) {
            // acc = XOR of every readable member's block i; a consistent stripe XORs to zero
            int unreadable = -1;
            boolean first = true;
            for (int m = 0; m < n; m++) {
                int status = a.readMember(m, memberLba + i, 1, tmp, 0, cause);
                if (status == IO_MEDIUM_ERROR && unreadable < 0) {
                    unreadable = m;
                    continue;
                }
                if (status != IO_OK) {
                    return -1;
                }
                if (first) {
                    Xor.copy(acc, 0, tmp, 0, blockSize);
                    first = false;
                } else {
                    Xor.xorInto(acc, 0, tmp, 0, blockSize);
                }
            }
            if (unreadable >= 0) {
                a.repairMediumErrors(unreadable, memberLba + i, 1, acc, 0); // acc is the missing block
                continue;
            }
            if (!NativeMemory.isZero(acc, 0, blockSize)) {
                result = 1;
                if (repair) {
                    // new parity = old parity XOR (the nonzero syndrome)
                    if (a.readMember(parity, memberLba + i, 1, tmp, 0, cause) != IO_OK) {
                        return -1;
                    }
                    Xor.xorInto(acc, 0, tmp, 0, blockSize);
                    a.writeMember(parity, memberLba + i, 1, acc, 0, cause, false);
                }
            }
        }
        return result;
    }

    @Override
    public void rebuildUnit(long row, int role) {
        long memberLba = row * chunkBlocks;
        a.locks.lockRow(row);
        ByteBuffer acc = a.pool.acquire();
        try {
            reconstruct(row, role, memberLba, chunkBlocks, acc, 0, row * chunkBlocks * (long) dataDisks,
                    IoCause.REBUILD);
            a.writeMember(role, memberLba, chunkBlocks, acc, 0, IoCause.REBUILD, false);
            a.slots[role].recoveredBlocks = memberLba + chunkBlocks;
        } finally {
            a.pool.release(acc);
            a.locks.unlockRow(row);
        }
    }
}
