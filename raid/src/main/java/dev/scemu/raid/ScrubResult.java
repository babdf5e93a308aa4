package dev.scemu.raid;

/**
 * Result of a scrub pass.
 *
 * @param stripesChecked stripes (RAID-5: one chunk row across the members; RAID-1: one chunk-sized
 *        region) read and compared
 * @param mismatchedStripes stripes whose parity or mirrors disagreed with the data (md's
 *        mismatch_cnt, counted per stripe rather than per sector)
 * @param repairedStripes stripes rewritten (repair mode only)
 */
public record ScrubResult(long stripesChecked, long mismatchedStripes, long repairedStripes) {
}
