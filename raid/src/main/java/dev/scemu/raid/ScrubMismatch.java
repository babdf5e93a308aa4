package dev.scemu.raid;

/**
 * One stripe a scrub found inconsistent.
 *
 * @param stripe           stripe index (RAID-5: stripe row; RAID-1: chunk-sized region)
 * @param arrayOffsetBytes byte offset in the array of the first data byte the stripe protects
 * @param lengthBytes      array bytes the stripe protects (RAID-5: chunk x data disks; RAID-1: the region)
 * @param repaired         true if the scrub rewrote it (RAID-5: parity from the data; RAID-1: the
 *                         other mirrors from the first readable one) — md's {@code repair}, which
 *                         makes the stripe consistent but cannot tell which member held the bad bytes
 */
public record ScrubMismatch(long stripe, long arrayOffsetBytes, long lengthBytes, boolean repaired) {
}
