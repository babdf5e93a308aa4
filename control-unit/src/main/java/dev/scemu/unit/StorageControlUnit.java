package dev.scemu.unit;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.IoMeter;
import dev.scemu.core.Media;
import dev.scemu.core.MediaKind;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import dev.scemu.core.SliceDevice;
import dev.scemu.flash.BackupRegion;
import dev.scemu.flash.FirmwareManager;
import dev.scemu.flash.FirmwareStore;
import dev.scemu.flash.FlashDevice;
import dev.scemu.flash.InspectionReport;
import dev.scemu.flash.PeriodicInspector;
import dev.scemu.flash.TrustedKeys;
import dev.scemu.flash.UpdateJournal;
import dev.scemu.raid.RaidArray;
import dev.scemu.raid.RaidConfig;
import dev.scemu.raid.RebuildListener;
import dev.scemu.raid.RebuildProgress;
import dev.scemu.snapshot.SnapshotConfig;
import dev.scemu.snapshot.SnapshotVolume;
import dev.scemu.unit.internal.GatedDevice;
import dev.scemu.unit.internal.TrialBootCheck;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Properties;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The storage control unit a vendor embeds: member disks, the NVRAM flash with the firmware, the
 * RAID array, its GPT partitions ({@code firmware-backup}, {@code snapshot-store}, {@code data}),
 * the firmware manager and the snapshot volume, and the host's {@link BlockDevice}.
 *
 * <pre>
 * host() -- GatedDevice (firmware switch pauses here)
 *             `- SnapshotVolume  data = partition "data", store = partition "snapshot-store"
 *                  `- GPT partitions of the RaidArray
 *                       `- members: FaultInjectingDevice per disk (one PowerDomain, shared with the flash)
 * firmware(): FirmwareManager  flash = FlashDevice (NVRAM),
 *             partition "firmware-backup" = update journal (first 16 blocks) + backup/staging slots
 * </pre>
 *
 * <p>Boot ({@link #create}, {@link #open}, {@link #crashAndReboot}): assemble the array from the
 * member superblocks, read the GPT, run the firmware boot sequence (inspect the flash image; if
 * corrupt, recover from the backup partition; else make sure the backup holds a verified copy),
 * open the snapshot volume (which redoes its journal). Every disk and the flash sit in one
 * {@link PowerDomain}, so a simulated power cut hits them together.
 *
 * <p>Firmware in operation: {@link #inspector()} inspects flash and backup and repairs them while host
 * I/O continues — every {@link UnitConfig#inspectionPeriod()} on a daemon thread of the unit when that
 * is set, or when ticked (a simulation drives it on its own clock). An update's trial boot runs the
 * unit's {@link TrialBootCheck} (capabilities in use, GPT reads back, volume answers); a failure
 * reverts to the old image.
 *
 * <p>Ordering: close stops the inspection schedule, flushes and checkpoints the snapshot volume, then stops the array (marks the
 * superblocks clean), then closes the media. {@link #crashAndReboot} does none of that: it cuts
 * power, drops the running stack and boots a new one from what survived.
 */
public final class StorageControlUnit implements AutoCloseable {

    /** Blocks of the firmware-backup partition used by the update journal. */
    static final int JOURNAL_BLOCKS = 16;
    private static final String PROPERTIES = "unit.properties";
    private static final String TRUSTED_KEY = "trusted-key.pub";

    private final UnitConfig config;
    private final TrustedKeys trustedKeys;
    private final PowerDomain power;
    private final List<FaultInjectingDevice> disks = new ArrayList<>();
    private final FlashDevice flash;
    private int replacements;

    private RaidArray array;
    private GuidPartitionTable partitions;
    private FirmwareManager firmware;
    private InspectionReport bootReport;
    private SnapshotVolume volume;
    private GatedDevice host;
    private PeriodicInspector inspector;
    private ScheduledExecutorService inspectionThread;
    private boolean closed;

    private StorageControlUnit(UnitConfig config, TrustedKeys trustedKeys, boolean create, PowerDomain power) {
        this.config = config;
        this.trustedKeys = trustedKeys;
        this.power = power;
        BlockGeometry diskGeometry = BlockGeometry.ofBytes(config.blockSize(), config.diskBytes());
        try {
            for (int i = 0; i < config.diskCount(); i++) {
                disks.add(power.attach(openMedium("disk" + i, diskGeometry, create)));
            }
            FlashDevice.Builder flashBuilder = FlashDevice.builder().name("nvram").geometry(config.flash())
                    .seed(config.seed()).powerDomain(power);
            if (config.directory() != null) {
                flashBuilder.mappedFile(config.directory().resolve("nvram.img"));
            }
            this.flash = flashBuilder.build();
        } catch (RuntimeException e) {
            disks.forEach(BlockDevice::close);
            throw e;
        }
    }

    private BlockDevice openMedium(String name, BlockGeometry geometry, boolean create) {
        if (config.directory() == null) {
            return Media.memory(name, geometry);
        }
        Path path = config.directory().resolve(name + ".img");
        if (!create && !Files.exists(path)) {
            throw new UnitException(UnitError.INVALID_LAYOUT, "member image " + path + " is missing");
        }
        return Media.open(config.media(), name, path, geometry);
    }

    /**
     * Provisions a new unit: blank disks, a new array, the GPT, {@code firmwareImage} programmed
     * into the flash (verified against {@code keys}), the first boot (which creates the firmware
     * backup), and an empty snapshot volume.
     */
    public static StorageControlUnit create(UnitConfig config, byte[] firmwareImage, PublicKey trustedKey) {
        return create(config, firmwareImage, trustedKey, new PowerDomain(config.seed()));
    }

    /**
     * Like {@link #create(UnitConfig, byte[], PublicKey)}, with every disk and the flash attached to
     * {@code power} (a crash-point explorer's domain, or one shared with other simulated devices).
     */
    public static StorageControlUnit create(UnitConfig config, byte[] firmwareImage, PublicKey trustedKey,
                                            PowerDomain power) {
        if (config.directory() != null) {
            try {
                Files.createDirectories(config.directory());
                if (Files.exists(config.directory().resolve(PROPERTIES))) {
                    throw new UnitException(UnitError.INVALID_LAYOUT, "a unit already exists in " + config.directory());
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        StorageControlUnit unit = new StorageControlUnit(config, TrustedKeys.of(trustedKey), true, power);
        try {
            unit.provision(firmwareImage);
            if (config.directory() != null) {
                unit.saveConfig(trustedKey);
            }
            return unit;
        } catch (RuntimeException e) {
            unit.close();
            throw e;
        }
    }

    /** A unit with the embedded default firmware (see {@link DefaultFirmware}). */
    public static StorageControlUnit create(UnitConfig config) {
        return create(config, new PowerDomain(config.seed()));
    }

    /** A unit with the embedded default firmware, powered by {@code power}. */
    public static StorageControlUnit create(UnitConfig config, PowerDomain power) {
        return create(config, DefaultFirmware.image("1.0.0", config.seed()),
                DefaultFirmware.signingKey(config.seed()).getPublic(), power);
    }

    /** Reopens the unit kept in {@code directory}: re-assembles and boots it. */
    public static StorageControlUnit open(Path directory) {
        Properties properties = new Properties();
        PublicKey key;
        try (InputStream in = Files.newInputStream(directory.resolve(PROPERTIES))) {
            properties.load(in);
            byte[] encoded = Base64.getDecoder().decode(Files.readString(directory.resolve(TRUSTED_KEY)).trim());
            key = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(encoded));
        } catch (IOException e) {
            throw new UnitException(UnitError.INVALID_LAYOUT, "no scemu unit in " + directory + ": " + e.getMessage());
        } catch (java.security.GeneralSecurityException | IllegalArgumentException e) {
            throw new UnitException(UnitError.INVALID_LAYOUT, "trusted key in " + directory + " is unreadable: " + e.getMessage());
        }
        UnitConfig config = UnitConfig.fromProperties(directory, properties);
        StorageControlUnit unit = new StorageControlUnit(config, TrustedKeys.of(key), false,
                new PowerDomain(config.seed()));
        try {
            unit.boot();
            return unit;
        } catch (RuntimeException e) {
            unit.close();
            throw e;
        }
    }

    private void saveConfig(PublicKey key) {
        try (OutputStream out = Files.newOutputStream(config.directory().resolve(PROPERTIES))) {
            config.toProperties().store(out, "scemu control unit");
            Files.writeString(config.directory().resolve(TRUSTED_KEY),
                    Base64.getEncoder().encodeToString(key.getEncoded()) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void provision(byte[] firmwareImage) {
        Random random = new Random(config.seed());
        RaidConfig raidConfig = RaidConfig.builder(config.level()).name("scemu:0").chunkBytes(config.chunkBytes())
                .setUuid(new UUID(random.nextLong(), random.nextLong())).assumeClean(true).build();
        array = RaidArray.create(raidConfig, memberViews());
        partitions = GuidPartitionTable.layout(new UUID(random.nextLong(), random.nextLong()),
                array.geometry().capacityBytes(), List.of(
                        new GuidPartitionTable.PartitionSpec("firmware-backup", GuidPartitionTable.TYPE_FIRMWARE_BACKUP,
                                config.firmwareBackupBytes()),
                        new GuidPartitionTable.PartitionSpec("snapshot-store", GuidPartitionTable.TYPE_SNAPSHOT_STORE,
                                config.snapshotStoreBytes()),
                        new GuidPartitionTable.PartitionSpec("data", GuidPartitionTable.TYPE_DATA, 0)),
                () -> new UUID(random.nextLong(), random.nextLong()));
        partitions.write(array);
        FirmwareStore.onFlash(flash).write(firmwareImage);
        startFirmware();
        volume = SnapshotVolume.format(partition("data"), partition("snapshot-store"), SnapshotConfig.defaults());
        host = new GatedDevice("host", volume, firmware.hostIoGate());
        array.flush();
    }

    private void boot() {
        boot(false);
    }

    /** With {@code recoveryInForeground}, a rebuild resumed by the assembly is joined before the boot goes on. */
    private void boot(boolean recoveryInForeground) {
        disks.forEach(disk -> disk.meter().reset()); // every meter counts since the last boot
        array = RaidArray.assemble(memberViews());
        if (recoveryInForeground) {
            array.backgroundWork().handle((done, failed) -> null).join(); // a failed rebuild shows in the member states
        }
        partitions = GuidPartitionTable.read(array);
        startFirmware();
        volume = SnapshotVolume.open(partition("data"), partition("snapshot-store"));
        host = new GatedDevice("host", volume, firmware.hostIoGate());
    }

    private void startFirmware() {
        SliceDevice backupPartition = partition("firmware-backup");
        Extent all = backupPartition.geometry().all();
        firmware = FirmwareManager.builder()
                .store(FirmwareStore.onFlash(flash))
                .backupRegion(BackupRegion.on(backupPartition, Extent.of(JOURNAL_BLOCKS, all.blockCount() - JOURNAL_BLOCKS)))
                .journal(UpdateJournal.openOrFormat(backupPartition, Extent.of(0, JOURNAL_BLOCKS)))
                .trustedKeys(trustedKeys)
                .selfCheck(new TrialBootCheck(() -> new TrialBootCheck.Stack(array, partitions, volume)))
                .build();
        bootReport = firmware.boot();
        startInspection();
    }

    /** A new inspector for the booted firmware, on the schedule of the config (if any). */
    private void startInspection() {
        if (inspector != null) {
            inspector.close();
        }
        inspector = firmware.periodicInspector(config.inspectionPeriod());
        if (!config.inspectionPeriod().isZero()) {
            if (inspectionThread == null) {
                inspectionThread = Executors.newSingleThreadScheduledExecutor(runnable -> {
                    Thread thread = new Thread(runnable, "scemu-firmware-inspection");
                    thread.setDaemon(true);
                    return thread;
                });
            }
            inspector.start(inspectionThread);
        }
    }

    private void stopInspection() {
        if (inspector != null) {
            inspector.close();
        }
        if (inspectionThread != null) {
            inspectionThread.shutdownNow();
            try {
                inspectionThread.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            inspectionThread = null;
        }
    }

    /** Views of the disks that the array may close without closing the media (the unit owns them). */
    private List<BlockDevice> memberViews() {
        List<BlockDevice> views = new ArrayList<>();
        for (FaultInjectingDevice disk : disks.subList(0, config.diskCount())) {
            views.add(SliceDevice.of(disk.name(), disk, disk.geometry().all()));
        }
        return views;
    }

    private SliceDevice partition(String name) {
        return partitions.open(name, array);
    }

    /** The host's block device: the snapshot volume behind the firmware's I/O gate. */
    public BlockDevice host() {
        return host;
    }

    public SnapshotVolume snapshots() {
        return volume;
    }

    public RaidArray array() {
        return array;
    }

    public FirmwareManager firmware() {
        return firmware;
    }

    /**
     * The firmware's periodic inspector: scheduled every {@link UnitConfig#inspectionPeriod()} when
     * that is positive; {@link PeriodicInspector#tick()} runs one inspection now either way.
     */
    public PeriodicInspector inspector() {
        return inspector;
    }

    /** What the last boot found and did (recovery, backup creation). */
    public InspectionReport bootReport() {
        return bootReport;
    }

    public FlashDevice flash() {
        return flash;
    }

    public GuidPartitionTable partitions() {
        return partitions;
    }

    public PowerDomain power() {
        return power;
    }

    public UnitConfig config() {
        return config;
    }

    /** Disk {@code index} with its fault handles (fail, latent errors, bit rot). */
    public FaultInjectingDevice disk(int index) {
        return disks.get(index);
    }

    /**
     * Replaces failed member {@code role} with a new blank disk and rebuilds onto it in the
     * background; the future completes when the member is in sync.
     */
    public CompletableFuture<RebuildProgress> replaceDisk(int role, RebuildListener listener) {
        BlockGeometry geometry = disks.get(role).geometry();
        String name = "disk" + role + "-r" + (++replacements);
        FaultInjectingDevice fresh = power.attach(openMedium(name, geometry, true));
        FaultInjectingDevice old = disks.set(role, fresh);
        CompletableFuture<RebuildProgress> rebuild = array.replaceMember(role,
                SliceDevice.of(name, fresh, geometry.all()), listener);
        old.close();
        return rebuild;
    }

    /**
     * Simulates a power failure and restart: power is cut ({@code mode} decides what unflushed
     * data survives), the running stack is dropped without any clean shutdown, power returns and
     * the unit boots again from what the media hold. A rebuild the assembly resumes runs to its end
     * before the rest of the boot (not beside it, as after {@link #open}), so that the simulation's
     * restarts replay exactly: no background write races the boot's own.
     */
    public InspectionReport crashAndReboot(PowerCutMode mode) {
        stopInspection(); // no inspection of the old stack may overlap the new boot
        power.cut(mode);
        power.restore();
        flash.restorePower(); // a cut the flash itself raised (armed at a flash operation) switched it off too
        boot(true);
        return bootReport;
    }

    /** The unit's state and meters (every meter counts since the last boot). */
    public UnitStatus status() {
        List<dev.scemu.raid.MemberState> members = new ArrayList<>();
        for (int i = 0; i < array.raidDisks(); i++) {
            members.add(array.memberState(i));
        }
        List<IoMeter.Snapshot> diskMeters = disks.stream().map(d -> d.meter().snapshot()).toList();
        return new UnitStatus(array.level().name(), array.chunkBytes(), array.isDegraded(), members,
                partitions.partitions(), firmware.running().version().toString(), firmware.running().sha256Hex(),
                volume.listSnapshots(), volume.meter().snapshot(), array.meter().snapshot(), diskMeters);
    }

    /** Checkpoints the volume, stops the array cleanly and closes every medium. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            stopInspection();
            if (volume != null && power.isPowered()) {
                volume.close();
            }
            if (array != null && power.isPowered()) {
                array.close();
            }
        } finally {
            disks.forEach(BlockDevice::close);
            if (flash != null) {
                flash.close();
            }
        }
        adoptReplacementImages();
    }

    /**
     * A replaced disk was rebuilt onto {@code disk<i>-r<k>.img}; {@link #open} looks for
     * {@code disk<i>.img}, so after a clean close the rebuilt image takes that name (atomic rename
     * over the old, failed image). If the process dies before, the next open finds the old image,
     * which md's event counter marks stale: the array starts degraded, no data is lost.
     */
    private void adoptReplacementImages() {
        if (config.directory() == null || !power.isPowered()) {
            return;
        }
        for (int i = 0; i < config.diskCount(); i++) {
            String name = disks.get(i).name();
            Path rebuilt = config.directory().resolve(name + ".img");
            Path slot = config.directory().resolve("disk" + i + ".img");
            if (!rebuilt.equals(slot) && Files.exists(rebuilt)) {
                try {
                    Files.move(rebuilt, slot, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                            java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    throw new UncheckedIOException("could not move " + rebuilt + " to " + slot, e);
                }
            }
        }
    }
}
