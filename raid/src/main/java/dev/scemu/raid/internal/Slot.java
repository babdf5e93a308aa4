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
    /**
     * REBUILDING only: the recovery_offset the superblocks record (md's {@code rdev->recovery_offset}),
     * in member blocks: the rebuild's last checkpoint ({@link MdRaidArray#rebuildCheckpoint}), set
     * after the member was flushed and the parity journal synced behind it, before the superblocks
     * are written. Never ahead of {@link #recoveredBlocks}.
     */
    volatile long recordedRecoveryBlocks;
    /**
     * REBUILDING only: {@link #recordedRecoveryBlocks} once superblocks recording it are durable.
     * A restart resumes the rebuild there, so only below it is the member in sync across a power
     * cut: rows beyond it (even rows the rebuild has passed, which it reads) are still degraded for
     * the write hole ({@link #inSyncDurably}).
     */
    volatile long durableRecoveryBlocks;
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

    /**
     * Whether member data blocks below {@code endBlock} are in sync in a way a power cut keeps:
     * ACTIVE, or REBUILDING with a durable recovery_offset at or past {@code endBlock} (md's
     * {@code R5_Insync} in analyse_stripe: {@code sh->sector + STRIPE_SECTORS <= rdev->recovery_offset};
     * md moves recovery_offset to its checkpoint, curr_resync_completed, in md_update_sb as it
     * writes the superblocks, scemu once they are durable). A RAID-5 write to a row where some member is not
     * goes through the parity journal.
     */
    boolean inSyncDurably(long endBlock) {
        MemberState s = state;
        return device != null && (s == MemberState.ACTIVE
                || (s == MemberState.REBUILDING && endBlock <= durableRecoveryBlocks));
    }

    /** Sets every recovery position of a member that starts (or resumes) its rebuild at {@code blocks}. */
    void startRecoveryAt(long blocks) {
        recoveredBlocks = blocks;
        recordedRecoveryBlocks = blocks;
        durableRecoveryBlocks = blocks;
    }

    /** Whether member data blocks below {@code endBlock} hold valid data. */
    boolean readable(long endBlock) {
        MemberState s = state;
        return device != null && (s == MemberState.ACTIVE || (s == MemberState.REBUILDING && endBlock <= recoveredBlocks));
    }
}
