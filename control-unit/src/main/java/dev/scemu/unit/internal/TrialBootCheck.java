package dev.scemu.unit.internal;

import dev.scemu.core.BlockDevice;
import dev.scemu.flash.FirmwareImage;
import dev.scemu.flash.SelfCheck;
import dev.scemu.raid.RaidArray;
import dev.scemu.snapshot.SnapshotVolume;
import dev.scemu.unit.GuidPartitionTable;
import dev.scemu.unit.UnitError;
import dev.scemu.unit.UnitException;
import java.nio.ByteBuffer;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The control unit's post-boot self-check of a trial firmware image, run by the firmware manager right
 * after the switch while host I/O flows (see {@code FirmwareManager}: a failure reverts to the old
 * image). It checks what the new code must be able to do with this unit's persistent state:
 * <ol>
 *   <li>the image declares the capabilities the unit uses: its RAID level ({@code raid0/1/5}) and
 *       {@code snapshots} (an update forced past a missing capability is reverted here);</li>
 *   <li>the GPT reads back from the array (primary or backup) with exactly the partitions in use;</li>
 *   <li>the snapshot volume answers: its snapshot list, and a read of its first and last block.</li>
 * </ol>
 * A failure throws {@link UnitException} ({@link UnitError#SELF_CHECK_FAILED}) saying which check
 * failed, which the update report carries.
 */
public final class TrialBootCheck implements SelfCheck {

    /** What the check reads: the live stack (the unit swaps it on reboot). */
    public record Stack(RaidArray array, GuidPartitionTable partitions, SnapshotVolume volume) {
    }

    private final Supplier<Stack> stack;

    public TrialBootCheck(Supplier<Stack> stack) {
        this.stack = stack;
    }

    @Override
    public boolean check(FirmwareImage image) {
        Stack live = stack.get();
        String level = live.array().level().name().toLowerCase(Locale.ROOT);
        for (String needed : new String[] {level, "snapshots"}) {
            if (!image.capabilities().contains(needed)) {
                throw failed("image " + image.version() + " lacks capability " + needed + " that this unit uses"
                        + " (has " + image.capabilities() + ")");
            }
        }
        GuidPartitionTable onDisk;
        try {
            onDisk = GuidPartitionTable.read(live.array());
        } catch (RuntimeException e) {
            throw failed("the partition table does not read back from the array: " + e.getMessage());
        }
        if (!onDisk.partitions().equals(live.partitions().partitions())) {
            throw failed("the partition table on the array " + onDisk.partitions() + " differs from the one in use "
                    + live.partitions().partitions());
        }
        SnapshotVolume volume = live.volume();
        try {
            volume.listSnapshots();
            readBlock(volume, 0);
            readBlock(volume, volume.blockCount() - 1);
        } catch (RuntimeException e) {
            throw failed("the snapshot volume does not answer: " + e.getMessage());
        }
        return true;
    }

    private static void readBlock(BlockDevice device, long lba) {
        device.read(lba, 1, ByteBuffer.allocateDirect(device.blockSize()), 0);
    }

    private static UnitException failed(String detail) {
        return new UnitException(UnitError.SELF_CHECK_FAILED, "trial boot self-check: " + detail);
    }
}
