package dev.scemu.backup;

/** What a restore does with the image's zero (unused, never-written, all-zero) runs. */
public enum ZeroPolicy {
    /** Trim them: the destination reads zeros there (cheap on thin media). Default. */
    TRIM,
    /** Write zero blocks (for destinations whose trim is not read-zero). */
    WRITE_ZEROS,
    /** Leave them untouched (the destination is known to be zero, for example freshly created). */
    SKIP
}
