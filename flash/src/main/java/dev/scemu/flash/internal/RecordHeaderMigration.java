package dev.scemu.flash.internal;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.Extent;
import dev.scemu.flash.FlashError;
import dev.scemu.flash.FlashException;
import dev.scemu.flash.Migration;
import java.nio.ByteBuffer;

/**
 * v1 → v2 record-header rewrite over a block region (see {@link RecordHeaderLayout}).
 *
 * <p>Ordering: blocks are converted in ascending LBA order in batches; each converted block is
 * one block write (atomic); the device is flushed at the end. A record already in the target
 * version is skipped, so a re-run after a power cut resumes.
 */
public final class RecordHeaderMigration implements Migration {

    private static final int BATCH_BLOCKS = 64;

    private final String format;
    private final BlockDevice device;
    private final Extent region;

    public RecordHeaderMigration(String format, BlockDevice device, Extent region) {
        device.geometry().checkRange(region.lba(), region.blockCount());
        this.format = format;
        this.device = device;
        this.region = region;
    }

    @Override
    public String format() {
        return format;
    }

    @Override
    public int fromVersion() {
        return 1;
    }

    @Override
    public int toVersion() {
        return 2;
    }

    @Override
    public void migrate() {
        convert(2);
    }

    @Override
    public void revert() {
        convert(1);
    }

    private void convert(int target) {
        int blockSize = device.blockSize();
        ByteBuffer batch = ByteBuffer.allocate(BATCH_BLOCKS * blockSize);
        for (long lba = region.lba(); lba < region.endLba(); lba += BATCH_BLOCKS) {
            int blocks = (int) Math.min(BATCH_BLOCKS, region.endLba() - lba);
            device.read(lba, blocks, batch, 0);
            for (int i = 0; i < blocks; i++) {
                ByteBuffer block = batch.duplicate().position(i * blockSize).limit((i + 1) * blockSize).slice();
                RecordHeaderLayout.Header header;
                try {
                    header = RecordHeaderLayout.decode(block);
                } catch (FlashException e) {
                    throw new FlashException(FlashError.MIGRATION_FAILED, format + " record at lba " + (lba + i) + " of "
                            + device.name() + ": " + e.getMessage(), e);
                }
                if (header.version() == 0 || header.version() == target) {
                    continue;
                }
                if (target == 2) {
                    RecordHeaderLayout.encodeV2(block, header.entryCount());
                } else {
                    if (header.entryCount() > 0xFFFF) {
                        throw new FlashException(FlashError.MIGRATION_FAILED, format + " record at lba " + (lba + i)
                                + " has " + header.entryCount() + " entries, more than v1 can count");
                    }
                    RecordHeaderLayout.encodeV1(block, (int) header.entryCount());
                }
                device.write(lba + i, 1, batch, i * blockSize);
            }
        }
        device.flush();
    }

    @Override
    public String toString() {
        return "RecordHeaderMigration[" + describe() + " on " + device.name() + region + "]";
    }
}
