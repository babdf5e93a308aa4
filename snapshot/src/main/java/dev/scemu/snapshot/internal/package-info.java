/**
 * Implementation classes of the snapshot layer. Not API: may change without notice. Obtain
 * instances through {@link dev.scemu.snapshot.SnapshotVolume}.
 */
package dev.scemu.snapshot.internal;
