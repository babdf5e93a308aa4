package dev.scemu.unit;

import dev.scemu.core.MediaKind;
import dev.scemu.flash.FlashGeometry;
import dev.scemu.raid.RaidLevel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.Properties;

/**
 * What a control unit is made of. Immutable; build with {@link #builder()}. A unit with a
 * {@code directory} keeps its member disks ({@code disk<i>.img}), its NVRAM ({@code nvram.img}),
 * this configuration and its identity ({@code unit.properties}) and its trust store
 * ({@code trusted-keys}) there, and can be reopened from it.
 *
 * <p><b>Identity and simulation mode.</b> Without a {@link #simulationSeed()} (the default) every
 * unit gets its own identity from {@link java.security.SecureRandom}: md array UUID, GPT disk and
 * partition GUIDs (the data partition's GUID is the volume id backups record) and, with the
 * default firmware, a fresh test signing key. Only a caller that asks for a simulation
 * ({@link Builder#seed}) gets an identity derived from the seed, so that a run replays exactly;
 * two simulated units with the same seed then share their identity and their signing key, which
 * anyone who knows the seed can use. See {@link UnitIdentity}.
 *
 * @param directory            where the images live; null = everything in off-heap memory
 * @param media                backend of the member disks
 * @param level                RAID level
 * @param diskCount            member disks
 * @param diskBytes            capacity of each member disk
 * @param chunkBytes           RAID chunk size
 * @param blockSize            block size of disks, array and volume
 * @param firmwareBackupBytes  size of the reserved firmware-backup partition (journal + two image slots)
 * @param snapshotStoreBytes   size of the snapshot-store partition
 * @param flash                NVRAM geometry
 * @param simulationSeed       present = simulation mode: the seed of the identity (UUIDs, GUIDs, the
 *                             default firmware's signing key) and of fault injection; empty (default)
 *                             = a real unit: random identity, fault injection seeded at random
 * @param inspectionPeriod     how often the unit inspects (and repairs) its firmware in the background;
 *                             {@link Duration#ZERO} = only at boot and on demand
 *                             ({@link StorageControlUnit#inspector()} can still be ticked by hand)
 * @param rebuildSpeed         md's speed limits for resync, rebuild and scrub ({@link RebuildSpeed#UNLIMITED}
 *                             by default; {@link StorageControlUnit#setRebuildSpeed} changes them live)
 */
public record UnitConfig(Path directory, MediaKind media, RaidLevel level, int diskCount, long diskBytes,
                         int chunkBytes, int blockSize, long firmwareBackupBytes, long snapshotStoreBytes,
                         FlashGeometry flash, OptionalLong simulationSeed, Duration inspectionPeriod,
                         RebuildSpeed rebuildSpeed) {

    public UnitConfig {
        if (simulationSeed == null) {
            throw new UnitException(UnitError.INVALID_LAYOUT, "simulationSeed must be OptionalLong.empty(), not null");
        }
        if (inspectionPeriod == null || inspectionPeriod.isNegative()) {
            throw new UnitException(UnitError.INVALID_LAYOUT, "inspection period " + inspectionPeriod
                    + " must be zero (off) or positive");
        }
        if (diskCount < (level == RaidLevel.RAID5 ? 3 : level == RaidLevel.RAID1 ? 2 : 1)) {
            throw new UnitException(UnitError.INVALID_LAYOUT, diskCount + " disks are too few for " + level);
        }
        if (rebuildSpeed == null) {
            throw new UnitException(UnitError.INVALID_LAYOUT, "rebuildSpeed must be RebuildSpeed.UNLIMITED, not null");
        }
        if (directory == null && media != MediaKind.MEMORY) {
            throw new UnitException(UnitError.INVALID_LAYOUT, media + " disks need a directory");
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Whether the caller asked for a simulation (a {@link #simulationSeed()} is set). */
    public boolean isSimulation() {
        return simulationSeed.isPresent();
    }

    /** This configuration with its images in {@code directory} (the same media kind). */
    UnitConfig withDirectory(Path directory) {
        return new UnitConfig(directory, media, level, diskCount, diskBytes, chunkBytes, blockSize, firmwareBackupBytes,
                snapshotStoreBytes, flash, simulationSeed, inspectionPeriod, rebuildSpeed);
    }

    /** Disk count times disk size: raw capacity. */
    public long rawBytes() {
        return diskCount * diskBytes;
    }

    Properties toProperties() {
        Properties p = new Properties();
        p.setProperty("media", media.name());
        p.setProperty("level", level.name());
        p.setProperty("diskCount", Integer.toString(diskCount));
        p.setProperty("diskBytes", Long.toString(diskBytes));
        p.setProperty("chunkBytes", Integer.toString(chunkBytes));
        p.setProperty("blockSize", Integer.toString(blockSize));
        p.setProperty("firmwareBackupBytes", Long.toString(firmwareBackupBytes));
        p.setProperty("snapshotStoreBytes", Long.toString(snapshotStoreBytes));
        p.setProperty("flash.pageSize", Integer.toString(flash.pageSizeBytes()));
        p.setProperty("flash.pagesPerEraseBlock", Integer.toString(flash.pagesPerEraseBlock()));
        p.setProperty("flash.eraseBlocks", Integer.toString(flash.eraseBlockCount()));
        simulationSeed.ifPresent(seed -> p.setProperty("simulationSeed", Long.toString(seed)));
        p.setProperty("firmware.inspectionPeriodMillis", Long.toString(inspectionPeriod.toMillis()));
        if (!rebuildSpeed.equals(RebuildSpeed.UNLIMITED)) {
            p.setProperty("rebuild.speedMinBytesPerSecond", Long.toString(rebuildSpeed.minBytesPerSecond()));
            p.setProperty("rebuild.speedMaxBytesPerSecond", Long.toString(rebuildSpeed.maxBytesPerSecond()));
        }
        return p;
    }

    static UnitConfig fromProperties(Path directory, Properties p) {
        try {
            return new UnitConfig(directory, MediaKind.valueOf(p.getProperty("media")),
                    RaidLevel.valueOf(p.getProperty("level")), Integer.parseInt(p.getProperty("diskCount")),
                    Long.parseLong(p.getProperty("diskBytes")), Integer.parseInt(p.getProperty("chunkBytes")),
                    Integer.parseInt(p.getProperty("blockSize")), Long.parseLong(p.getProperty("firmwareBackupBytes")),
                    Long.parseLong(p.getProperty("snapshotStoreBytes")),
                    new FlashGeometry(Integer.parseInt(p.getProperty("flash.pageSize")),
                            Integer.parseInt(p.getProperty("flash.pagesPerEraseBlock")),
                            Integer.parseInt(p.getProperty("flash.eraseBlocks"))),
                    simulationSeed(p),
                    Duration.ofMillis(Long.parseLong(p.getProperty("firmware.inspectionPeriodMillis", "0"))),
                    p.getProperty("rebuild.speedMinBytesPerSecond") == null ? RebuildSpeed.UNLIMITED
                            : new RebuildSpeed(Long.parseLong(p.getProperty("rebuild.speedMinBytesPerSecond")),
                                    Long.parseLong(p.getProperty("rebuild.speedMaxBytesPerSecond", "0"))));
        } catch (RuntimeException e) {
            if (e instanceof UnitException unitException) {
                throw unitException;
            }
            throw new UnitException(UnitError.INVALID_LAYOUT, "unit.properties in " + directory
                    + " is incomplete or malformed: " + e.getMessage());
        }
    }

    /**
     * The simulation seed of a saved unit: {@code simulationSeed}; a unit saved before identities
     * were random has {@code seed} (its identity derives from it, so it is a simulation too).
     */
    private static OptionalLong simulationSeed(Properties p) {
        String seed = p.getProperty("simulationSeed", p.getProperty("seed"));
        return seed == null ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(seed));
    }

    /** Builder with the embedded defaults: RAID-5 of 4 x 64 MiB off-heap disks, 64 KiB chunks, no simulation. */
    public static final class Builder {
        private Path directory;
        private MediaKind media = MediaKind.MEMORY;
        private RaidLevel level = RaidLevel.RAID5;
        private int diskCount = 4;
        private long diskBytes = 64L << 20;
        private int chunkBytes = 64 << 10;
        private int blockSize = 4096;
        private long firmwareBackupBytes = 4L << 20;
        private long snapshotStoreBytes = -1;
        private RebuildSpeed rebuildSpeed = RebuildSpeed.UNLIMITED;
        private FlashGeometry flash = FlashGeometry.defaults();
        private OptionalLong simulationSeed = OptionalLong.empty();
        private Duration inspectionPeriod = Duration.ZERO;

        /** Images in {@code directory}, memory-mapped (see {@link #media}). */
        public Builder directory(Path directory) {
            this.directory = directory;
            if (directory != null && media == MediaKind.MEMORY) {
                media = MediaKind.MAPPED;
            }
            return this;
        }

        public Builder media(MediaKind media) {
            this.media = media;
            return this;
        }

        public Builder level(RaidLevel level) {
            this.level = level;
            return this;
        }

        public Builder disks(int count, long bytesEach) {
            this.diskCount = count;
            this.diskBytes = bytesEach;
            return this;
        }

        public Builder chunkBytes(int chunkBytes) {
            this.chunkBytes = chunkBytes;
            return this;
        }

        public Builder blockSize(int blockSize) {
            this.blockSize = blockSize;
            return this;
        }

        public Builder firmwareBackupBytes(long bytes) {
            this.firmwareBackupBytes = bytes;
            return this;
        }

        /** Snapshot store size; default a quarter of the array. */
        public Builder snapshotStoreBytes(long bytes) {
            this.snapshotStoreBytes = bytes;
            return this;
        }

        public Builder flash(FlashGeometry flash) {
            this.flash = flash;
            return this;
        }

        /**
         * Simulation mode: the unit's identity (array UUID, GPT GUIDs, the default firmware's
         * signing key) and its fault injection derive from {@code seed}, so a run replays exactly.
         * Never for a unit whose identity or keys matter: see the class description.
         */
        public Builder seed(long seed) {
            this.simulationSeed = OptionalLong.of(seed);
            return this;
        }

        /** md's speed limits for resync, rebuild and scrub (default {@link RebuildSpeed#UNLIMITED}). */
        public Builder rebuildSpeed(RebuildSpeed speed) {
            this.rebuildSpeed = speed;
            return this;
        }

        /** Background firmware inspection every {@code period}; {@link Duration#ZERO} (default) = off. */
        public Builder inspectionPeriod(Duration period) {
            this.inspectionPeriod = period;
            return this;
        }

        public UnitConfig build() {
            long store = snapshotStoreBytes >= 0 ? snapshotStoreBytes
                    : Math.max(4L << 20, (level == RaidLevel.RAID1 ? diskBytes
                    : level == RaidLevel.RAID5 ? (diskCount - 1) * diskBytes : diskCount * diskBytes) / 4 >> 20 << 20);
            return new UnitConfig(directory, media, level, diskCount, diskBytes, chunkBytes, blockSize,
                    firmwareBackupBytes, store, flash, simulationSeed, inspectionPeriod, rebuildSpeed);
        }
    }
}
