/**
 * controller-core: the block-device contract every layer of scemu implements, its geometry and
 * extents, the media backends (off-heap memory, memory-mapped file, direct file I/O), I/O metering
 * by cause, fault injection (including power cuts), the execution log used for every multi-step
 * update, and the checksummed on-disk record header.
 *
 * <p>Public API lives in this package; implementations live in {@code dev.scemu.core.internal}
 * and are not part of the API.
 */
package dev.scemu.core;
