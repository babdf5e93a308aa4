/**
 * Implementation of the backup module: archive records ({@link dev.scemu.backup.internal.ArchiveLayout}),
 * the backup, verify and restore pipelines, key derivation, and the directory and S3 targets. Not API.
 */
package dev.scemu.backup.internal;
