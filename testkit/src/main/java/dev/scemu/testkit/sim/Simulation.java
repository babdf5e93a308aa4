package dev.scemu.testkit.sim;

import dev.scemu.backup.BackupEngine;
import dev.scemu.backup.BackupOptions;
import dev.scemu.backup.BackupSource;
import dev.scemu.backup.BackupTarget;
import dev.scemu.backup.RestoreOptions;
import dev.scemu.core.BlockDevice;
import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.Extent;
import dev.scemu.core.IoCause;
import dev.scemu.core.IoMeter;
import dev.scemu.core.PowerCutMode;
import dev.scemu.core.PowerDomain;
import dev.scemu.flash.BackupRegion;
import dev.scemu.flash.FirmwareEvent;
import dev.scemu.flash.FirmwareImage;
import dev.scemu.flash.FlashError;
import dev.scemu.flash.FlashException;
import dev.scemu.flash.FlashGeometry;
import dev.scemu.flash.ImageCheck;
import dev.scemu.flash.ImageVersion;
import dev.scemu.flash.InspectionReport;
import dev.scemu.flash.PeriodicInspector;
import dev.scemu.flash.UpdateReport;
import dev.scemu.raid.MemberState;
import dev.scemu.raid.RaidArray;
import dev.scemu.raid.RaidLevel;
import dev.scemu.raid.RebuildProgress;
import dev.scemu.raid.ScrubResult;
import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.testkit.sim.internal.BlockPattern;
import dev.scemu.testkit.sim.internal.FirmwareImages;
import dev.scemu.testkit.sim.internal.HostModel;
import dev.scemu.testkit.sim.internal.MemberMap;
import dev.scemu.testkit.sim.internal.MeterLedger;
import dev.scemu.unit.StorageControlUnit;
import dev.scemu.unit.UnitConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * A deterministic simulation of a whole storage control unit, driven by one {@code long} seed on
 * a {@link SimClock}.
 *
 * <p>A run creates a {@link StorageControlUnit} on off-heap media in one {@link PowerDomain}, then
 * plays {@link SimulationConfig#steps()} steps: seeded host I/O (writes of 1..n blocks, often
 * across chunk and stripe boundaries, some FUA, some rewriting identical data; reads; flushes)
 * interleaved with seeded events (disk failure, replacement and rebuild, latent sector errors,
 * bit rot, power cuts now or armed at a write index, flash bit flips, firmware corruption and
 * update, snapshot create/delete/rollback, backup and restore; rebuilds, repair scrubs,
 * rollbacks, deletions, backups and restores get cuts armed at a seeded write inside them).
 * Periodic work (firmware inspection, scrub) runs when
 * the simulated clock reaches its deadline, on the simulation thread. Work that the unit can only
 * run on its own thread (a rebuild) is started and joined at one simulated instant, so no thread
 * races the simulation and the run replays bit for bit.
 *
 * <p>After every step the run checks invariants against a reference model ({@code HostModel}):
 * <ul>
 *   <li>every read returns the latest write; after a power cut every block holds its last durable
 *       (flushed, FUA, snapshot, rollback) version or one written since, never anything else;</li>
 *   <li>every snapshot reads exactly as when it was created (after each cut, scrub and at the end);</li>
 *   <li>after a rebuild, a reboot and at every scrub, parity/mirrors are consistent (scrub finds no
 *       mismatch), and injected bit rot is found;</li>
 *   <li>the firmware runs a signature-verified image of the expected version, and the flash or the
 *       backup slot holds it (both after an inspection, an update and a boot);</li>
 *   <li>meters add up: bytes the member disks received = bytes the array issued, summed over its
 *       causes (host + parity + journal + metadata + rebuild + scrub); bytes the array received on
 *       a host, snapshot or disk step = bytes the snapshot volume issued (host + COW copy + journal
 *       + metadata), the rest being the firmware's own writes (boot, inspection, update); the
 *       volume never writes more host data in place than it received and did not skip.</li>
 * </ul>
 * A broken invariant or an unexpected exception throws {@link SimulationFailure} naming the seed,
 * the step, the last events and a command that replays the seed.
 */
public final class Simulation {

    /** Simulated speed of a rebuild and a scrub, for the clock. */
    private static final long BACKGROUND_BYTES_PER_SECOND = 200L << 20;
    private static final long INSPECTION_PERIOD_NANOS = Duration.ofMillis(200).toNanos();
    private static final long SCRUB_PERIOD_NANOS = Duration.ofMillis(900).toNanos();
    private static final int BLOCK = 4096;
    /** Tenths of rebuilds, repair scrubs, rollbacks, deletions, backups and restores that get a cut armed inside them. */
    private static final int CUT_INSIDE_TENTHS = 3;
    /** Events after which the backup slot is re-read: the unit must stay bootable. */
    private static final java.util.Set<EventType> FIRMWARE_AT_RISK = java.util.EnumSet.of(EventType.DISK_FAILURE,
            EventType.LATENT_SECTOR_ERROR, EventType.BIT_ROT, EventType.FLASH_BIT_FLIP, EventType.FIRMWARE_CORRUPTION);

    private final SimulationConfig config;
    private final long seed;
    private final SplittableRandom random;
    private final SimClock clock = new SimClock();
    private final Trace trace = new Trace();
    private final HostModel model;
    private final Map<EventType, Double> weights = new EnumMap<>(EventType.class);

    private StorageControlUnit unit;
    private PowerDomain power;
    private PeriodicInspector inspector;
    private ByteBuffer io;
    private int step;
    private int powerCuts;
    private int crashPoints;
    private int snapshotsCreated;
    private int firmwareRevision;
    /** Latent sector errors injected and not yet repaired: {member, member lba, row}. */
    private final List<long[]> latentErrors = new ArrayList<>();
    private MeterLedger meters;
    /** The volume's contents when a snapshot creation that a cut may interrupt began; null when none is in flight. */
    private long[] inFlightCreate;
    /** A snapshot whose deletion a cut may interrupt; -1 when none. */
    private long inFlightDelete = -1;
    private long nextInspectionNanos = INSPECTION_PERIOD_NANOS;
    private long nextScrubNanos = SCRUB_PERIOD_NANOS;
    /** Directory backup target of the run (created at the first backup, deleted at the end). */
    private Path backupDirectory;
    private BackupTarget backupTarget;
    /** Backup images of the run: id -> working-region contents they hold. */
    private final TreeMap<String, long[]> images = new TreeMap<>();
    private int backups;
    /**
     * While a whole-volume operation a cut may interrupt runs (rollback, restore): the contents the
     * working region may hold after the cut, as a whole (before, after); null otherwise.
     */
    private long[][] wholeOutcomes;
    /** A restore-incomplete mark allows any block-wise mix of the outcomes (the restore is then run again). */
    private boolean mixAllowedWhenMarked;
    /** A cut interrupted a repair scrub: after the reboot a repair scrub runs again (as md resumes one). */
    private boolean repairScrubInterrupted;
    /** The operation the last cut was armed inside. */
    private EventType armedInside;
    /** Detail of the trace event recorded when a cut armed inside a long operation fires. */
    public static final String CUT_FIRED = "cut fired inside the operation";

    public Simulation(SimulationConfig config) {
        this.config = config;
        this.seed = config.seed();
        this.random = new SplittableRandom(BlockPattern.mix(seed));
        this.model = new HostModel(config.workingBlocks());
        weights.put(EventType.HOST_WRITE, 40.0);
        weights.put(EventType.HOST_READ, 16.0);
        weights.put(EventType.HOST_FLUSH, 9.0);
        weights.put(EventType.SNAPSHOT_CREATE, 3.0);
        weights.put(EventType.SNAPSHOT_DELETE, 1.5);
        weights.put(EventType.SNAPSHOT_ROLLBACK, 1.2);
        weights.put(EventType.POWER_CUT, 1.6);
        weights.put(EventType.CRASH_POINT, 2.4);
        weights.put(EventType.DISK_FAILURE, 1.2);
        weights.put(EventType.DISK_REPLACE, 6.0);
        weights.put(EventType.LATENT_SECTOR_ERROR, 1.2);
        weights.put(EventType.BIT_ROT, 0.8);
        weights.put(EventType.FLASH_BIT_FLIP, 1.2);
        weights.put(EventType.FIRMWARE_CORRUPTION, 1.2);
        weights.put(EventType.FIRMWARE_UPDATE, 1.2);
        weights.put(EventType.BACKUP, 0.8);
        weights.put(EventType.RESTORE, 1.2);
    }

    /** Runs the default scenario of {@code seed} ({@link SimulationConfig#forSeed}). */
    public static SimulationResult run(long seed) {
        return new Simulation(SimulationConfig.forSeed(seed)).run();
    }

    /** Runs the scenario; throws {@link SimulationFailure} when an invariant breaks. */
    public SimulationResult run() {
        io = ByteBuffer.allocateDirect(config.maxIoBlocks() * BLOCK);
        try {
            create();
            for (step = 0; step < config.steps(); step++) {
                clock.advanceNanos(Duration.ofMillis(1 + random.nextInt(20)).toNanos());
                runDueWork();
                EventType type = pick();
                apply(type);
                checkFirmwareRunning();
                if (FIRMWARE_AT_RISK.contains(type)) {
                    checkFirmwareCopies("after " + type, false);
                }
                checkMeters();
                observeState();
                if (config.stepHook() != null) {
                    config.stepHook().afterStep(step, unit);
                }
            }
            finalCheck();
            return new SimulationResult(seed, trace, powerCuts, crashPoints, clock.nowNanos());
        } catch (SimulationFailure failure) {
            throw failure;
        } catch (Throwable t) {
            throw failure("unexpected " + t, t);
        } finally {
            if (unit != null) {
                unit.close();
            }
            deleteBackups();
        }
    }

    // ------------------------------------------------------------------ setup and scheduling

    private void create() {
        UnitConfig unitConfig = UnitConfig.builder().level(config.level())
                .disks(config.diskCount(), config.diskBytes()).chunkBytes(config.chunkBytes()).blockSize(BLOCK)
                .firmwareBackupBytes(1L << 20).snapshotStoreBytes(5L << 20)
                .flash(new FlashGeometry(4096, 16, 16)).seed(seed).build();
        power = new PowerDomain(seed);
        unit = StorageControlUnit.create(unitConfig, FirmwareImages.image(FirmwareImages.version(0)),
                FirmwareImages.signingKey().getPublic(), power);
        unit.setBitmapClock(clock::nowNanos); // md's daemon_sleep on the simulated clock: a seed replays the same
        if (unit.host().blockCount() < config.workingBlocks()) {
            throw failure("the volume has " + unit.host().blockCount() + " blocks, fewer than the "
                    + config.workingBlocks() + " working blocks", null);
        }
        afterBoot();
        trace.mixString("created " + config.level() + " x" + config.diskCount() + ", volume "
                + unit.host().blockCount() + " blocks");
    }

    /** After create or any boot: fresh inspector and meter baselines. */
    private void afterBoot() {
        inspector = unit.firmware().periodicInspector(Duration.ofNanos(INSPECTION_PERIOD_NANOS));
        if (meters == null) {
            meters = new MeterLedger(unit);
        }
        meters.booted();
    }

    private void runDueWork() {
        if (clock.reached(nextInspectionNanos)) {
            nextInspectionNanos = clock.nowNanos() + INSPECTION_PERIOD_NANOS;
            scheduledInspection();
        }
        if (clock.reached(nextScrubNanos)) {
            nextScrubNanos = clock.nowNanos() + SCRUB_PERIOD_NANOS;
            scrubAndPatrol();
        }
    }

    private EventType pick() {
        double total = 0;
        Map<EventType, Double> live = new EnumMap<>(EventType.class);
        for (Map.Entry<EventType, Double> entry : weights.entrySet()) {
            EventType type = entry.getKey();
            if (applicable(type)) {
                live.put(type, entry.getValue());
                total += entry.getValue();
            }
        }
        double x = random.nextDouble() * total;
        for (Map.Entry<EventType, Double> entry : live.entrySet()) {
            x -= entry.getValue();
            if (x < 0) {
                return entry.getKey();
            }
        }
        return EventType.HOST_WRITE;
    }

    private boolean applicable(EventType type) {
        boolean hostIo = type == EventType.HOST_WRITE || type == EventType.HOST_READ || type == EventType.HOST_FLUSH;
        if (!hostIo && !config.events().contains(type)) {
            return false;
        }
        boolean redundant = config.level() != RaidLevel.RAID0;
        return switch (type) {
            // a second fault before the first is repaired is beyond what redundancy promises
            case DISK_FAILURE -> redundant && redundancyIntact() && latentErrors.isEmpty();
            case DISK_REPLACE -> meters.anyDiskFailed();
            case LATENT_SECTOR_ERROR -> redundant && redundancyIntact();
            case BIT_ROT -> config.level() == RaidLevel.RAID5 && redundancyIntact();
            case SNAPSHOT_DELETE, SNAPSHOT_ROLLBACK -> !model.snapshotIds().isEmpty();
            case RESTORE -> !images.isEmpty();
            case FIRMWARE_INSPECTION, SCRUB -> false; // scheduled by the clock only
            default -> true;
        };
    }

    private void apply(EventType type) {
        switch (type) {
            case HOST_WRITE -> hostWrite();
            case HOST_READ -> hostRead();
            case HOST_FLUSH -> hostFlush();
            case DISK_FAILURE -> failDisk();
            case DISK_REPLACE -> replaceDisk();
            case LATENT_SECTOR_ERROR -> latentSectorError();
            case BIT_ROT -> bitRot();
            case POWER_CUT -> powerCut();
            case CRASH_POINT -> crashPoint();
            case FLASH_BIT_FLIP -> flashBitFlip();
            case FIRMWARE_CORRUPTION -> firmwareCorruption();
            case FIRMWARE_UPDATE -> firmwareUpdate();
            case SNAPSHOT_CREATE -> createSnapshot();
            case SNAPSHOT_DELETE -> deleteSnapshotEvent(pickSnapshot());
            case SNAPSHOT_ROLLBACK -> rollback();
            case BACKUP -> backup();
            case RESTORE -> restore();
            default -> throw new IllegalStateException("not a step event: " + type);
        }
    }

    // ------------------------------------------------------------------ host I/O

    private void hostWrite() {
        int blockCount = random.nextBoolean() ? 1 + random.nextInt(4) : 1 + random.nextInt(config.maxIoBlocks());
        int lba = pickLba(blockCount);
        boolean fua = random.nextInt(10) == 0;
        boolean identical = random.nextInt(10) == 0;
        long[] tokens = new long[blockCount];
        for (int i = 0; i < blockCount; i++) {
            long current = model.latest(lba + i);
            tokens[i] = identical && current != 0 ? current : BlockPattern.token(random.nextLong());
            BlockPattern.fill(io, i * BLOCK, BLOCK, lba + i, tokens[i]);
        }
        model.beforeWrite(lba, tokens);
        unit.host().write(lba, blockCount, io, 0, fua);
        if (fua) {
            model.fuaWriteDone(lba, tokens);
        }
        clock.advanceNanos((long) blockCount * BLOCK * 1_000_000_000L / BACKGROUND_BYTES_PER_SECOND);
        record(EventType.HOST_WRITE, "lba " + lba + " +" + blockCount + (fua ? " fua" : "") + (identical ? " identical" : ""));
    }

    /** A start lba for {@code blockCount} blocks; 4 in 10 straddle a chunk or stripe boundary. */
    private int pickLba(int blockCount) {
        int limit = config.workingBlocks() - blockCount;
        if (random.nextInt(10) < 4) {
            int chunkBlocks = unit.array().chunkBytes() / BLOCK;
            int dataMembers = config.level() == RaidLevel.RAID5 ? config.diskCount() - 1 : 1;
            int unitBlocks = random.nextBoolean() ? chunkBlocks : chunkBlocks * dataMembers;
            if (unitBlocks < config.workingBlocks()) {
                int boundary = unitBlocks * (1 + random.nextInt(Math.max(1, config.workingBlocks() / unitBlocks - 1)));
                int lba = boundary - 1 - random.nextInt(Math.max(1, blockCount));
                return Math.max(0, Math.min(limit, lba));
            }
        }
        return random.nextInt(limit + 1);
    }

    private void hostRead() {
        int blockCount = 1 + random.nextInt(config.maxIoBlocks());
        int lba = pickLba(blockCount);
        unit.host().read(lba, blockCount, io, 0);
        for (int i = 0; i < blockCount; i++) {
            long token = BlockPattern.tokenOf(io, i * BLOCK, BLOCK, lba + i);
            if (token != model.latest(lba + i)) {
                throw failure("host read of lba " + (lba + i) + " returned " + describe(token) + ", the model expects "
                        + Long.toHexString(model.latest(lba + i)), null);
            }
        }
        trace.mixBytes(io, 0, blockCount * BLOCK);
        record(EventType.HOST_READ, "lba " + lba + " +" + blockCount);
    }

    private void hostFlush() {
        unit.host().flush();
        model.flushed();
        record(EventType.HOST_FLUSH, "");
    }

    // ------------------------------------------------------------------ disks

    private void failDisk() {
        int role = random.nextInt(config.diskCount());
        meters.diskFailing(role);
        unit.disk(role).failDevice();
        record(EventType.DISK_FAILURE, "member " + role);
    }

    private void replaceDisk() {
        int role = meters.firstFailedDisk();
        PowerCutMode armed = cutInside() ? armCut(EventType.DISK_REPLACE, 160) : null;
        RebuildProgress done = null;
        RuntimeException error = null;
        try {
            done = rebuild(role);
        } catch (RuntimeException e) {
            error = e;
        }
        if (cutFired(armed, error)) {
            crashPoints++;
            reboot(armed, "cut during the rebuild of member " + role); // joins a rebuild resumed at boot
            if (unit.array().isDegraded()) {
                // the cut came before the new member was durably part of the array: replace it again
                record(EventType.DISK_REPLACE, "member " + role + " is " + unit.array().memberState(role)
                        + " after the cut; replacing it again");
                done = rebuild(role);
            } else {
                record(EventType.DISK_REPLACE, "member " + role + " rebuilt after the cut (resumed at boot)");
                checkFirmwareCopies("after the rebuild of member " + role + " resumed at boot", false);
                return;
            }
        } else if (error != null) {
            throw failure("rebuild of member " + role + " failed: " + error, error);
        }
        clock.advanceNanos(done.totalBytes() * 1_000_000_000L / BACKGROUND_BYTES_PER_SECOND);
        record(EventType.DISK_REPLACE, "member " + role + " rebuilt, " + done.totalBytes() + " bytes");
        if (unit.array().isDegraded()) {
            throw failure("array still degraded after rebuilding member " + role + ": " + memberStates(), null);
        }
        checkRedundancy("after rebuilding member " + role);
        checkFirmwareCopies("after rebuilding member " + role, false);
    }

    /** Replaces member {@code role} with a blank disk and joins its rebuild. */
    private RebuildProgress rebuild(int role) {
        RaidArray array = unit.array();
        if (array.memberState(role) != MemberState.FAILED) {
            array.failMember(role); // like mdadm --fail before --remove/--add
        }
        meters.diskRetiring(role);
        return unit.replaceDisk(role, null).join();
    }

    private void latentSectorError() {
        MemberMap map = new MemberMap(unit.array());
        long row = random.nextLong(map.rows());
        int member = map.dataMember(row, random.nextInt(config.diskCount()));
        long memberLba = map.memberLba(row, random.nextLong(map.chunkBlocks()));
        if (secondFaultInStripe(member, memberLba)) {
            // another member's block of the same stripe is already unreadable: a second one there is
            // a double fault no RAID-5 or two-way mirror survives, so the first is repaired before
            patrol();
        }
        unit.disk(member).failReads(new Extent(memberLba, 1));
        latentErrors.add(new long[] {member, memberLba, row});
        record(EventType.LATENT_SECTOR_ERROR, "member " + member + " lba " + memberLba + " (row " + row + ")");
    }

    private void bitRot() {
        patrol();
        MemberMap map = new MemberMap(unit.array());
        long row = random.nextLong(map.rows());
        int member = map.parityMember(row);
        long memberLba = map.memberLba(row, random.nextLong(map.chunkBlocks()));
        int bit = unit.disk(member).corruptBlock(memberLba);
        record(EventType.BIT_ROT, "parity member " + member + " lba " + memberLba + " bit " + bit + " (row " + row + ")");
        PowerCutMode armed = cutInside() ? armCut(EventType.SCRUB, 3) : null;
        ScrubResult found = null;
        RuntimeException error = null;
        try {
            found = unit.array().scrub(true);
        } catch (RuntimeException e) {
            error = e;
        }
        if (cutFired(armed, error)) {
            crashPoints++;
            repairScrubInterrupted = true;
            reboot(armed, "cut during the repair scrub");
            return;
        }
        clock.advanceNanos(unit.array().geometry().capacityBytes() * 1_000_000_000L / BACKGROUND_BYTES_PER_SECOND);
        trace.mixString(found.toString());
        if (found.mismatchedStripes() < 1 || found.repairedStripes() < 1) {
            throw failure("a repair scrub did not find the bit rot on member " + member + " lba " + memberLba + ": " + found, null);
        }
        record(EventType.SCRUB, "repair " + found);
    }

    /**
     * Whether an unrepaired latent sector error sits on another member at {@code memberLba}: the
     * same stripe (md's stripe is one block per member at one member offset), so the block there
     * would be a second fault. Errors at other offsets of the same row are separate stripes.
     */
    private boolean secondFaultInStripe(int member, long memberLba) {
        for (long[] error : latentErrors) {
            if (error[0] != member && error[1] == memberLba) {
                return true;
            }
        }
        return false;
    }

    /** Reads every row with an injected latent sector error through the array (a patrol read), which repairs it. */
    private void patrol() {
        RaidArray array = unit.array();
        MemberMap map = new MemberMap(array);
        for (long[] error : latentErrors) {
            Extent extent = map.arrayExtentOfRow(error[2]);
            ByteBuffer buffer = ByteBuffer.allocateDirect((int) extent.blockCount() * BLOCK);
            array.read(extent.lba(), (int) extent.blockCount(), buffer, 0);
            try {
                unit.disk((int) error[0]).read(error[1], 1, io, 0);
            } catch (CoreException e) {
                throw failure("latent sector error on member " + error[0] + " lba " + error[1]
                        + " was not repaired by a read of its row: " + e.getMessage(), e);
            }
        }
        latentErrors.clear();
    }

    private void scrubAndPatrol() {
        patrol();
        if (redundancyIntact()) {
            checkRedundancy("scheduled scrub");
        }
        checkSnapshots("scheduled scrub");
    }

    /**
     * No member is failed: neither one the array knows of nor one the simulation failed that the
     * array has not noticed yet (its next I/O to it would fail it, possibly in the middle of a scrub).
     */
    private boolean redundancyIntact() {
        return !meters.anyDiskFailed() && !unit.array().isDegraded();
    }

    /** Scrub (check only): parity/mirrors must agree with the data. */
    private void checkRedundancy(String when) {
        patrol(); // known latent sector errors are repaired first: a scrub cannot check an unreadable row
        if (config.level() == RaidLevel.RAID0) {
            return; // no redundancy to check
        }
        ScrubResult result = unit.array().scrub(false);
        clock.advanceNanos(unit.array().geometry().capacityBytes() * 1_000_000_000L / BACKGROUND_BYTES_PER_SECOND);
        trace.mixString(result.toString());
        record(EventType.SCRUB, when + ": " + result);
        if (result.mismatchedStripes() != 0) {
            throw failure("scrub " + when + " found " + result.mismatchedStripes() + " inconsistent stripes: " + result, null);
        }
    }

    // ------------------------------------------------------------------ power

    private void powerCut() {
        patrol(); // an unreadable block in a stripe the cut leaves dirty would be a second fault
        PowerCutMode mode = random.nextBoolean() ? PowerCutMode.DROP_UNFLUSHED : PowerCutMode.KEEP_RANDOM_SUBSET;
        record(EventType.POWER_CUT, mode + ", " + model.pendingBlockCount() + " blocks unflushed");
        reboot(mode, "power cut");
    }

    /** Arms a cut at a seeded write index within the next host I/O; runs host I/O until it fires. */
    private void crashPoint() {
        patrol(); // an unreadable block in a stripe the cut leaves dirty would be a second fault
        PowerCutMode mode = random.nextBoolean() ? PowerCutMode.DROP_UNFLUSHED : PowerCutMode.KEEP_RANDOM_SUBSET;
        long offset = random.nextInt(48);
        long index = power.writeCount() + offset;
        power.armCutAtWrite(index, mode);
        record(EventType.CRASH_POINT, "armed at write #" + index + " " + mode);
        for (int op = 0; op < 16 && power.isPowered(); op++) {
            try {
                int pick = random.nextInt(20);
                if (pick < 13) {
                    hostWrite();
                } else if (pick < 16) {
                    hostFlush();
                } else if (pick < 18) {
                    hostRead();
                } else if (pick == 18 && model.snapshotIds().size() < config.maxSnapshots()) {
                    createSnapshotMayBeCut();
                } else if (!model.snapshotIds().isEmpty()) {
                    deleteSnapshotMayBeCut(pickSnapshot());
                }
            } catch (RuntimeException e) {
                if (power.isPowered() || !isPowerLoss(e)) {
                    throw e; // only the armed cut may interrupt, and only as a power loss
                }
            }
        }
        if (power.isPowered()) {
            power.disarm();
            record(EventType.CRASH_POINT, "not reached");
            return;
        }
        crashPoints++;
        reboot(mode, "crash point at write #" + index);
    }

    /** Cut (if not cut yet), reboot, and check everything recovery promises. */
    private void reboot(PowerCutMode mode, String why) {
        powerCuts++;
        InspectionReport report = unit.crashAndReboot(mode);
        try {
            unit.array().backgroundWork().join(); // a rebuild resumed at boot: joined at this simulated instant
        } catch (RuntimeException e) {
            throw failure("the rebuild resumed at boot after the " + why + " failed: " + e, e);
        }
        afterBoot();
        trace.mixString(report.flash().state() + "/" + report.backup().state());
        if (!report.has(FirmwareEvent.Type.BOOTED)) {
            throw failure("firmware did not boot after the " + why + ": " + report, null);
        }
        reconcileAfterCut(why);
        reconcileSnapshotsAfterCut(why);
        checkSnapshots("after the " + why);
        if (repairScrubInterrupted) {
            repairScrubInterrupted = false;
            ScrubResult repaired = unit.array().scrub(true);
            trace.mixString(repaired.toString());
            record(EventType.SCRUB, "repair again after the " + why + ": " + repaired);
            if (repaired.mismatchedStripes() > 1) {
                throw failure("the repair scrub after the " + why + " found " + repaired.mismatchedStripes()
                        + " inconsistent stripes (one rotted parity block was injected): " + repaired, null);
            }
        }
        if (redundancyIntact()) {
            checkRedundancy("after the " + why);
        }
        checkFirmwareCopies("after the " + why, true);
    }

    /** A snapshot creation inside a crash window: if power fails during it, the snapshot may or may not exist. */
    private void createSnapshotMayBeCut() {
        String name = "sim-" + (++snapshotsCreated);
        record(EventType.SNAPSHOT_CREATE, "starting " + name + " (a cut may interrupt it)");
        inFlightCreate = model.latestCopy();
        SnapshotInfo info = unit.snapshots().createSnapshot(name);
        inFlightCreate = null;
        model.snapshotCreated(info.id());
        record(EventType.SNAPSHOT_CREATE, "id " + info.id() + " " + info.name() + " epoch " + info.epoch());
    }

    /** A snapshot deletion inside a crash window: if power fails during it, the snapshot may or may not remain. */
    private void deleteSnapshotMayBeCut(long id) {
        record(EventType.SNAPSHOT_DELETE, "starting id " + id + " (a cut may interrupt it)");
        inFlightDelete = id;
        unit.snapshots().deleteSnapshot(id);
        inFlightDelete = -1;
        model.snapshotDeleted(id);
        checkSnapshotList("after deleting snapshot " + id);
    }

    /**
     * After a cut: a snapshot whose creation was interrupted exists with exactly the contents the
     * volume had when it was asked for, or does not exist; one whose deletion was interrupted is
     * gone or unchanged; every other snapshot is exactly as the model has it.
     */
    private void reconcileSnapshotsAfterCut(String why) {
        List<Long> actual = unit.snapshots().listSnapshots().stream().map(SnapshotInfo::id).toList();
        if (inFlightDelete >= 0 && !actual.contains(inFlightDelete)) {
            model.snapshotDeleted(inFlightDelete);
        }
        if (inFlightCreate != null) {
            List<Long> extra = new ArrayList<>(actual);
            extra.removeAll(model.snapshotIds());
            if (extra.size() == 1) {
                model.snapshotAdded(extra.get(0), inFlightCreate);
            }
            record(EventType.SNAPSHOT_CREATE, "interrupted creation " + (extra.size() == 1 ? "kept as id " + extra.get(0) : "lost"));
        }
        inFlightCreate = null;
        inFlightDelete = -1;
        checkSnapshotList("after the " + why);
    }

    /** Every working block must hold its durable version or one written since; the model adopts it. */
    private void reconcileAfterCut(String why) {
        if (wholeOutcomes != null) {
            reconcileWhole(why);
            return;
        }
        int blocks = config.workingBlocks();
        int perRead = config.maxIoBlocks();
        for (int lba = 0; lba < blocks; lba += perRead) {
            int n = Math.min(perRead, blocks - lba);
            unit.host().read(lba, n, io, 0);
            for (int i = 0; i < n; i++) {
                long token = BlockPattern.tokenOf(io, i * BLOCK, BLOCK, lba + i);
                if (!model.allowedAfterCut(lba + i, token)) {
                    throw failure("after the " + why + " lba " + (lba + i) + " holds " + describe(token)
                            + "; allowed: " + model.allowedDescription(lba + i), null);
                }
                model.adoptAfterCut(lba + i, token);
            }
            trace.mixBytes(io, 0, n * BLOCK);
        }
        model.cutReconciled();
    }

    /**
     * After a cut inside a rollback or a restore (flushed before it began): the working region
     * reads exactly as before or exactly as after, never a mix; a restore that left its mark may
     * hold a block-wise mix (it is run again).
     */
    private void reconcileWhole(String why) {
        long[][] outcomes = wholeOutcomes;
        wholeOutcomes = null;
        int blocks = config.workingBlocks();
        long[] seen = new long[blocks];
        for (int lba = 0; lba < blocks; lba += config.maxIoBlocks()) {
            int n = Math.min(config.maxIoBlocks(), blocks - lba);
            unit.host().read(lba, n, io, 0);
            for (int i = 0; i < n; i++) {
                seen[lba + i] = BlockPattern.tokenOf(io, i * BLOCK, BLOCK, lba + i);
            }
            trace.mixBytes(io, 0, n * BLOCK);
        }
        boolean marked = mixAllowedWhenMarked && unit.snapshots().restoreIncomplete().isPresent();
        mixAllowedWhenMarked = false;
        if (!Arrays.equals(seen, outcomes[0]) && !Arrays.equals(seen, outcomes[1])) {
            int asBefore = 0;
            int asAfter = 0;
            for (int lba = 0; lba < blocks; lba++) {
                boolean before = seen[lba] == outcomes[0][lba];
                boolean after = seen[lba] == outcomes[1][lba];
                if (!before && !after) {
                    throw failure("after the " + why + " lba " + lba + " holds " + describe(seen[lba]) + "; allowed: "
                            + Long.toHexString(outcomes[0][lba]) + " (before) or " + Long.toHexString(outcomes[1][lba])
                            + " (after)", null);
                }
                asBefore += before && !after ? 1 : 0;
                asAfter += after && !before ? 1 : 0;
            }
            if (!marked) {
                throw failure("after the " + why + " the volume is a mix: " + asBefore + " blocks as before and " + asAfter
                        + " as after (and no restore-incomplete mark)", null);
            }
        }
        model.replacedDurably(seen);
    }

    // ------------------------------------------------------------------ cuts inside long operations

    /** Whether this long operation gets a cut armed inside it (3 in 10). */
    private boolean cutInside() {
        return random.nextInt(10) < CUT_INSIDE_TENTHS;
    }

    /** Arms a cut at a seeded write among the next {@code spread} writes. */
    private PowerCutMode armCut(EventType type, int spread) {
        patrol(); // an unreadable block in a stripe the cut leaves dirty would be a second fault
        PowerCutMode mode = random.nextBoolean() ? PowerCutMode.DROP_UNFLUSHED : PowerCutMode.KEEP_RANDOM_SUBSET;
        long index = power.writeCount() + random.nextInt(spread);
        power.armCutAtWrite(index, mode);
        armedInside = type;
        record(type, "cut armed at write #" + index + " " + mode);
        return mode;
    }

    /**
     * After an operation that had a cut armed ({@code armed}, or null): whether the cut fired
     * (the caller reboots). Any error other than that power loss is rethrown; an unreached cut is disarmed.
     */
    private boolean cutFired(PowerCutMode armed, RuntimeException error) {
        if (error != null && (armed == null || power.isPowered() || !isPowerLoss(error))) {
            throw error;
        }
        if (armed == null) {
            return false;
        }
        if (power.isPowered()) {
            power.disarm();
            record(armedInside, "cut not reached");
            return false;
        }
        record(armedInside, CUT_FIRED);
        return true;
    }

    // ------------------------------------------------------------------ backup and restore

    private BackupTarget backupTarget() {
        if (backupTarget == null) {
            try {
                backupDirectory = Files.createTempDirectory("scemu-sim-" + seed + "-");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            backupTarget = BackupTarget.directory(backupDirectory);
        }
        return backupTarget;
    }

    private void deleteBackups() {
        if (backupTarget != null) {
            backupTarget.close();
        }
        if (backupDirectory != null) {
            try (Stream<Path> files = Files.walk(backupDirectory)) {
                for (Path file : files.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(file);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot delete the simulation's backups in " + backupDirectory, e);
            }
        }
    }

    /**
     * A backup from a temporary snapshot (deleted when the backup ends). After a cut inside it,
     * the snapshot list must equal the model's: the reboot removed the temporary snapshot.
     */
    private void backup() {
        String imageId = "b" + (++backups);
        PowerCutMode armed = cutInside() ? armCut(EventType.BACKUP, 40) : null;
        RuntimeException error = null;
        try {
            SnapshotInfo snapshot = unit.snapshots().createTemporarySnapshot("backup " + imageId);
            model.flushed(); // a snapshot creation implies a flush
            long[] contents = model.latestCopy();
            BackupSource source = BackupSource.builder(unit.snapshots().snapshot(snapshot.id()))
                    .volumeId("sim-" + seed).snapshotToken("snapshot-" + snapshot.id() + "@" + snapshot.epoch())
                    .usedExtents(List.of(new Extent(0, config.workingBlocks())))
                    .onRelease(() -> unit.snapshots().deleteSnapshot(snapshot.id())).build();
            BackupEngine.backup(source, backupTarget(), BackupOptions.defaults().withImageId(imageId).withThreads(1)
                    .withCompressionLevel(1));
            images.put(imageId, contents);
            record(EventType.BACKUP, imageId + " from temporary snapshot " + snapshot.id());
        } catch (RuntimeException e) {
            error = e;
        }
        if (cutFired(armed, error)) {
            crashPoints++;
            reboot(armed, "cut during backup " + imageId);
            record(EventType.BACKUP, "after the cut: " + unit.snapshots().recoveredAtOpen().notices());
        }
        checkSnapshotList("after backup " + imageId);
    }

    /**
     * A restore of a backup image onto the volume. Cut inside: unmarked, the volume reads as
     * before or as the image; marked "restore incomplete", the restore is run again.
     */
    private void restore() {
        List<String> ids = List.copyOf(images.keySet());
        String imageId = ids.get(random.nextInt(ids.size()));
        long[] image = images.get(imageId);
        PowerCutMode armed = null;
        if (cutInside()) {
            hostFlush();
            wholeOutcomes = new long[][] {model.latestCopy(), image};
            mixAllowedWhenMarked = true;
            armed = armCut(EventType.RESTORE, 12);
        }
        RuntimeException error = null;
        try {
            restoreImage(imageId);
        } catch (RuntimeException e) {
            error = e;
        }
        if (cutFired(armed, error)) {
            crashPoints++;
            reboot(armed, "cut during the restore of " + imageId);
            java.util.Optional<String> mark = unit.snapshots().restoreIncomplete();
            record(EventType.RESTORE, "after the cut: " + (mark.isPresent() ? "marked '" + mark.get() + "', restoring again"
                    : "not marked"));
            if (mark.isPresent()) {
                restoreImage(imageId);
                model.replacedDurably(image);
            }
        } else {
            wholeOutcomes = null;
            mixAllowedWhenMarked = false;
            model.replacedDurably(image);
            record(EventType.RESTORE, imageId);
        }
        if (unit.snapshots().restoreIncomplete().isPresent()) {
            throw failure("the volume is still marked restore incomplete after the restore of " + imageId, null);
        }
        checkDevice(unit.host(), null, "live volume after the restore of " + imageId);
    }

    private void restoreImage(String imageId) {
        unit.snapshots().markRestoreIncomplete("image " + imageId);
        BackupEngine.restore(backupTarget(), imageId, null, unit.host(), RestoreOptions.defaults().withThreads(1));
        unit.snapshots().clearRestoreIncomplete();
        meters.restored();
    }

    // ------------------------------------------------------------------ firmware

    /** A scheduled inspection; 1 in 4 get a cut armed at a seeded flash operation (it fires if the inspection repairs the flash). */
    private void scheduledInspection() {
        if (random.nextInt(4) != 0) {
            inspect();
            return;
        }
        patrol(); // an unreadable block in a stripe the cut leaves dirty would be a second fault
        PowerCutMode mode = random.nextBoolean() ? PowerCutMode.DROP_UNFLUSHED : PowerCutMode.KEEP_RANDOM_SUBSET;
        long index = unit.flash().operationCount() + random.nextInt(80);
        unit.flash().armCutAtOperation(index, mode);
        InspectionReport report = inspector.tick();
        unit.flash().disarm();
        if (report != null || (power.isPowered() && unit.flash().isPowered())) {
            if (report == null) {
                throw failure("periodic inspection failed: " + lastFirmwareEvent(), null);
            }
            recordInspection(report);
            return;
        }
        record(EventType.FIRMWARE_INSPECTION, "cut at flash operation #" + index + " " + mode + " while repairing");
        crashPoints++;
        reboot(mode, "cut during an inspection at flash operation #" + index);
    }

    private void inspect() {
        InspectionReport report = inspector.tick();
        if (report == null) {
            throw failure("periodic inspection failed or was skipped: " + lastFirmwareEvent(), null);
        }
        recordInspection(report);
    }

    private void recordInspection(InspectionReport report) {
        record(EventType.FIRMWARE_INSPECTION, report.flash().state() + "/" + report.backup().state()
                + (report.has(FirmwareEvent.Type.RECOVERED) ? " recovered" : ""));
        checkFirmwareCopies("after an inspection", true);
        meters.firmwareWrote();
    }

    private String lastFirmwareEvent() {
        List<FirmwareEvent> events = unit.firmware().recentEvents();
        return events.isEmpty() ? "no event" : events.get(events.size() - 1).toString();
    }

    private void flashBitFlip() {
        long[] bits = unit.flash().injectRetentionFlips(1 + random.nextInt(3));
        record(EventType.FLASH_BIT_FLIP, "bits " + java.util.Arrays.toString(bits));
    }

    private void firmwareCorruption() {
        int imageBits = unit.firmware().running().length() * 8;
        StringBuilder detail = new StringBuilder("bits");
        for (int i = 0, n = 1 + random.nextInt(3); i < n; i++) {
            long bit = random.nextInt(imageBits);
            unit.flash().flipBit(bit);
            detail.append(' ').append(bit);
        }
        record(EventType.FIRMWARE_CORRUPTION, detail.toString());
        ImageCheck flash = unit.firmware().checkFlash();
        if (flash.isValid()) {
            throw failure("the flash image still verifies after bits " + detail + " were flipped", null);
        }
    }

    private void firmwareUpdate() {
        FirmwareImage previous = unit.firmware().running();
        String next = FirmwareImages.version(firmwareRevision + 1);
        int cutKind = random.nextInt(10);
        PowerCutMode mode = random.nextBoolean() ? PowerCutMode.DROP_UNFLUSHED : PowerCutMode.KEEP_RANDOM_SUBSET;
        String armed = "";
        if (cutKind < 3) {
            patrol(); // an unreadable block in a stripe the cut leaves dirty would be a second fault
        }
        if (cutKind < 2) {
            long index = power.writeCount() + random.nextInt(160);
            power.armCutAtWrite(index, mode);
            armed = ", cut armed at write #" + index + " " + mode;
        } else if (cutKind < 3) {
            long index = unit.flash().operationCount() + random.nextInt(90);
            unit.flash().armCutAtOperation(index, mode);
            armed = ", cut armed at flash operation #" + index + " " + mode;
        }
        record(EventType.FIRMWARE_UPDATE, previous.version() + " -> " + next + armed);
        UpdateReport report = null;
        try {
            unit.firmware().stage(FirmwareImages.image(next));
            report = unit.firmware().update();
        } catch (RuntimeException e) {
            if ((power.isPowered() && unit.flash().isPowered()) || !isPowerLoss(e)) {
                throw e; // only the armed cut may interrupt, and only as a power loss
            }
        }
        power.disarm();
        unit.flash().disarm();
        if (report == null) {
            crashPoints++;
            reboot(mode, "cut during the update to " + next);
            ImageVersion running = unit.firmware().running().version();
            boolean isNext = running.compareTo(ImageVersion.parse(next)) == 0;
            if (running.compareTo(previous.version()) != 0 && !isNext) {
                throw failure("after a cut during the update " + previous.version() + " -> " + next + " firmware "
                        + running + " runs", null);
            }
            record(EventType.FIRMWARE_UPDATE, "after the cut " + running + " runs");
            if (isNext) {
                firmwareRevision++;
            }
            return;
        }
        if (report.outcome() != UpdateReport.Outcome.UPDATED) {
            throw failure("firmware update to " + next + " was " + report.outcome() + ": " + report.detail(), null);
        }
        firmwareRevision++;
        record(EventType.FIRMWARE_UPDATE, "updated to " + report.to());
        checkFirmwareCopies("after the update to " + next, true);
        meters.firmwareWrote();
    }

    /** Cheap, after every step: the running image is verified and of the expected version. */
    private void checkFirmwareRunning() {
        FirmwareImage running = unit.firmware().running();
        ImageVersion expected = ImageVersion.parse(FirmwareImages.version(firmwareRevision));
        if (running == null || !running.isSignatureVerified() || running.version().compareTo(expected) != 0) {
            throw failure("firmware running " + running + ", expected verified " + expected, null);
        }
    }

    /** After firmware, power and disk events: the flash and the backup slot both hold the running image. */
    /**
     * The backup slot holds the running image (so the unit stays bootable whatever happens to the
     * flash); with {@code flashToo} (after an inspection, an update or a boot) the flash does too.
     */
    private void checkFirmwareCopies(String when, boolean flashToo) {
        FirmwareImage running = unit.firmware().running();
        ImageCheck backup = unit.firmware().checkSlot(BackupRegion.Slot.BACKUP);
        if (!backup.holds(running)) {
            throw failure("backup slot " + when + " does not hold the running image " + running.version() + ": " + backup, null);
        }
        ImageCheck flash = flashToo ? unit.firmware().checkFlash() : null;
        if (flashToo && !flash.holds(running)) {
            throw failure("flash " + when + " does not hold the running image " + running.version() + ": " + flash, null);
        }
    }

    // ------------------------------------------------------------------ snapshots

    private void createSnapshot() {
        if (model.snapshotIds().size() >= config.maxSnapshots()) {
            deleteSnapshot(model.snapshotIds().get(0));
        }
        SnapshotInfo info = unit.snapshots().createSnapshot("sim-" + (++snapshotsCreated));
        model.snapshotCreated(info.id());
        record(EventType.SNAPSHOT_CREATE, "id " + info.id() + " " + info.name() + " epoch " + info.epoch());
    }

    private long pickSnapshot() {
        List<Long> ids = model.snapshotIds();
        return ids.get(random.nextInt(ids.size()));
    }

    private void deleteSnapshot(long id) {
        unit.snapshots().deleteSnapshot(id);
        model.snapshotDeleted(id);
        record(EventType.SNAPSHOT_DELETE, "id " + id);
        checkSnapshotList("after deleting snapshot " + id);
    }

    /** A deletion; 3 in 10 get a cut armed inside (the snapshot is then gone or unchanged). */
    private void deleteSnapshotEvent(long id) {
        PowerCutMode armed = cutInside() ? armCut(EventType.SNAPSHOT_DELETE, 64) : null;
        RuntimeException error = null;
        try {
            deleteSnapshotMayBeCut(id);
        } catch (RuntimeException e) {
            error = e;
        }
        if (cutFired(armed, error)) {
            crashPoints++;
            reboot(armed, "cut during the deletion of snapshot " + id);
        }
    }

    /**
     * A rollback; 3 in 10 get a cut armed inside (after a flush, so "before" is durable): the
     * volume then reads as before or as the snapshot, and a rollback finished at open ends at the snapshot.
     */
    private void rollback() {
        long id = pickSnapshot();
        PowerCutMode armed = null;
        if (cutInside()) {
            hostFlush();
            wholeOutcomes = new long[][] {model.latestCopy(), model.snapshotView(id).clone()};
            armed = armCut(EventType.SNAPSHOT_ROLLBACK, 96);
        }
        RuntimeException error = null;
        try {
            unit.snapshots().rollback(id);
        } catch (RuntimeException e) {
            error = e;
        }
        if (cutFired(armed, error)) {
            crashPoints++;
            reboot(armed, "cut during the rollback to snapshot " + id);
            boolean resumed = unit.snapshots().recoveredAtOpen().resumedRollback().isPresent();
            record(EventType.SNAPSHOT_ROLLBACK, "after the cut: " + (resumed ? "finished at open" : "not resumed"));
            if (resumed && !Arrays.equals(model.latestCopy(), model.snapshotView(id))) {
                throw failure("a rollback to snapshot " + id + " finished at open does not read as the snapshot", null);
            }
            return;
        }
        wholeOutcomes = null;
        model.rolledBack(id);
        meters.rolledBack();
        record(EventType.SNAPSHOT_ROLLBACK, "to id " + id);
        checkDevice(unit.host(), null, "live volume after rollback to snapshot " + id);
    }

    private void checkSnapshotList(String when) {
        List<Long> actual = unit.snapshots().listSnapshots().stream().map(SnapshotInfo::id).toList();
        if (!actual.equals(model.snapshotIds())) {
            throw failure("snapshots " + when + " are " + actual + ", the model has " + model.snapshotIds(), null);
        }
    }

    /** Every snapshot view reads exactly as when it was created. */
    private void checkSnapshots(String when) {
        checkSnapshotList(when);
        for (long id : model.snapshotIds()) {
            checkDevice(unit.snapshots().snapshot(id), model.snapshotView(id), "snapshot " + id + " " + when);
        }
    }

    /** Reads the working blocks of {@code device}: each must equal {@code expected} (null: the model's latest). */
    private void checkDevice(BlockDevice device, long[] expected, String what) {
        int blocks = config.workingBlocks();
        int perRead = config.maxIoBlocks();
        for (int lba = 0; lba < blocks; lba += perRead) {
            int n = Math.min(perRead, blocks - lba);
            device.read(lba, n, io, 0);
            for (int i = 0; i < n; i++) {
                long token = BlockPattern.tokenOf(io, i * BLOCK, BLOCK, lba + i);
                long wanted = expected == null ? model.latest(lba + i) : expected[lba + i];
                if (token != wanted) {
                    throw failure(what + ": lba " + (lba + i) + " holds " + describe(token) + ", expected "
                            + Long.toHexString(wanted), null);
                }
            }
            trace.mixBytes(io, 0, n * BLOCK);
        }
    }

    // ------------------------------------------------------------------ meters

    private void checkMeters() {
        String problem = meters.check();
        if (problem != null) {
            throw failure(problem, null);
        }
    }

    // ------------------------------------------------------------------ trace and failures

    private void finalCheck() {
        unit.host().flush();
        model.flushed();
        patrol();
        checkDevice(unit.host(), null, "live volume at the end");
        checkSnapshots("at the end");
        if (redundancyIntact()) {
            checkRedundancy("at the end");
        }
        inspect();
        checkMeters();
        observeState();
    }

    private void observeState() {
        RaidArray array = unit.array();
        trace.mixString(memberStates());
        trace.mixString(unit.firmware().running().sha256Hex());
        trace.mixLong(power.writeCount());
        for (SnapshotInfo info : unit.snapshots().listSnapshots()) {
            trace.mixLong(info.id());
            trace.mixLong(info.epoch());
        }
        IoMeter.Snapshot meter = array.meter().snapshot();
        for (IoCause cause : IoCause.values()) {
            trace.mixLong(meter.issuedWrite(cause).bytes());
        }
        trace.mixLong(unit.snapshots().meter().snapshot().issuedWriteTotal().bytes());
    }

    private String memberStates() {
        StringBuilder out = new StringBuilder();
        for (int role = 0; role < unit.array().raidDisks(); role++) {
            out.append(unit.array().memberState(role)).append(' ');
        }
        return out.toString().trim();
    }

    private void record(EventType type, String detail) {
        trace.record(new TraceEvent(step, clock.nowNanos(), type, detail));
    }

    private static String describe(long token) {
        return token == BlockPattern.GARBAGE ? "data of no version (torn, misplaced or corrupt)"
                : token == 0 ? "zeros" : "version " + Long.toHexString(token);
    }

    private SimulationFailure failure(String what, Throwable cause) {
        String message = "simulation seed " + seed + " failed at step " + step + " (" + clock + ", " + config.level()
                + " x" + config.diskCount() + "): " + what + "\nlast events:\n" + trace.tail(Integer.getInteger("scemu.sim.traceTail", 12))
                + "reproduce: " + SimulationFailure.reproductionCommand(seed);
        return new SimulationFailure(seed, message, cause);
    }

    /** Whether {@code t} or one of its causes says the power was lost. */
    private static boolean isPowerLoss(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if ((c instanceof CoreException e && e.code() == CoreError.POWER_LOST)
                    || (c instanceof FlashException f && f.code() == FlashError.POWER_LOST)) {
                return true;
            }
        }
        return false;
    }
}
