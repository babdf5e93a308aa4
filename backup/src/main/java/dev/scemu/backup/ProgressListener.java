package dev.scemu.backup;

/** Receives progress reports on the operation's calling thread, after each chunk. */
@FunctionalInterface
public interface ProgressListener {

    ProgressListener NONE = progress -> { };

    void onProgress(BackupProgress progress);
}
