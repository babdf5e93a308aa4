/**
 * scemu raid: a RAID-0/1/5 engine over member {@link dev.scemu.core.BlockDevice}s whose members
 * are Linux md arrays on disk (v1.2 superblock 4 KiB from the member start, md's RAID-5 layouts,
 * md's internal write-intent bitmap), so {@code mdadm --examine} reads the member images a
 * simulation leaves behind. See {@code docs/raid-on-disk.md}.
 *
 * <p>Public API lives in this package ({@link dev.scemu.raid.RaidArray}, {@link dev.scemu.raid.RaidConfig});
 * implementations live in {@code dev.scemu.raid.internal} and are not part of the API.
 */
package dev.scemu.raid;
