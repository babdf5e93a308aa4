package dev.scemu.unit;

import dev.scemu.core.BlockDevice;
import dev.scemu.core.BlockGeometry;
import dev.scemu.core.Extent;
import dev.scemu.core.FaultInjectingDevice;
import dev.scemu.core.IoMeter;
import dev.scemu.core.Media;
import dev.scemu.core.MediaKind;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PhaseTrace;
import dev.scemu.core.PowerDomain;
import dev.scemu.core.SliceDevice;
import dev.scemu.flash.BackupRegion;
import dev.scemu.flash.FirmwareImage;
import dev.scemu.flash.FirmwareManager;
import dev.scemu.flash.FirmwareStore;
import dev.scemu.flash.FlashDevice;
import dev.scemu.flash.FlashException;
import dev.scemu.flash.InspectionReport;
import dev.scemu.flash.KeyPem;
import dev.scemu.flash.PeriodicInspector;
import dev.scemu.flash.TrustedKeys;
import dev.scemu.flash.UpdateJournal;
import dev.scemu.raid.AssembleOptions;
import dev.scemu.raid.RaidArray;
import dev.scemu.raid.RaidConfig;
import dev.scemu.raid.RaidError;
import dev.scemu.raid.RaidException;
import dev.scemu.raid.RebuildListener;
import dev.scemu.raid.RebuildProgress;
import dev.scemu.raid.ScrubListener;
import dev.scemu.raid.ScrubMismatch;
import dev.scemu.raid.ScrubResult;
import dev.scemu.snapshot.SnapshotConfig;
import dev.scemu.snapshot.SnapshotError;
import dev.scemu.snapshot.SnapshotException;
import dev.scemu.snapshot.SnapshotVolume;
import dev.scemu.unit.internal.GatedDevice;
import dev.scemu.unit.internal.MemberImageLocks;
import dev.scemu.unit.internal.ReadOnlyOverlayDevice;
import dev.scemu.unit.internal.TrialBootCheck;
import dev.scemu.unit.internal.UnitLock;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.UUID;
import java.util.function.Supplier;
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
 * <p>Ownership: a unit with a directory is owned by exactly one open: {@link #create} and {@link #open}
 * take the exclusive lock of the directory ({@code unit.lock}, an OS file lock that dies with its
 * process, see {@link UnitLock}) before they touch a medium, and {@link #close} releases it last. A
 * second opener, in another process or in this JVM, gets {@link UnitError#UNIT_BUSY} naming the owner
 * ("pid 4711 (scemu serve)").
 *
 * <p>Identity and trust: {@link #create} gives the unit its own {@link UnitIdentity} (random unless
 * the config asks for a simulation) and its {@link TrustStore} (the vendor's key, else a key pair
 * generated at create); a directory unit is built in a {@link StagingDirectory} and appears only
 * complete. {@link #trustKey} and {@link #distrustKey} rotate the trusted keys.
 *
 * <p>Ordering: close stops the inspection schedule, flushes and checkpoints the snapshot volume, then stops the array (marks the
 * superblocks clean), then closes the media, then releases the directory lock. {@link #crashAndReboot} does none of that: it cuts
 * power, drops the running stack and boots a new one from what survived.
 *
 * <p>A read-write open writes nothing until the first change (md's read-auto, {@link AssembleOptions#readAuto}): a
 * cleanly closed unit boots without a write (the array's superblocks and bitmap stay as found, the snapshot journal has
 * nothing to redo, the firmware and its backup verify), and reads keep it so. The first change, whatever it is (a host
 * write or trim, a snapshot created, deleted or rolled back, a firmware update, a disk replaced or failed, a scrub repair,
 * a read repair), reaches the array as a write or a member change, and before its first byte reaches a member the array
 * goes active as md's {@code md_write_start} makes it: bitmap header (events + 1), then every superblock dirty
 * (resync_offset 0), flushed; then the bitmap bits of the write (FUA), then the data. Close then checkpoints the volume
 * only if its state changed since the newest checkpoint, and stops the array (clean superblocks, bitmap cleared) only if
 * it left read-auto: a unit opened and closed without a change is byte-identical. An unclean stop's array resync waits
 * for the first change too (md's {@code resync=PENDING}), so an open that fails above the array (a damaged snapshot store,
 * say) or a unit only read leaves the members as the crash left them; the other recovery after an unclean stop (parity
 * journal or snapshot journal replay, interrupted rebuild, flash recovery) is a change and writes at open, as before, and
 * the first such write starts the resync.
 */
public final class StorageControlUnit implements AutoCloseable {

    /** Blocks of the firmware-backup partition used by the update journal. */
    static final int JOURNAL_BLOCKS = 16;
    private static final String PROPERTIES = "unit.properties";
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(StorageControlUnit.class);

    private final UnitConfig config;
    /** md's speed limits applied to every array this unit creates or assembles; starts as the config's. */
    private volatile RebuildSpeed rebuildSpeed;
    /** See {@link #setBitmapClock}: still in a simulation until it passes its clock, else the system's. */
    private volatile java.util.function.LongSupplier bitmapClock;
    private final TrustStore trust;
    /** The test key generated at create, while a memory unit lives (a directory unit keeps it in a file). */
    private final KeyPair createdTestKey;
    private final PowerDomain power;
    private final List<FaultInjectingDevice> disks = new ArrayList<>();
    private final FlashDevice flash;
    private final boolean readOnly;
    private int replacements;

    private RaidArray array;
    private GuidPartitionTable partitions;
    private FirmwareManager firmware;
    private InspectionReport bootReport;
    private SnapshotVolume volume;
    private GatedDevice host;
    private PeriodicInspector inspector;
    private ScheduledExecutorService inspectionThread;
    private UnitLock lock;
    private UUID recordedSetUuid; // the md set UUID unit.properties records (null: a unit from before identities)
    private ScrubRecord lastScrub; // units without a directory keep it here
    private boolean closed;
    /** Locks on the member image files while the unit is open (none for a unit without a directory). */
    private final MemberImageLocks imageLocks;

    private StorageControlUnit(UnitConfig config, TrustStore trust, KeyPair createdTestKey, boolean create,
                               PowerDomain power) {
        this(config, trust, createdTestKey, create, power, false);
    }

    private StorageControlUnit(UnitConfig config, TrustStore trust, KeyPair createdTestKey, boolean create,
                               PowerDomain power, boolean readOnly) {
        this.config = config;
        this.trust = trust;
        this.createdTestKey = createdTestKey;
        this.power = power;
        this.bitmapClock = config.isSimulation() ? () -> 0L : System::nanoTime;
        this.readOnly = readOnly;
        this.imageLocks = new MemberImageLocks(!readOnly);
        BlockGeometry diskGeometry = BlockGeometry.ofBytes(config.blockSize(), config.diskBytes());
        try {
            for (int i = 0; i < config.diskCount(); i++) {
                FaultInjectingDevice disk = power.attach(openDisk(i, diskGeometry, create));
                if (unopenedDisks.containsKey(i)) {
                    disk.failDevice(); // a stand-in: the array assembles without it
                }
                disks.add(disk);
            }
            FlashDevice.Builder flashBuilder = FlashDevice.builder().name("nvram").geometry(config.flash())
                    .seed(power.seed()).powerDomain(power);
            Path nvram = config.directory() != null ? config.directory().resolve("nvram.img") : null;
            BlockGeometry nvramGeometry = FlashDevice.backingGeometry(config.flash());
            String nvramFault = nvram != null ? nvramFault(nvram, nvramGeometry) : null;
            if (readOnly && nvram != null && nvramFault == null) {
                flashBuilder.backing(ReadOnlyOverlayDevice.open("nvram", nvram, nvramGeometry), true);
            } else if (readOnly && nvram != null) {
                // a lost or wrong-sized NVRAM image is a blank (or dead) flash chip: a read-only look boots
                // from blank flash in memory (the inspection finds no image and restores the backup's, in
                // memory only), as the next read-write open does into a new nvram.img
                LOG.warn("unit {}: {} {}; this read-only open uses a blank flash, the next read-write open makes a"
                        + " new one and restores the firmware from the backup", config.directory(), nvram.getFileName(),
                        nvramFault);
            } else if (config.directory() != null) {
                if (nvramFault != null && Files.exists(nvram)) {
                    // a wrong-sized image (or a directory in its place) cannot be the flash chip's contents: kept aside
                    // for inspection, and
                    // the unit boots from a blank flash, which the inspection restores from the backup
                    Path aside = nvram.resolveSibling("nvram.img." + (Files.isRegularFile(nvram) ? "wrong-size-"
                            : "not-a-file-") + System.currentTimeMillis());
                    try {
                        Files.move(nvram, aside);
                    } catch (java.io.IOException e) {
                        throw new UnitException(UnitError.INVALID_LAYOUT, nvram + " " + nvramFault
                                + " and could not be moved aside: " + e.getMessage(), e);
                    }
                    LOG.warn("unit {}: {} {}: moved to {}; the unit boots from a blank flash and restores the firmware"
                            + " from the backup", config.directory(), nvram.getFileName(), nvramFault, aside.getFileName());
                }
                flashBuilder.mappedFile(config.directory().resolve("nvram.img"));
            }
            this.flash = flashBuilder.build();
        } catch (RuntimeException e) {
            disks.forEach(BlockDevice::close);
            imageLocks.close();
            throw e;
        }
    }

    /**
     * Why {@code nvram} cannot be the flash chip's image (missing, not a regular file, or not exactly
     * the flash's backing size: truncated or extended), or null if it can (or its size cannot be read: opening it says why).
     */
    private static String nvramFault(Path nvram, BlockGeometry backing) {
        try {
            if (Files.exists(nvram) && !Files.isRegularFile(nvram)) {
                return "is not a regular file";
            }
            long size = Files.size(nvram);
            return size == backing.capacityBytes() ? null
                    : "has " + size + " bytes, not the flash's " + backing.capacityBytes();
        } catch (java.nio.file.NoSuchFileException e) {
            return "is missing";
        } catch (java.io.IOException e) {
            return null; // opening it reports why
        }
    }

    // ---- degraded start: a member image that is absent or cannot be opened (see docs/raid-on-disk.md)

    /**
     * Disk index -> why its image could not be opened at boot. Its slot holds a failed in-memory
     * stand-in, so the array starts degraded without it (md's {@code --run}) and
     * {@link #replaceDisk} writes a new image file.
     */
    private final java.util.Map<Integer, String> unopenedDisks = new java.util.TreeMap<>();

    private BlockDevice openDisk(int index, BlockGeometry geometry, boolean create) {
        String name = "disk" + index;
        if (create || config.directory() == null) {
            return openMedium(name, geometry, create);
        }
        Path path = config.directory().resolve(name + ".img");
        if (!Files.exists(path)) {
            unopenedDisks.put(index, "missing (image file " + path.getFileName() + " not found)");
        } else {
            try {
                return openMedium(name, geometry, false);
            } catch (RuntimeException e) {
                if (e instanceof UnitException busy && busy.code() == UnitError.UNIT_BUSY) {
                    throw e; // a member another process holds is not missing: the unit must not start without it
                }
                unopenedDisks.put(index, "unreadable (image file " + path.getFileName() + "): " + e.getMessage());
            }
        }
        return Media.memory(name + " (image " + (Files.exists(path) ? "unreadable" : "missing") + ")", geometry);
    }

    /** Why member {@code role} is failed or missing, for {@link #status()}; null when it is in the array. */
    private String memberFault(int role) {
        String fault = array.memberFault(role);
        return fault != null && unopenedDisks.containsKey(role) ? unopenedDisks.get(role) : fault;
    }

    // ---- end of degraded start

    private BlockDevice openMedium(String name, BlockGeometry geometry, boolean create) {
        if (config.directory() == null) {
            return Media.memory(name, geometry);
        }
        Path path = config.directory().resolve(name + ".img");
        if (readOnly) {
            if (create) {
                throw new UnitException(UnitError.READ_ONLY, "unit in " + config.directory()
                        + " is open read-only: cannot create " + path);
            }
            imageLocks.lock(path); // shared: QEMU's tools may read beside us, none may write
            return ReadOnlyOverlayDevice.open(name, path, geometry);
        }
        if (!create && !Files.exists(path)) {
            throw new UnitException(UnitError.INVALID_LAYOUT, "member image " + path + " is missing");
        }
        boolean existed = Files.exists(path);
        if (existed) {
            imageLocks.lock(path); // before it is opened: refused while a QEMU tool or md serve has it
        }
        BlockDevice device = Media.open(config.media(), name, path, geometry);
        if (!existed) {
            try {
                imageLocks.lock(path); // a created image: locked once it exists
            } catch (RuntimeException e) {
                device.close();
                throw e;
            }
        }
        return device;
    }

    /**
     * Provisions a new unit: blank disks, a new array, the GPT, {@code firmwareImage} programmed
     * into the flash, the first boot (which creates the firmware backup), and an empty snapshot
     * volume. {@code vendorKey} becomes the unit's trust root ({@link TrustStore.Origin#VENDOR}):
     * the image must be signed by it, else nothing is created.
     *
     * <p>A unit with a directory is built in a staging directory and moved into place at the end
     * (see {@link StagingDirectory}): a create that fails leaves nothing behind. The directory must
     * not exist, or be empty ({@link UnitError#NOT_EMPTY} otherwise).
     */
    public static StorageControlUnit create(UnitConfig config, byte[] firmwareImage, PublicKey vendorKey) {
        return create(config, firmwareImage, vendorKey, powerFor(config));
    }

    /**
     * Like {@link #create(UnitConfig, byte[], PublicKey)}, with every disk and the flash attached to
     * {@code power} (a crash-point explorer's domain, or one shared with other simulated devices).
     */
    public static StorageControlUnit create(UnitConfig config, byte[] firmwareImage, PublicKey vendorKey,
                                            PowerDomain power) {
        return build(config, firmwareImage, new TrustStore.Entry(vendorKey, TrustStore.Origin.VENDOR), null, power);
    }

    /**
     * A unit with the embedded default firmware (see {@link DefaultFirmware}), signed by a key pair
     * generated now from {@link SecureRandom}: the unit trusts its public key
     * ({@link TrustStore.Origin#TEST_KEY}), and its private key stays with the unit for signing test
     * images ({@link #testSigningKey()}; in a directory, {@value TrustStore#TEST_KEY_FILE}, mode
     * 0600). In simulation mode the key derives from the seed instead ({@link DefaultFirmware#signingKey}).
     */
    public static StorageControlUnit create(UnitConfig config) {
        return create(config, powerFor(config));
    }

    /** A unit with the embedded default firmware, powered by {@code power}. */
    public static StorageControlUnit create(UnitConfig config, PowerDomain power) {
        if (config.isSimulation()) {
            long seed = config.simulationSeed().getAsLong();
            return build(config, DefaultFirmware.image("1.0.0", seed),
                    new TrustStore.Entry(DefaultFirmware.signingKey(seed).getPublic(), TrustStore.Origin.SIMULATION),
                    null, power);
        }
        KeyPair testKey = TrustedKeys.generateEd25519(RANDOM);
        return build(config, DefaultFirmware.image("1.0.0", testKey),
                new TrustStore.Entry(testKey.getPublic(), TrustStore.Origin.TEST_KEY), testKey, power);
    }

    /** A power domain for {@code config}: seeded by the simulation seed, else at random. */
    private static PowerDomain powerFor(UnitConfig config) {
        return new PowerDomain(config.simulationSeed().orElseGet(RANDOM::nextLong));
    }

    private static StorageControlUnit build(UnitConfig config, byte[] firmwareImage, TrustStore.Entry root,
                                            KeyPair testKey, PowerDomain power) {
        try {
            FirmwareImage.parse(firmwareImage, TrustedKeys.of(root.key()));
        } catch (FlashException e) {
            throw new UnitException(UnitError.INVALID_LAYOUT, "the firmware image does not verify against the "
                    + root.origin().description() + " " + root.fingerprint() + ": " + e.getMessage());
        }
        if (config.directory() == null) {
            StorageControlUnit unit = new StorageControlUnit(config, TrustStore.create(null, root), testKey, true, power);
            try {
                unit.provision(firmwareImage);
                return unit;
            } catch (RuntimeException e) {
                unit.close();
                throw e;
            }
        }
        InspectionReport createReport;
        if (UnitLock.isHeld(config.directory())) {
            UnitLock.acquire(config.directory()).close(); // throws UNIT_BUSY naming the owner (a race may let it pass: then NOT_EMPTY)
        }
        try (StagingDirectory staging = StagingDirectory.prepare(config.directory())) {
            Path dir = staging.path();
            TrustStore trust = TrustStore.create(dir, root);
            if (testKey != null) {
                UnitFiles.writeAtomically(dir.resolve(TrustStore.TEST_KEY_FILE),
                        KeyPem.encode(testKey.getPrivate()).getBytes(StandardCharsets.US_ASCII), true);
            }
            StorageControlUnit unit = new StorageControlUnit(config.withDirectory(dir), trust, null, true, power);
            try {
                unit.provision(firmwareImage);
                unit.saveConfig();
                createReport = unit.bootReport;
            } catch (RuntimeException e) {
                try {
                    unit.close();
                } catch (RuntimeException closing) {
                    e.addSuppressed(closing);
                }
                throw e; // the staging directory is removed on the way out
            }
            unit.close(); // clean: superblocks marked clean, volume checkpointed, media synced
            staging.commit();
        }
        StorageControlUnit unit = open(config.directory(), power, false);
        unit.bootReport = createReport; // what the first boot found and did; the reopen is an implementation detail
        return unit;
    }

    /** Reopens the unit kept in {@code directory}: re-assembles and boots it. */
    public static StorageControlUnit open(Path directory) {
        return open(directory, null, false);
    }

    /**
     * {@link #open(Path)} with every disk and the flash attached to {@code power}: a simulation's
     * domain, or {@link PowerDomain#writeThrough} for a process serving the unit's files (the CLI).
     */
    public static StorageControlUnit open(Path directory, PowerDomain power) {
        return open(directory, java.util.Objects.requireNonNull(power, "power"), false);
    }

    /** The ownership of a unit directory taken without opening the unit ({@link #lockDirectory}); {@code close} releases it. */
    public interface DirectoryLock extends AutoCloseable {
        @Override
        void close();
    }

    /** Whether {@code directory} holds a unit ({@code unit.properties}): its member images belong to it. */
    public static boolean isUnitDirectory(Path directory) {
        return Files.isRegularFile(directory.resolve(PROPERTIES));
    }

    /**
     * Takes the ownership lock of the unit in {@code directory} as {@link #open} does, without opening
     * the unit: for a process that uses the unit's member images directly ({@code scemu md serve
     * DIR/disk*.img}). While it is held, every open of the unit ({@code scemu serve} included) is
     * refused, and it is itself refused while another process or open owns the unit: two processes
     * assembling the same members would each write superblocks, bitmap and data the other does not
     * know of.
     *
     * @throws UnitException {@link UnitError#UNIT_BUSY} naming the owner
     */
    public static DirectoryLock lockDirectory(Path directory) {
        UnitLock lock = UnitLock.acquire(directory);
        return lock::close;
    }

    /**
     * Opens the unit kept in {@code directory} to look at it: every member image and the NVRAM are
     * opened read-only under an in-memory copy-on-write overlay ({@link ReadOnlyOverlayDevice}), so
     * assembly, the firmware boot (recovery, backup creation), journal replay and resync run in RAM
     * and report what they would do ({@link #bootReport()}, {@link #status()}), and no byte of any
     * file changes. Host writes and snapshot changes work but vanish at close. Takes the unit's lock
     * like {@link #open} (a writer must not change the files under the reader).
     */
    public static StorageControlUnit openReadOnly(Path directory) {
        return open(directory, null, true);
    }

    /** {@link #open(Path)} with {@code power} (or a domain of its own if null), read-only or not. */
    private static StorageControlUnit open(Path directory, PowerDomain power, boolean readOnly) {
        Properties properties = new Properties();
        try (InputStream in = Files.newInputStream(directory.resolve(PROPERTIES))) {
            properties.load(in);
        } catch (IOException e) {
            throw new UnitException(UnitError.INVALID_LAYOUT, "no scemu unit in " + directory + ": " + e.getMessage());
        }
        UnitConfig config = UnitConfig.fromProperties(directory, properties);
        UnitIdentity recorded = UnitIdentity.load(properties);
        UnitLock lock = UnitLock.acquire(directory);
        StorageControlUnit unit;
        try (PhaseTrace.Span span = PhaseTrace.begin("unit: lock, trust store, media" + (readOnly ? " (read-only)" : ""))) {
            unit = constructLocked(lock, () -> new StorageControlUnit(config, TrustStore.load(directory),
                    null, false, power != null ? power : powerFor(config), readOnly));
        }
        try {
            unit.recordedSetUuid = recorded == null ? null : recorded.arrayUuid();
            unit.boot();
            if (recorded != null) {
                recorded.check(unit.identity(), directory);
            }
            return unit;
        } catch (RuntimeException e) {
            unit.close();
            throw e;
        }
    }

    /** Constructs a unit that holds {@code lock} (released at its close), or releases the lock if that fails. */
    private static StorageControlUnit constructLocked(UnitLock lock, java.util.function.Supplier<StorageControlUnit> constructor) {
        try {
            StorageControlUnit unit = constructor.get();
            unit.lock = lock;
            return unit;
        } catch (RuntimeException e) {
            if (lock != null) {
                lock.close();
            }
            throw e;
        }
    }

    /** Writes {@code unit.properties}: the configuration and the identity. */
    private void saveConfig() {
        Properties properties = config.toProperties();
        identity().store(properties);
        UnitFiles.writeProperties(config.directory().resolve(PROPERTIES), properties, "scemu control unit");
    }

    private void provision(byte[] firmwareImage) {
        Supplier<UUID> ids = UnitIdentity.source(config.simulationSeed()); // random unless a simulation
        RaidConfig raidConfig = RaidConfig.builder(config.level()).name("scemu:0").chunkBytes(config.chunkBytes())
                .setUuid(ids.get()).assumeClean(true).build();
        array = RaidArray.create(raidConfig, memberViews());
        applyArraySettings();
        partitions = GuidPartitionTable.layout(ids.get(),
                array.geometry().capacityBytes(), List.of(
                        new GuidPartitionTable.PartitionSpec("firmware-backup", GuidPartitionTable.TYPE_FIRMWARE_BACKUP,
                                config.firmwareBackupBytes()),
                        new GuidPartitionTable.PartitionSpec("snapshot-store", GuidPartitionTable.TYPE_SNAPSHOT_STORE,
                                config.snapshotStoreBytes()),
                        new GuidPartitionTable.PartitionSpec("data", GuidPartitionTable.TYPE_DATA, 0)),
                ids);
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
        // a reboot assembles the array that ran (mdadm --uuid); an open the set unit.properties records,
        // so one foreign member of a two-way mirror is no tie; a unit without a record the set most members carry
        UUID setUuid = array != null ? array.setUuid() : recordedSetUuid;
        // read-auto (md's auto-read-only): a clean array is assembled without a write and stays
        // unwritten until the first change, and a dirty one's resync waits for that change too (see the
        // class doc's Ordering). Not after a simulated crash: there the resync runs during the assembly,
        // so that no background write races the boot's own and restarts replay exactly
        // the array has the members the unit records (an edited diskCount would otherwise start it degraded
        // and record the member not offered as faulty, or leave an extra one out): refused before any write
        AssembleOptions options = AssembleOptions.defaults().withReadAuto(!recoveryInForeground)
                .withExpectedRaidDisks(config.diskCount());
        // the first boot of a directory unit also offers the images of replacements a killed process never adopted
        List<FaultInjectingDevice> candidates = array == null ? openReplacementImages() : List.of();
        try (PhaseTrace.Span span = PhaseTrace.begin("unit: RAID assembly")) {
            List<BlockDevice> members = memberViews();
            candidates.forEach(c -> members.add(SliceDevice.of(c.name(), c, c.geometry().all())));
            array = RaidArray.assemble(members, setUuid == null ? options : options.withSetUuid(setUuid));
        } catch (RaidException e) {
            candidates.forEach(BlockDevice::close);
            if (e.code() == RaidError.INVALID_CONFIG && array == null) {
                throw new UnitException(UnitError.IDENTITY_MISMATCH, "the disk images in " + config.directory()
                        + " do not make the array unit.properties describes (" + config.diskCount() + " disks, "
                        + config.level() + "): " + e.getMessage(), e);
            }
            if (e.code() == RaidError.FOREIGN_MEMBER && array == null && recordedSetUuid != null) {
                throw new UnitException(UnitError.IDENTITY_MISMATCH, "no disk image in " + config.directory()
                        + " carries the array unit.properties records (" + recordedSetUuid
                        + "): these are another unit's images (" + e.getMessage() + ")", e);
            }
            throw e;
        } catch (RuntimeException e) {
            candidates.forEach(BlockDevice::close);
            throw e;
        }
        adoptChosenReplacements(candidates);
        applyArraySettings();
        if (recoveryInForeground) {
            array.backgroundWork().handle((done, failed) -> null).join(); // a failed rebuild shows in the member states
        }
        partitions = GuidPartitionTable.read(array);
        try (PhaseTrace.Span span = PhaseTrace.begin("unit: firmware boot (inspection)")) {
            startFirmware();
        }
        try (PhaseTrace.Span span = PhaseTrace.begin("unit: snapshot volume open")) {
            volume = SnapshotVolume.open(partition("data"), partition("snapshot-store"));
        } catch (SnapshotException e) {
            if (e.code() != SnapshotError.NOT_FORMATTED) {
                throw e;
            }
            // a unit's store is formatted when the unit is created: no superblock at open is damage, not a blank store
            throw new SnapshotException(SnapshotError.CORRUPT_METADATA, "the snapshot store of "
                    + (config.directory() != null ? "the unit in " + config.directory() : "this unit")
                    + " (formatted when the unit was created) has lost its superblock (" + e.getMessage()
                    + "): a member disk or the store is damaged", e);
        }
        host = new GatedDevice("host", volume, firmware.hostIoGate());
    }

    /**
     * Sets md's speed limits of resync, rebuild and scrub (like writing {@code sync_speed_min/max}):
     * they act on a running rebuild at once and on the arrays later boots assemble, until the unit
     * closes; {@link UnitConfig#rebuildSpeed()} is what a new open starts with.
     */
    public void setRebuildSpeed(RebuildSpeed speed) {
        if (speed == null) {
            throw new UnitException(UnitError.INVALID_LAYOUT, "rebuild speed must not be null");
        }
        rebuildSpeed = speed;
        applyArraySettings();
    }

    /** The speed limits in force. */
    public RebuildSpeed rebuildSpeed() {
        RebuildSpeed speed = rebuildSpeed;
        return speed != null ? speed : config.rebuildSpeed();
    }

    private void applyArraySettings() {
        RaidArray current = array;
        if (current != null) {
            RebuildSpeed speed = rebuildSpeed();
            current.setSyncSpeedLimits(speed.minBytesPerSecond(), speed.maxBytesPerSecond());
            current.setBitmapClock(bitmapClock);
        }
    }

    /**
     * The clock the array's bitmap measures md's daemon_sleep with (see
     * {@link RaidArray#setBitmapClock}), for this array and the arrays later boots assemble. A
     * simulation's unit starts with a clock that stands still (no bit clears by time, so a seeded
     * run does not depend on the machine's speed) until the simulation passes its own.
     */
    public void setBitmapClock(java.util.function.LongSupplier nanos) {
        bitmapClock = java.util.Objects.requireNonNull(nanos, "nanos");
        applyArraySettings();
    }

    private void startFirmware() {
        SliceDevice backupPartition = partition("firmware-backup");
        Extent all = backupPartition.geometry().all();
        firmware = FirmwareManager.builder()
                .store(FirmwareStore.onFlash(flash))
                .backupRegion(BackupRegion.on(backupPartition, Extent.of(JOURNAL_BLOCKS, all.blockCount() - JOURNAL_BLOCKS)))
                .journal(UpdateJournal.openOrFormat(backupPartition, Extent.of(0, JOURNAL_BLOCKS)))
                .trustedKeys(trust.trustedKeys())
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

    /** True if opened with {@link #openReadOnly}: nothing this unit does reaches its files. */
    public boolean isReadOnly() {
        return readOnly;
    }

    /** The unit's identity as its disks carry it (see {@link UnitIdentity}). */
    public UnitIdentity identity() {
        return new UnitIdentity(array.setUuid(), partitions.diskGuid(), partitions.find("data")
                .orElseThrow(() -> new UnitException(UnitError.NO_SUCH_PARTITION, "no data partition")).uniqueGuid());
    }

    /** The unit's trust roots: the keys whose firmware images it boots and installs. */
    public TrustStore trustStore() {
        return trust;
    }

    /**
     * Trusts {@code key} from now on (key rotation: add the new key, update to an image signed by
     * it, then {@link #distrustKey} the old one). Persisted before it applies.
     */
    public TrustStore.Entry trustKey(PublicKey key) {
        return trust.add(key);
    }

    /**
     * Stops trusting the key with this fingerprint (or unique prefix of at least
     * {@value TrustStore#MIN_PREFIX} hex digits): from now on an image it signed is refused when
     * staged, and at the next boot the flash or backup image it signed is refused too. Refused
     * ({@link UnitError#TRUST_STORE}) for the last key, and — unless {@code force} — for the key
     * that signed the running image: without it the next boot would find no trusted image
     * ({@code NO_BOOTABLE_IMAGE}).
     */
    public TrustStore.Entry distrustKey(String fingerprint, boolean force) {
        TrustStore.Entry entry = trust.find(fingerprint);
        FirmwareImage running = firmware.running();
        if (!force && running != null && running.keyHash() != null
                && MessageDigest.isEqual(running.keyHash(), TrustedKeys.keyHash(entry.key()))) {
            throw new UnitException(UnitError.TRUST_STORE, "key " + entry.fingerprint() + " signed the running firmware "
                    + running.version() + ": without it the next boot finds no trusted image; update to an image"
                    + " signed by another trusted key first (or force the removal)");
        }
        trust.remove(entry);
        return entry;
    }

    /**
     * The key pair scemu made to sign this unit's default firmware, if it made one: the test key
     * generated at create (a directory unit keeps its private key in
     * {@value TrustStore#TEST_KEY_FILE}), or in simulation mode the seed's key. Sign test images
     * with it ({@link DefaultFirmware#image(String, KeyPair)}). Empty for a unit created with a
     * vendor key: the vendor holds its private key.
     */
    public Optional<KeyPair> testSigningKey() {
        for (TrustStore.Entry entry : trust.entries()) {
            if (entry.origin() == TrustStore.Origin.SIMULATION && config.isSimulation()) {
                return Optional.of(DefaultFirmware.signingKey(config.simulationSeed().getAsLong()));
            }
            if (entry.origin() == TrustStore.Origin.TEST_KEY) {
                if (createdTestKey != null) {
                    return Optional.of(createdTestKey);
                }
                return readTestKey();
            }
        }
        return Optional.empty();
    }

    private Optional<KeyPair> readTestKey() {
        if (config.directory() == null) {
            return Optional.empty();
        }
        Path file = config.directory().resolve(TrustStore.TEST_KEY_FILE);
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        try {
            PrivateKey privateKey = KeyPem.decodePrivate(Files.readString(file, StandardCharsets.US_ASCII), file.toString());
            return Optional.of(new KeyPair(TrustedKeys.publicKeyOf(privateKey), privateKey));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** Disk {@code index} with its fault handles (fail, latent errors, bit rot). */
    public FaultInjectingDevice disk(int index) {
        return disks.get(index);
    }

    /**
     * Replaces failed member {@code role} with a new blank disk and rebuilds onto it in the
     * background; the future completes when the member is in sync. A request the array refuses (no
     * such member, a member that has not failed, a rebuild running, a device too small) changes
     * nothing: the checks run before the new image is created, and an image created for a
     * replacement the array then refuses ({@link RaidException}) is removed again (else the close
     * would adopt it as {@code disk<i>.img}).
     */
    public CompletableFuture<RebuildProgress> replaceDisk(int role, RebuildListener listener) {
        if (readOnly) {
            throw new UnitException(UnitError.READ_ONLY, "unit in " + config.directory()
                    + " is open read-only: cannot replace disk " + role);
        }
        dev.scemu.raid.MemberState state = array.memberState(role); // refuses a role outside the array
        if (state != dev.scemu.raid.MemberState.FAILED) {
            throw new RaidException(RaidError.BAD_MEMBER, "member " + role + " is " + state
                    + "; only a failed member can be replaced");
        }
        BlockGeometry geometry = disks.get(role).geometry();
        String name = "disk" + role + "-r" + (++replacements);
        FaultInjectingDevice fresh = power.attach(openMedium(name, geometry, true));
        FaultInjectingDevice old = disks.set(role, fresh);
        CompletableFuture<RebuildProgress> rebuild;
        try {
            rebuild = array.replaceMember(role, SliceDevice.of(name, fresh, geometry.all()), listener);
        } catch (RaidException e) { // refused before the array took the device (busy, too small): undo
            // (an I/O error or power cut after it took the device keeps it: a reboot assembles what is on it)
            disks.set(role, old);
            fresh.close();
            if (config.directory() != null && !readOnly) {
                imageLocks.unlock(config.directory().resolve(name + ".img"));
                try {
                    Files.deleteIfExists(config.directory().resolve(name + ".img"));
                } catch (IOException deleting) {
                    e.addSuppressed(deleting);
                }
            }
            throw e;
        }
        unopenedDisks.remove(role); // the new image is the member now
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

    /**
     * Scrubs the array ({@link RaidArray#scrub(boolean, ScrubListener)}: every stripe's parity or
     * mirrors against its data, rewritten with {@code repair}) while host I/O continues, and records
     * the result ({@link #lastScrub()}; in {@code DIR/scrub.properties} for a unit with a directory,
     * not for a read-only one).
     *
     * @throws dev.scemu.raid.RaidException if the array is degraded (nothing to compare against) or RAID-0
     */
    public ScrubRecord scrub(boolean repair, ScrubListener listener) {
        if (array.level() == dev.scemu.raid.RaidLevel.RAID0) {
            throw new UnitException(UnitError.INVALID_LAYOUT, "a RAID0 array has no parity or mirrors to scrub");
        }
        List<Long> offsets = new ArrayList<>();
        ScrubResult result = array.scrub(repair, new ScrubListener() {
            @Override
            public void onProgress(long stripesDone, long stripesTotal) {
                listener.onProgress(stripesDone, stripesTotal);
            }

            @Override
            public void onMismatch(ScrubMismatch mismatch) {
                offsets.add(mismatch.arrayOffsetBytes());
                listener.onMismatch(mismatch);
            }
        });
        ScrubRecord record = ScrubRecord.of(java.time.Instant.now(), result, offsets);
        if (repair) {
            array.flush();
        }
        if (config.directory() != null && !readOnly) {
            record.save(config.directory());
        }
        synchronized (this) {
            lastScrub = record;
        }
        return record;
    }

    /** The result of the last scrub of this unit (this process or an earlier one), if any. */
    public synchronized java.util.Optional<ScrubRecord> lastScrub() {
        if (lastScrub == null && config.directory() != null) {
            lastScrub = ScrubRecord.load(config.directory()).orElse(null);
        }
        return java.util.Optional.ofNullable(lastScrub);
    }

    /** The unit's state and meters (every meter counts since the last boot). */
    public UnitStatus status() {
        List<dev.scemu.raid.MemberState> members = new ArrayList<>();
        java.util.Map<Integer, String> faults = new java.util.TreeMap<>();
        for (int i = 0; i < array.raidDisks(); i++) {
            members.add(array.memberState(i));
            if (memberFault(i) != null) {
                faults.put(i, memberFault(i));
            }
        }
        List<IoMeter.Snapshot> diskMeters = disks.stream().map(d -> d.meter().snapshot()).toList();
        return new UnitStatus(array.level().name(), array.chunkBytes(), array.isDegraded(), members,
                partitions.partitions(), firmware.running().version().toString(), firmware.running().sha256Hex(),
                volume.listSnapshots(), volume.meter().snapshot(), array.meter().snapshot(), diskMeters,
                lastScrub().orElse(null), faults);
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
            try {
                disks.forEach(BlockDevice::close);
                if (flash != null) {
                    flash.close();
                }
                adoptReplacementImages();
            } finally {
                imageLocks.close();
                if (lock != null) {
                    lock.close(); // last: nobody may open the unit before its files are complete
                }
            }
        }
    }

    /**
     * The images {@code disk<i>-r<k>.img} of replacements that a process which died before its close
     * never renamed to {@code disk<i>.img} ({@link #adoptReplacementImages}), opened like the disks.
     * Which image holds a member is for the assembly to say, from the superblocks (md's events and
     * roles), not from the file names: a replacement whose superblock was written holds its role
     * (rebuilt, or with a recovery offset the rebuild resumes from) and the image it replaced is
     * stale.
     */
    private List<FaultInjectingDevice> openReplacementImages() {
        List<FaultInjectingDevice> found = new ArrayList<>();
        if (config.directory() == null) {
            return found;
        }
        java.util.regex.Pattern pattern = java.util.regex.Pattern.compile("(disk(\\d+)-r(\\d+))\\.img");
        List<Path> files;
        try (java.util.stream.Stream<Path> listing = Files.list(config.directory())) {
            files = listing.sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + config.directory(), e);
        }
        BlockGeometry geometry = BlockGeometry.ofBytes(config.blockSize(), config.diskBytes());
        try {
            for (Path file : files) {
                java.util.regex.Matcher m = pattern.matcher(file.getFileName().toString());
                if (!m.matches() || Integer.parseInt(m.group(2)) >= config.diskCount()) {
                    continue;
                }
                replacements = Math.max(replacements, Integer.parseInt(m.group(3)));
                try {
                    found.add(power.attach(openMedium(m.group(1), geometry, false)));
                } catch (RuntimeException e) {
                    LOG.warn("replacement image {} cannot be opened, left out: {}", file, e.getMessage());
                }
            }
        } catch (RuntimeException e) {
            found.forEach(BlockDevice::close);
            throw e;
        }
        return found;
    }

    /**
     * After the assembly: a replacement image the array took for its role becomes that disk (the
     * image it replaced, stale, is closed; a read-write close renames the replacement over it, as after
     * a live replacement); one the array did not take holds no member (a replacement cut before its
     * superblock was written) and is closed, and removed unless the unit is open read-only.
     */
    private void adoptChosenReplacements(List<FaultInjectingDevice> candidates) {
        for (FaultInjectingDevice candidate : candidates) {
            int role = Integer.parseInt(candidate.name().substring(4, candidate.name().indexOf("-r")));
            BlockDevice chosen = array.member(role);
            if (chosen != null && chosen.name().equals(candidate.name())) {
                FaultInjectingDevice replaced = disks.set(role, candidate);
                replaced.close();
                unopenedDisks.remove(role);
                LOG.info("disk {}: the replacement image {}.img holds the member (a process that replaced it died"
                        + " before its close renamed it)", role, candidate.name());
            } else {
                candidate.close();
                if (!readOnly) {
                    Path file = config.directory().resolve(candidate.name() + ".img");
                    imageLocks.unlock(file);
                    try {
                        Files.deleteIfExists(file);
                        LOG.warn("removed {}: an unfinished replacement of disk {} that holds no member", file, role);
                    } catch (IOException e) {
                        throw new UncheckedIOException("cannot remove " + file, e);
                    }
                }
            }
        }
    }

    /**
     * A replaced disk was rebuilt onto {@code disk<i>-r<k>.img}; {@link #open} looks for
     * {@code disk<i>.img}, so after a clean close the rebuilt image takes that name (atomic rename
     * over the old, failed image). If the process dies before, the next open offers both images to
     * the assembly ({@link #openReplacementImages}), which takes the member from the superblocks.
     */
    private void adoptReplacementImages() {
        if (config.directory() == null || readOnly || !power.isPowered()) {
            return;
        }
        boolean moved = false;
        for (int i = 0; i < config.diskCount(); i++) {
            String name = disks.get(i).name();
            Path rebuilt = config.directory().resolve(name + ".img");
            Path slot = config.directory().resolve("disk" + i + ".img");
            if (!rebuilt.equals(slot) && Files.exists(rebuilt)) {
                try {
                    Files.move(rebuilt, slot, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                            java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                    moved = true;
                } catch (IOException e) {
                    throw new UncheckedIOException("could not move " + rebuilt + " to " + slot, e);
                }
            }
        }
        if (moved) {
            UnitFiles.syncDirectory(config.directory()); // the renames are durable, like every other unit file
        }
    }
}
