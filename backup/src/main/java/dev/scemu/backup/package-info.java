/**
 * Volume image backup: snapshot-consistent, compressed (zstd), optionally password-protected
 * (Argon2id + AES-256-GCM), verifiable, restorable to the same or another volume, incremental on
 * a base image, resumable, to a local directory or an S3-compatible object store.
 *
 * <p>Entry point {@link dev.scemu.backup.BackupEngine}; the source is a
 * {@link dev.scemu.backup.BackupSource} (a read-only snapshot view; the control-unit module adapts
 * its snapshots, {@link dev.scemu.backup.BackupSource#ofDevice} wraps a plain device); images live
 * on a {@link dev.scemu.backup.BackupTarget}. Errors are {@link dev.scemu.backup.BackupException}
 * with a {@link dev.scemu.backup.BackupError}. The image format is described byte by byte in
 * docs/backup-format.md; the implementation is in {@code dev.scemu.backup.internal}.
 */
package dev.scemu.backup;
