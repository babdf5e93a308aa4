/**
 * scemu snapshot layer: {@link dev.scemu.snapshot.SnapshotVolume} is a {@link dev.scemu.core.BlockDevice}
 * over a data device (the live blocks) and a snapshot store (copied-out old blocks, the block
 * mapping table checkpoints and the execution log). Diff-on-write skips identical blocks; one
 * preserved copy is shared by every snapshot of an epoch range; rollback, range restore and
 * changed-block tracking for incremental backups. Design and on-disk formats: docs/snapshot.md.
 *
 * <p>Public API lives in this package; implementations live in {@code dev.scemu.snapshot.internal}.
 */
package dev.scemu.snapshot;
