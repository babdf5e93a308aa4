package dev.scemu.flash;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.Extent;
import dev.scemu.flash.internal.RecordHeaderMigration;

/** Factory of the built-in {@link Migration}s. */
public final class Migrations {

    private Migrations() {
    }

    /**
     * Rewrites every record header in {@code region} of {@code device} from v1 to v2 (the two
     * 16-byte record headers drawn in {@code docs/flash.md}, "Migrations"); revert rewrites v2 back to v1. Each block is converted by one
     * block write, so a re-run after a cut resumes; records already converted are skipped.
     *
     * @param format the persistent-data format name, for example {@code mapping-table}
     */
    public static Migration recordHeaderV1ToV2(String format, BlockDevice device, Extent region) {
        return new RecordHeaderMigration(format, device, region);
    }
}
