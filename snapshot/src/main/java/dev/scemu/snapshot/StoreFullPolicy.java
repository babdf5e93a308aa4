package dev.scemu.snapshot;

/** What a write does when the snapshot store cannot take the copies it needs. */
public enum StoreFullPolicy {
    /** The write fails with {@link SnapshotError#STORE_FULL} and changes nothing. */
    REFUSE_WRITE,
    /** The oldest snapshots are deleted, one at a time, until the copies fit; then the write proceeds. */
    INVALIDATE_OLDEST
}
