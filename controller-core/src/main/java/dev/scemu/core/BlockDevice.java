package dev.scemu.core;

import java.nio.ByteBuffer;

/**
 * A device of fixed-size blocks: the one contract every layer of scemu implements (media, fault
 * injection, RAID array, partition, snapshot volume), so layers stack like device-mapper targets.
 *
 * <h2>Buffers</h2>
 * Reads and writes move {@code blockCount * blockSize} bytes between the device and the bytes
 * {@code [bufferOffset, bufferOffset + length)} of {@code buffer}, addressed absolutely: the
 * buffer's position and limit are not changed, and the range must lie below its limit. Direct
 * (off-heap) buffers are the fast path; heap buffers work too.
 *
 * <h2>Durability</h2>
 * A completed write is visible to every later read. It survives a power cut only once
 * {@link #flush()} has returned after it, or if it was written with {@code fua} (force unit
 * access), in which case it is durable when the call returns. A ranged flush,
 * {@link #flushRange}, makes durable only what was written to its range (a layer that shares one
 * medium among several partitions flushes one partition without writing back the others' pages).
 * Every layer honours this, and the crash tests check it. A block write is atomic: after a power cut a block holds either its old
 * or its new contents, never a mix (the model of a sector-atomic disk).
 *
 * <h2>Trim</h2>
 * {@link #trim} tells the device that the blocks' contents are no longer needed; afterwards they
 * read as zeros (deterministic read-zero-after-trim). Like a write, a trim is durable only after
 * a flush.
 *
 * <h2>Threads and closing</h2>
 * Implementations are safe for concurrent I/O from several threads; concurrent writes to the same
 * block leave one of the written contents. {@link #close()} is idempotent; any I/O after it fails
 * with {@link CoreError#CLOSED}.
 */
public interface BlockDevice extends AutoCloseable {

    /** A short human-readable name used in error messages and reports. */
    String name();

    BlockGeometry geometry();

    default int blockSize() {
        return geometry().blockSize();
    }

    default long blockCount() {
        return geometry().blockCount();
    }

    /** Reads {@code blockCount} blocks starting at {@code lba} into {@code buffer} at {@code bufferOffset}. */
    void read(long lba, int blockCount, ByteBuffer buffer, int bufferOffset);

    /**
     * Writes {@code blockCount} blocks starting at {@code lba} from {@code buffer} at
     * {@code bufferOffset}; with {@code fua} the data is durable when this returns.
     */
    void write(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, boolean fua);

    /** Writes without force-unit-access: durable after the next {@link #flush()}. */
    default void write(long lba, int blockCount, ByteBuffer buffer, int bufferOffset) {
        write(lba, blockCount, buffer, bufferOffset, false);
    }

    /**
     * Writes like {@link #write(long, int, ByteBuffer, int, boolean)} for a caller that already
     * holds the blocks' current contents: {@code oldBuffer} at {@code oldOffset} holds exactly
     * what {@code [lba, lba + blockCount)} reads now. A layer that needs the old contents (a RAID-5
     * read-modify-write) uses them instead of reading them again; other layers ignore them. This
     * is an explicit hand-over, not a cache: the caller must have read the blocks itself and must
     * keep every other write to them out between that read and this call, or parity is computed
     * from stale data. The default ignores the old contents.
     */
    default void writeOver(long lba, int blockCount, ByteBuffer buffer, int bufferOffset,
                           ByteBuffer oldBuffer, int oldOffset, boolean fua) {
        write(lba, blockCount, buffer, bufferOffset, fua);
    }

    /**
     * Writes {@code blockCount} blocks from {@code lba} whose bytes {@code fill} computes: the same
     * as {@link #write(long, int, ByteBuffer, int, boolean)} of those bytes, durability and
     * atomicity included. A medium that keeps its blocks in memory and can address the range
     * contiguously lets {@code fill} write them in place ({@link Media#memory}), which saves the
     * pass that would copy a computed buffer into it (a RAID-5 parity chunk). Every other device,
     * and every layer that must see the bytes (fault injection, caches, mirrors), has {@code fill}
     * write into {@code scratch} from offset 0 and writes that, which is this default.
     * {@code scratch} must be a direct buffer whose limit holds the write; its contents afterwards
     * are unspecified (the in-place path does not touch it). {@code fill} runs at most once, after
     * the request was checked.
     *
     * @throws CoreException {@link CoreError#INVALID_ARGUMENT} if {@code scratch} is not direct,
     *     {@link CoreError#BUFFER_TOO_SMALL} if it is too small, and what {@code write} throws
     */
    default void writeComputed(long lba, int blockCount, BlockFill fill, ByteBuffer scratch, boolean fua) {
        geometry().checkRange(lba, blockCount);
        int length = geometry().bufferLengthOf(blockCount);
        AbstractBlockDevice.checkScratch(name(), scratch, length);
        fill.fill(NativeMemory.address(scratch), length);
        write(lba, blockCount, scratch, 0, fua);
    }

    /**
     * Announces writes the caller is about to issue, to blocks {@code [lbas[i], lbas[i] + counts[i])}
     * for {@code i < n}, and returns a handle to close once they have been issued (md's plug: the
     * writes a layer above gathers and submits together). A layer that must make something durable
     * before each write may do it once for all of them now: a RAID array with a write-intent bitmap
     * sets every bit they need with one bitmap page write per page and keeps those bits set until
     * the handle is closed, instead of one page write per region as each write arrives. Purely a
     * cost hint: every write still does all its own contract requires (a write outside the
     * announcement, or after the close, is just as correct), and the writes need not be issued
     * at all. The default does nothing.
     *
     * @throws CoreException {@link CoreError#OUT_OF_RANGE} if a range is outside the device; what
     *     a write would throw if the device cannot do the preparation (nothing is held then)
     */
    default AnnouncedWrites announceWrites(long[] lbas, int[] counts, int n) {
        for (int i = 0; i < n; i++) {
            geometry().checkRange(lbas[i], counts[i]);
        }
        return AnnouncedWrites.NONE;
    }

    /** Makes every write and trim completed before this call durable. */
    void flush();

    /**
     * Makes every write and trim of blocks in {@code [lba, lba + blockCount)} completed before
     * this call durable; writes outside the range need not be (they may be: a flush of the whole
     * device is a correct ranged flush, and it is the default). Layers pass the range down mapped
     * onto their members (a partition onto its array, an array onto the rows' member ranges), so
     * that on file media a ranged flush writes back only the range's dirty pages: a snapshot
     * store's commit then does not pay for the data partition's writes. Called with the same
     * ordering guarantees as {@link #flush()}: a write that completed before the call and lies in
     * the range survives a power cut after it returns.
     *
     * @throws CoreException {@link CoreError#OUT_OF_RANGE} if the range is outside the device
     */
    default void flushRange(long lba, long blockCount) {
        geometry().checkRange(lba, blockCount);
        flush();
    }

    /** Discards {@code blockCount} blocks from {@code lba}: they read as zeros afterwards. */
    void trim(long lba, long blockCount);

    /**
     * Reports what {@code [lba, lba + blockCount)} holds without reading it: calls {@code sink}
     * with contiguous extents in ascending order that cover the range exactly, unless the sink
     * stops the walk early. A layer answers from what it knows (a snapshot's mapping table, a
     * member file's holes via {@code SEEK_DATA}/{@code SEEK_HOLE}, a RAID layout's mapping onto
     * its members) and must be conservative: a range it reports as {@link Allocation#ZERO} or
     * {@link Allocation#HOLE} reads as zeros. Adjacent extents may share a state; callers merge
     * them if they care. The default knows nothing and reports the whole range as
     * {@link Allocation#DATA}.
     *
     * @throws CoreException {@link CoreError#OUT_OF_RANGE} if the range is outside the device
     */
    default void mapAllocation(long lba, long blockCount, AllocationSink sink) {
        geometry().checkRange(lba, blockCount);
        if (blockCount > 0) {
            sink.extent(lba, blockCount, Allocation.DATA);
        }
    }

    /**
     * The writes this device takes best ({@link OptimalWrite}: a RAID-5 array's stripe rows), so
     * that a layer above can cut its writes at unit boundaries. The default has no preference.
     */
    default OptimalWrite optimalWrite() {
        return OptimalWrite.ANY;
    }

    /**
     * How many other copies of its blocks this device can read with {@link #readCopy}: a RAID-1 or
     * RAID-5 array one per member (the blocks as read without that member), a device without
     * redundancy none (the default).
     */
    default int redundantCopies() {
        return 0;
    }

    /**
     * Reads {@code [lba, +blockCount)} as redundancy copy {@code copy} (1..{@link #redundantCopies})
     * holds it: on a RAID array the range as read without member {@code copy - 1} (a RAID-5 rebuilds
     * what lies on that member from the others, a mirror reads another mirror). For a caller whose own
     * checksum refused what a plain read returned, as ZFS and btrfs ask the RAID below them for
     * another copy (Synology's "self-healing" over md does the same). Returns false, leaving the
     * buffer undefined, when the copy cannot differ from a plain read (no block of the range lies on
     * that member) or cannot be read; the default has no copies.
     */
    default boolean readCopy(long lba, int blockCount, ByteBuffer buffer, int bufferOffset, int copy) {
        return false;
    }

    /**
     * Makes redundancy copy {@code copy} what every later read of {@code [lba, +blockCount)} returns:
     * a RAID array rewrites the blocks of member {@code copy - 1} that the range covers from the other
     * members (md writes a read error's blocks back the same way). For a caller that checked the copy
     * ({@link #readCopy}). The default has no copies and refuses.
     */
    default void repairFromCopy(long lba, int blockCount, int copy) {
        throw new CoreException(CoreError.INVALID_ARGUMENT, name() + " has no redundant copies to repair from");
    }

    /** Whether writes and trims are refused with {@link CoreError#READ_ONLY}. */
    default boolean isReadOnly() {
        return false;
    }

    /** The meter of this device: what it received and what it issued below, by cause. */
    IoMeter meter();

    /** Releases the device's memory and files. Idempotent. Does not flush. */
    @Override
    void close();
}
