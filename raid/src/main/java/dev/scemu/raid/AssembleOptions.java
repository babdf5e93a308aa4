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
 */
public record AssembleOptions(boolean force, long arrayBlockCount, long rebuildBytesPerSecond,
                              RebuildListener listener, boolean resyncInForeground, java.util.UUID setUuid) {

    public static AssembleOptions defaults() {
        return new AssembleOptions(false, 0, 0, null, true, null);
    }

    public AssembleOptions withSetUuid(java.util.UUID value) {
        return new AssembleOptions(force, arrayBlockCount, rebuildBytesPerSecond, listener, resyncInForeground, value);
    }

    public AssembleOptions withForce(boolean value) {
        return new AssembleOptions(value, arrayBlockCount, rebuildBytesPerSecond, listener, resyncInForeground, setUuid);
    }

    public AssembleOptions withArrayBlockCount(long value) {
        return new AssembleOptions(force, value, rebuildBytesPerSecond, listener, resyncInForeground, setUuid);
    }

    public AssembleOptions withListener(RebuildListener value) {
        return new AssembleOptions(force, arrayBlockCount, rebuildBytesPerSecond, value, resyncInForeground, setUuid);
    }

    public AssembleOptions withRebuildBytesPerSecond(long value) {
        return new AssembleOptions(force, arrayBlockCount, value, listener, resyncInForeground, setUuid);
    }
}
