package dev.scemu.core;

/** The media backends {@link Media} can open, for configuration files and command lines. */
public enum MediaKind {
    /** Off-heap memory: volatile, needs no path. */
    MEMORY,
    /** Memory-mapped file. */
    MAPPED,
    /** File driven by pread/pwrite, with O_DIRECT when the file system supports it. */
    FILE
}
