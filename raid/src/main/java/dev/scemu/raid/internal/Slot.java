package dev.scemu.raid.internal;

import dev.scemu.core.BlockDevice;
import dev.scemu.raid.MemberState;
import java.util.UUID;

/** One member slot (md role) of an array: its device, state and per-device superblock fields. */
final class Slot {
    final int role;
    volatile BlockDevice device;
    volatile MemberState state = MemberState.FAILED;
    volatile int devNumber = -1;
    volatile UUID deviceUuid;
    /** REBUILDING only: member data blocks (from data_offset) already in sync. */
    volatile long recoveredBlocks;
    volatile int correctedReads;
    /**
     * FAILED only: why the slot has no in-sync member ("missing", "superblock checksum mismatch:
     * ...", "belongs to array ...", "stale: ...", or the error that failed it while running).
     */
    volatile String fault;
    /** md's bad-block log of the member; null when it has none (scemu's own members, replacements). */
    volatile BadBlockLog bblog;
    /** The member's own data_size when it may differ from the array's (RAID-0 zones), else 0. */
    volatile long dataSizeSectors;

    Slot(int role) {
        this.role = role;
    }

    boolean present() {
        return device != null && state != MemberState.FAILED;
    }

    /** Whether member data blocks below {@code endBlock} hold valid data. */
    boolean readable(long endBlock) {
        MemberState s = state;
        return device != null && (s == MemberState.ACTIVE || (s == MemberState.REBUILDING && endBlock <= recoveredBlocks));
    }
}
