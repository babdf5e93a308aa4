package dev.scemu.raid;

import java.util.Objects;
import java.util.UUID;

/**
 * How to create an array. Build with {@link #builder(RaidLevel)}.
 *
 * @param name array name written to the superblock's {@code set_name} (at most 32 bytes UTF-8)
 * @param level RAID level
 * @param raid5Layout parity layout (RAID-5 only; md's default left-symmetric)
 * @param chunkBytes chunk size in bytes: a power of two, at least the member block size (RAID-0/5);
 *        RAID-1 stores no chunk (md writes chunksize 0) and uses 512 KiB regions for locking,
 *        resync, scrub and rebuild
 * @param dataOffsetSectors where data starts on each member, in 512-byte sectors; 0 picks the
 *        default (2048 sectors = 1 MiB like mdadm for members of 64 MiB or more, 256 sectors =
 *        128 KiB below that)
 * @param bitmap whether to keep md's internal write-intent bitmap
 * @param bitmapChunkBytes bytes of array data per bitmap bit; 0 picks the default (64 MiB like
 *        mdadm, halved until the bitmap has at least 16 bits and at least the chunk size)
 * @param arrayBlockCount blocks exposed by the array; 0 exposes the full capacity. Like
 *        {@code mdadm --grow --array-size}, the value is not stored in the superblock: pass it to
 *        {@link AssembleOptions} again on assembly
 * @param setUuid array UUID; null generates a random one
 * @param rebuildBytesPerSecond rebuild and resync throttle in bytes per second; 0 = unthrottled
 * @param assumeClean skip the initial resync (md's {@code --assume-clean}): right when the members
 *        are all zeros (new media); otherwise the array resyncs parity/mirrors in the background
 */
public record RaidConfig(String name, RaidLevel level, Raid5Layout raid5Layout, int chunkBytes,
                         long dataOffsetSectors, boolean bitmap, int bitmapChunkBytes, long arrayBlockCount,
                         UUID setUuid, long rebuildBytesPerSecond, boolean assumeClean) {

    public static final int DEFAULT_CHUNK_BYTES = 512 * 1024;

    public RaidConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(level, "level");
        Objects.requireNonNull(raid5Layout, "raid5Layout");
        if (name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > 32) {
            throw new RaidException(RaidError.INVALID_CONFIG, "array name '" + name + "' is longer than 32 bytes");
        }
        if (chunkBytes < 512 || Integer.bitCount(chunkBytes) != 1) {
            throw new RaidException(RaidError.INVALID_CONFIG,
                    "chunk size " + chunkBytes + " bytes must be a power of two >= 512");
        }
        if (dataOffsetSectors < 0 || arrayBlockCount < 0 || rebuildBytesPerSecond < 0 || bitmapChunkBytes < 0) {
            throw new RaidException(RaidError.INVALID_CONFIG, "negative value in " + name);
        }
        if (bitmapChunkBytes != 0 && Integer.bitCount(bitmapChunkBytes) != 1) {
            throw new RaidException(RaidError.INVALID_CONFIG,
                    "bitmap chunk " + bitmapChunkBytes + " bytes must be a power of two");
        }
    }

    public static Builder builder(RaidLevel level) {
        return new Builder(level);
    }

    public Builder toBuilder() {
        Builder b = new Builder(level);
        b.name = name;
        b.raid5Layout = raid5Layout;
        b.chunkBytes = chunkBytes;
        b.dataOffsetSectors = dataOffsetSectors;
        b.bitmap = bitmap;
        b.bitmapChunkBytes = bitmapChunkBytes;
        b.arrayBlockCount = arrayBlockCount;
        b.setUuid = setUuid;
        b.rebuildBytesPerSecond = rebuildBytesPerSecond;
        b.assumeClean = assumeClean;
        return b;
    }

    /** Builder with md's defaults. */
    public static final class Builder {
        private final RaidLevel level;
        private String name = "scemu:0";
        private Raid5Layout raid5Layout = Raid5Layout.LEFT_SYMMETRIC;
        private int chunkBytes = DEFAULT_CHUNK_BYTES;
        private long dataOffsetSectors;
        private boolean bitmap = true;
        private int bitmapChunkBytes;
        private long arrayBlockCount;
        private UUID setUuid;
        private long rebuildBytesPerSecond;
        private boolean assumeClean;

        private Builder(RaidLevel level) {
            this.level = level;
        }

        public Builder name(String value) {
            name = value;
            return this;
        }

        public Builder raid5Layout(Raid5Layout value) {
            raid5Layout = value;
            return this;
        }

        public Builder chunkBytes(int value) {
            chunkBytes = value;
            return this;
        }

        public Builder dataOffsetSectors(long value) {
            dataOffsetSectors = value;
            return this;
        }

        public Builder bitmap(boolean value) {
            bitmap = value;
            return this;
        }

        public Builder bitmapChunkBytes(int value) {
            bitmapChunkBytes = value;
            return this;
        }

        public Builder arrayBlockCount(long value) {
            arrayBlockCount = value;
            return this;
        }

        public Builder setUuid(UUID value) {
            setUuid = value;
            return this;
        }

        public Builder rebuildBytesPerSecond(long value) {
            rebuildBytesPerSecond = value;
            return this;
        }

        public Builder assumeClean(boolean value) {
            assumeClean = value;
            return this;
        }

        public RaidConfig build() {
            return new RaidConfig(name, level, raid5Layout, chunkBytes, dataOffsetSectors, bitmap, bitmapChunkBytes,
                    arrayBlockCount, setUuid, rebuildBytesPerSecond, assumeClean);
        }
    }
}
