package dev.scemu.backup;

/**
 * What a restore does with the image's zero (unused, never-written, all-zero) runs. The stored
 * extents are always written; {@link #TRIM} and {@link #WRITE_ZEROS} act only on the parts of a
 * zero run that the destination may hold data in ({@code BlockDevice.mapAllocation} reports
 * {@code DATA}): what it reports as zero or a hole already reads as zeros and is left alone.
 */
public enum ZeroPolicy {
    /** Trim them: the destination reads zeros there (cheap on thin media). Default. */
    TRIM,
    /** Write zero blocks (for destinations whose trim is not read-zero). */
    WRITE_ZEROS,
    /** Leave them untouched: write only the extents the image stores (the destination is known to be zero, for example freshly created). */
    SKIP
}
