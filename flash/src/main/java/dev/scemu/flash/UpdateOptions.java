package dev.scemu.flash;

/**
 * How permissive an update is.
 *
 * @param allowDowngrade accept a lower version (and reverse migrations of its data formats)
 * @param allowMissingCapabilities accept a new image lacking capabilities the running one has
 */
public record UpdateOptions(boolean allowDowngrade, boolean allowMissingCapabilities) {

    /** Refuses downgrades and missing capabilities. */
    public static UpdateOptions defaults() {
        return new UpdateOptions(false, false);
    }

    /** Accepts downgrades and missing capabilities. */
    public static UpdateOptions forced() {
        return new UpdateOptions(true, true);
    }
}
