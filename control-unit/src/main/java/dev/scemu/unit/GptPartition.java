package dev.scemu.unit;

import java.util.UUID;

/**
 * One GPT partition entry. Sectors are GPT logical sectors of {@link GptLayout#SECTOR_BYTES}
 * bytes; {@code lastSector} is inclusive, as in the specification.
 */
public record GptPartition(UUID typeGuid, UUID uniqueGuid, long firstSector, long lastSector, long attributes,
                           String name) {

    public long sizeBytes() {
        return (lastSector - firstSector + 1) * GptLayout.SECTOR_BYTES;
    }

    public long offsetBytes() {
        return firstSector * GptLayout.SECTOR_BYTES;
    }
}
