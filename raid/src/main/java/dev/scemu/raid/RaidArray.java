package dev.scemu.raid;

import dev.scemu.core.BlockDevice;
import dev.scemu.raid.internal.MdRaidArray;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * A RAID array over member {@link BlockDevice}s whose members are Linux md v1.2 members on disk
 * (see {@code docs/raid-on-disk.md}): levels 0, 1 (n-way mirror) and 5 with md's four parity
 * layouts, md's internal write-intent bitmap, degraded mode, latent-sector-error repair,
 * background rebuild with checkpoints, and scrub.
 *
 * <p>The array owns its members: {@link #close()} stops the array cleanly and closes them;
 * {@link #stop()} stops it cleanly and leaves them open (to assemble them again).
 *
 * <h2>Ordering</h2>
 * <ul>
 *   <li>Before the first write after a clean start, every member's superblock is marked dirty
 *       (resync_offset = 0, events + 1) and flushed; {@link #stop()} flushes the members and then
 *       marks them clean (resync_offset = MaxSector, events + 1) and flushes again. Assembled
 *       read-auto ({@link AssembleOptions#readAuto}), a clean array writes nothing until that
 *       first write (or another change), and a stop before it writes nothing.</li>
 *   <li>With a bitmap, the bit of a region is set and the bitmap flushed on every member before
 *       any data or parity of that region is written; bits are cleared only after a member flush
 *       that followed the region's last completed write (on {@link #flush()}).</li>
 *   <li>A member failure or replacement is recorded in the superblocks of the remaining members
 *       (events + 1, role faulty) before the I/O that noticed it completes.</li>
 *   <li>A rebuild checkpoint (recovery_offset) is written only after the rebuilt data below it
 *       has been flushed on the new member.</li>
 * </ul>
 */
public interface RaidArray extends BlockDevice {

    /** Writes fresh superblocks (and bitmap) to {@code members} (member i gets role i) and starts the array. */
    static RaidArray create(RaidConfig config, List<? extends BlockDevice> members) {
        dev.scemu.core.JvmFlags.require(); // the parity kernels use native memory
        return MdRaidArray.create(config, members);
    }

    /**
     * Re-assembles an array from its members' superblocks alone, in any order. Like
     * {@code mdadm --assemble --run}, a RAID-1/5 starts degraded without a member that is unreadable,
     * carries a damaged superblock, belongs to another array or is stale ({@link #memberFault} says
     * which and why); too few members, or any on RAID-0, is refused with every reason.
     */
    static RaidArray assemble(List<? extends BlockDevice> members) {
        return assemble(members, AssembleOptions.defaults());
    }

    /** Re-assembles with options (force, read-only, degraded start, exposed size, resync listener). */
    static RaidArray assemble(List<? extends BlockDevice> members, AssembleOptions options) {
        dev.scemu.core.JvmFlags.require();
        return MdRaidArray.assemble(members, options);
    }

    /**
     * What scemu reads from each md member (level, layout, chunk, sizes, offsets, events, role,
     * array state, bitmap, bad-block log, feature bits), and whether the set assembles and why not:
     * {@code scemu md examine}. Reads only; the members stay open.
     */
    static String examine(List<? extends BlockDevice> members) {
        return dev.scemu.raid.internal.MdExamination.report(members);
    }

    RaidLevel level();

    /** Number of member slots (md's raid_disks). */
    int raidDisks();

    int chunkBytes();

    Raid5Layout raid5Layout();

    UUID setUuid();

    /** md's event counter as last written to the superblocks. */
    long events();

    /** Where data starts on each member, in 512-byte sectors. */
    long dataOffsetSectors();

    /**
     * Data bytes used on each member (md's {@code size}); on a RAID-0 of members of different sizes
     * (md's strip zones) the freshest member's own.
     */
    long memberDataBytes();

    boolean isDegraded();

    MemberState memberState(int role);

    /**
     * Why slot {@code role} is failed: found at assembly ("missing", "unreadable: ...", "md
     * superblock checksum mismatch: ...", "belongs to array ...", "stale: ...") or the error that
     * failed it while running; null while the member is active or rebuilding.
     */
    String memberFault(int role);

    /** The device in slot {@code role}; null when the slot is failed and empty. */
    BlockDevice member(int role);

    /**
     * Marks member {@code role} failed (md's {@code --fail}): it gets no more I/O. Refused on RAID-0
     * ({@link RaidError#BAD_MEMBER}: RAID-0 has no redundancy).
     */
    void failMember(int role);

    /**
     * Puts {@code device} into the failed slot {@code role} and rebuilds it in the background,
     * resuming nothing (a new device starts at offset 0). The future completes when the member is
     * in sync, or exceptionally if the rebuild stops.
     */
    CompletableFuture<RebuildProgress> replaceMember(int role, BlockDevice device, RebuildListener listener);

    /** The running background rebuild or resync, or a completed future when none runs. */
    CompletableFuture<RebuildProgress> backgroundWork();

    /** Checks (and with {@code repair}, fixes) redundancy of every stripe; runs on the caller's thread. */
    default ScrubResult scrub(boolean repair) {
        return scrub(repair, new ScrubListener() { });
    }

    /**
     * Like {@link #scrub(boolean)}, telling {@code listener} about progress and each inconsistent
     * stripe with its array offset.
     */
    ScrubResult scrub(boolean repair, ScrubListener listener);

    /**
     * md's {@code sync_speed_min} / {@code sync_speed_max} for resync, rebuild and scrub, in bytes
     * per second: a pass never runs faster than {@code max} (0 = no maximum); while the array
     * serves host I/O it yields to it until its own speed is down to {@code min}
     * ({@link Long#MAX_VALUE} = never yields, the default). Acts on a running pass.
     *
     * @throws RaidException {@link RaidError#INVALID_CONFIG} if a limit is negative or
     *         {@code min > max > 0}; nothing changes then
     */
    void setSyncSpeedLimits(long minBytesPerSecond, long maxBytesPerSecond);

    /**
     * The clock (nanoseconds) the write-intent bitmap measures idle regions with: a bit clears only
     * after its region was idle for the header's {@code daemon_sleep} (md's 5 s). The default is
     * {@link System#nanoTime}; a simulation passes its simulated clock so that a seeded run clears
     * the same bits whatever the machine's speed. No effect without a bitmap.
     */
    default void setBitmapClock(java.util.function.LongSupplier nanos) {
    }

    /** Flushes the members, marks the superblocks clean and detaches from the members without closing them. */
    void stop();
}
