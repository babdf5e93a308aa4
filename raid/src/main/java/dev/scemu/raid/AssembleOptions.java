package dev.scemu.raid;

/**
 * Options of {@link RaidArray#assemble(java.util.List, AssembleOptions)}.
 *
 * @param force start a dirty degraded RAID-5 anyway (like {@code mdadm --assemble --force}); data
 *        of stripes written at the crash may be wrong on the missing member
 * @param arrayBlockCount blocks to expose (see {@link RaidConfig#arrayBlockCount()}); 0 = full capacity
 * @param rebuildBytesPerSecond throttle of resync and rebuild; 0 = unthrottled
 * @param listener told about background resync and rebuild progress; may be null
 * @param resyncInForeground run the resync of an unclean array (dirty bitmap regions, or all
 *        stripes without a bitmap) before assemble returns instead of in the background
 * @param setUuid the array to assemble (like {@code mdadm --assemble --uuid}): members of another
 *        set are left out as foreign; null = the set most members carry
 * @param readOnly assemble without writing anything to the members (like {@code mdadm --readonly}):
 *        no superblock, bitmap, journal or bad-block log update, no resync or rebuild; writes and
 *        trims are refused with {@code READ_ONLY}
 * @param degradedStart start with members missing when the level tolerates it (like
 *        {@code mdadm --run}, the default); false refuses a degraded set with
 *        {@link RaidError#NOT_ENOUGH_MEMBERS} naming the missing roles
 * @param readAuto start a clean array "read-auto" (md's auto-read-only, {@code start_ro}): the
 *        assembly writes nothing when it has nothing to record (clean, no resync, rebuild, spare
 *        or newly missing member), and the array writes nothing until the first change: before
 *        the first write, trim, announced write batch, repair or member change reaches a member,
 *        the superblocks are updated as md's {@code md_write_start} does (events + 1, dirty for a
 *        write), and a {@link RaidArray#stop()} with no change since the assembly writes nothing
 *        either. Reads and scrubs without repair stay read-auto. An assembly that has something
 *        to record writes as without this option
 * @param expectedRaidDisks the number of members the caller's own record of the array says it has
 *        (a unit's {@code diskCount}); 0 = whatever the superblocks say. An assembly whose freshest
 *        superblock records another {@code raid_disks} is refused with {@link RaidError#INVALID_CONFIG}
 *        before anything is written: with fewer members offered than the array has, it would start
 *        degraded and record the rest as faulty; with more, it would leave the extra ones out silently
 */
public record AssembleOptions(boolean force, long arrayBlockCount, long rebuildBytesPerSecond,
                              RebuildListener listener, boolean resyncInForeground, java.util.UUID setUuid,
                              boolean readOnly, boolean degradedStart, boolean readAuto, int expectedRaidDisks) {

    /** The options without {@link #expectedRaidDisks} (any count), as before that option existed. */
    public AssembleOptions(boolean force, long arrayBlockCount, long rebuildBytesPerSecond, RebuildListener listener,
                           boolean resyncInForeground, java.util.UUID setUuid, boolean readOnly, boolean degradedStart,
                           boolean readAuto) {
        this(force, arrayBlockCount, rebuildBytesPerSecond, listener, resyncInForeground, setUuid, readOnly,
                degradedStart, readAuto, 0);
    }

    public static AssembleOptions defaults() {
        return new AssembleOptions(false, 0, 0, null, true, null, false, true, false, 0);
    }

    public AssembleOptions withExpectedRaidDisks(int value) {
        return new AssembleOptions(force, arrayBlockCount, rebuildBytesPerSecond, listener, resyncInForeground, setUuid,
                readOnly, degradedStart, readAuto, value);
    }

    public AssembleOptions withSetUuid(java.util.UUID value) {
        return new AssembleOptions(force, arrayBlockCount, rebuildBytesPerSecond, listener, resyncInForeground, value,
                readOnly, degradedStart, readAuto, expectedRaidDisks);
    }

    public AssembleOptions withForce(boolean value) {
        return new AssembleOptions(value, arrayBlockCount, rebuildBytesPerSecond, listener, resyncInForeground, setUuid,
                readOnly, degradedStart, readAuto, expectedRaidDisks);
    }

    public AssembleOptions withArrayBlockCount(long value) {
        return new AssembleOptions(force, value, rebuildBytesPerSecond, listener, resyncInForeground, setUuid,
                readOnly, degradedStart, readAuto, expectedRaidDisks);
    }

    public AssembleOptions withListener(RebuildListener value) {
        return new AssembleOptions(force, arrayBlockCount, rebuildBytesPerSecond, value, resyncInForeground, setUuid,
                readOnly, degradedStart, readAuto, expectedRaidDisks);
    }

    public AssembleOptions withRebuildBytesPerSecond(long value) {
        return new AssembleOptions(force, arrayBlockCount, value, listener, resyncInForeground, setUuid,
                readOnly, degradedStart, readAuto, expectedRaidDisks);
    }

    public AssembleOptions withReadOnly(boolean value) {
        return new AssembleOptions(force, arrayBlockCount, rebuildBytesPerSecond, listener, resyncInForeground, setUuid,
                value, degradedStart, readAuto, expectedRaidDisks);
    }

    public AssembleOptions withDegradedStart(boolean value) {
        return new AssembleOptions(force, arrayBlockCount, rebuildBytesPerSecond, listener, resyncInForeground, setUuid,
                readOnly, value, readAuto, expectedRaidDisks);
    }

    public AssembleOptions withReadAuto(boolean value) {
        return new AssembleOptions(force, arrayBlockCount, rebuildBytesPerSecond, listener, resyncInForeground, setUuid,
                readOnly, degradedStart, value, expectedRaidDisks);
    }
}
