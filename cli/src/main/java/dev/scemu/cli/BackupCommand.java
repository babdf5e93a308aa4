package dev.scemu.cli;

import dev.scemu.backup.BackupEngine;
import dev.scemu.backup.BackupError;
import dev.scemu.backup.BackupException;
import dev.scemu.backup.BackupOptions;
import dev.scemu.backup.BackupProgress;
import dev.scemu.backup.BackupResult;
import dev.scemu.backup.BackupSource;
import dev.scemu.backup.BackupTarget;
import dev.scemu.backup.CheckedBase;
import dev.scemu.backup.CheckedImage;
import dev.scemu.backup.ImageInfo;
import dev.scemu.backup.ImageKey;
import dev.scemu.backup.ProgressListener;
import dev.scemu.backup.RestoreOptions;
import dev.scemu.backup.RestoreResult;
import dev.scemu.core.PhaseTrace;
import dev.scemu.snapshot.SnapshotError;
import dev.scemu.snapshot.SnapshotException;
import dev.scemu.snapshot.SnapshotInfo;
import dev.scemu.unit.StorageControlUnit;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code scemu backup create|verify|restore|list|info}: whole-volume image backups into a
 * directory. The password comes from {@code --password-file} or the environment variable
 * {@code SCEMU_BACKUP_PASSWORD}, never from the command line.
 */
@Command(name = "backup", mixinStandardHelpOptions = true, addMethodSubcommands = false, // CommandTree adds them
        description = "Back up the volume (from a fresh snapshot) into a directory; verify and restore images.")
final class BackupCommand {

    static final String PASSWORD_ENV = "SCEMU_BACKUP_PASSWORD";

    /** The environment (a seam for tests). */
    static Function<String, String> environment = System::getenv;

    /** Wraps the backup directory's target (a seam for tests: a target whose writes fail). */
    static java.util.function.UnaryOperator<BackupTarget> targetDecorator = target -> target;

    /** Derives a new image's key (a seam for tests: a derivation that fails). */
    static Function<BackupOptions, ImageKey> keyDerivation = BackupEngine::deriveImageKey;

    @Spec
    CommandSpec spec;

    /** Options shared by every backup subcommand. */
    static final class TargetOptions {
        @Option(names = {"-t", "--target"}, required = true, paramLabel = "BACKUP_DIR",
                description = "Directory holding the backup images.")
        Path target;

        @Option(names = "--password-file", paramLabel = "FILE",
                description = "File whose first line is the password (else $" + PASSWORD_ENV + "; none: unencrypted).")
        Path passwordFile;

        char[] password() {
            if (passwordFile != null) {
                String text;
                try {
                    text = Files.readString(passwordFile);
                } catch (IOException e) {
                    throw new CliException("cannot read password file " + passwordFile + ": " + CliException.reason(e));
                }
                String line = text.lines().findFirst().orElse("");
                if (line.isEmpty()) {
                    throw new CliException("password file " + passwordFile + " is empty");
                }
                return line.toCharArray();
            }
            String fromEnv = environment.apply(PASSWORD_ENV);
            return fromEnv == null || fromEnv.isEmpty() ? null : fromEnv.toCharArray();
        }

        BackupTarget open(boolean create) {
            if (!Files.isDirectory(target)) {
                if (!create) {
                    throw new CliException("no such backup directory: " + target);
                }
                try {
                    Files.createDirectories(target);
                } catch (IOException e) {
                    throw new CliException("cannot create backup directory " + target + ": " + CliException.reason(e));
                }
            }
            return targetDecorator.apply(BackupTarget.directory(target));
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Back up the volume of the unit in DIR: takes a snapshot, stores the used blocks"
                    + " compressed (and encrypted with a password), deletes the snapshot.")
    int create(@Parameters(paramLabel = "DIR", description = "Directory of the unit.") Path dir,
               @picocli.CommandLine.Mixin TargetOptions targetOptions,
               @Option(names = "--image-id", paramLabel = "ID", description = "Id of the new image (default: backup-<time>-<8 random hex digits>).") String imageId,
               @Option(names = "--base", paramLabel = "ID",
                       description = "Incremental on this image (its snapshot must have been kept with --keep-snapshot).") String base,
               @Option(names = "--keep-snapshot", description = "Keep the backup's snapshot (a later incremental's base).") boolean keep,
               @Option(names = "--label", paramLabel = "TEXT", defaultValue = "", description = "Free text stored in the image.") String label,
               @Option(names = "--zstd-level", paramLabel = "N", defaultValue = "3",
                       description = "zstd level 0..22 (default: ${DEFAULT-VALUE}).") int level) {
        PrintWriter out = spec.commandLine().getOut();
        UsageException.checkRange("--zstd-level", level, 0, 22);
        char[] password = targetOptions.password();
        String id = imageId != null ? imageId : defaultImageId();
        BackupOptions options = BackupOptions.defaults().withImageId(id).withBase(base)
                .withPassword(password).withUserLabel(label).withCompressionLevel(level);
        // Ordering: the new image's key derivation (Argon2id, its parameters unchanged), the engine's native libraries
        // and, for an incremental, the base's open and check (its own Argon2id, MACs; on a target of its own) run on
        // another thread while this one opens the unit; they are awaited before the snapshot is taken, so a failed
        // derivation or a refused base leaves no snapshot. The key is wiped when the command ends.
        try (Background<Prepared> prepared = Background.start("scemu-backup-key", () -> prepare(targetOptions, options));
             UnitSession session = Units.session(dir); BackupTarget target = targetOptions.open(true)) {
            StorageControlUnit unit = session.unit();
            // a half-restored volume is part old, part restored: an image of it would carry no trace of that (a
            // restore of it leaves no mark), so it is refused before the snapshot is taken, like a refused base
            java.util.Optional<String> incomplete = unit.snapshots().restoreIncomplete();
            if (incomplete.isPresent()) {
                throw new CliException(dev.scemu.core.ErrorCategory.INVALID_STATE, "the volume of " + dir
                        + " is marked restore incomplete (" + incomplete.get() + "): it reads part old, part restored;"
                        + " finish the restore ('scemu backup restore') or keep it as it is ('scemu backup"
                        + " clear-incomplete') before backing it up");
            }
            String volumeId = unit.identity().volumeId().toString(); // random per unit: a base of another unit is BASE_MISMATCH
            if (target.exists(id)) {
                // the library's IMAGE_EXISTS: a script sees one line and status whichever side finds it
                throw new BackupException(BackupError.IMAGE_EXISTS, "an image " + id + " already exists in "
                        + targetOptions.target);
            }
            checkSnapshotNameFree(unit, dir, id);
            Prepared ready;
            try (PhaseTrace.Span span = PhaseTrace.begin("cli: wait for the key derivation and the base check")) {
                ready = prepared.get();
            }
            if (base != null) { // refused before the snapshot is taken: a refused base changes nothing on the unit
                ready.base().checkVolume(volumeId, unit.host().geometry());
                ImageInfo baseInfo = ready.base().info();
                if (SnapshotBackupSource.snapshotOf(unit.snapshots(), baseInfo.snapshotToken()) == null) {
                    throw new BackupException(BackupError.BASE_MISMATCH, // as the library finds a base of another volume
                            "base image " + base + " was made from snapshot " + baseInfo.snapshotToken()
                            + ", which the volume no longer has (keep the snapshot of a base with --keep-snapshot):"
                            + " make a full backup instead");
                }
            }
            // temporary until the image is committed: an interrupted backup's snapshot is removed at the next open
            SnapshotInfo snapshot;
            try (PhaseTrace.Span span = PhaseTrace.begin("cli: temporary snapshot")) {
                snapshot = unit.snapshots().createTemporarySnapshot(snapshotName(id));
            }
            BackupSource source = SnapshotBackupSource.of(unit.snapshots(), volumeId, snapshot, keep);
            BackupResult result;
            try (Progress progress = new Progress(spec.commandLine().getErr(), "backup",
                    unit.host().geometry().capacityBytes())) {
                try (PhaseTrace.Span span = PhaseTrace.begin("cli: backup engine")) {
                    BackupOptions withProgress = options.withProgress(listener(progress));
                    result = BackupEngine.backup(source, target, withProgress, ready.key(), ready.base());
                } catch (RuntimeException e) {
                    // the engine keeps a failed backup's partial image for resumeBackup, which needs its
                    // snapshot; this command deletes that temporary snapshot, so the partial image could never
                    // be finished and would only hold the target's space (a full target, say)
                    try {
                        BackupEngine.discardPartial(target, id);
                    } catch (RuntimeException discarding) {
                        e.addSuppressed(discarding);
                    }
                    throw e;
                }
            } finally {
                clear(password);
            }
            if (keep) {
                unit.snapshots().makePermanent(snapshot.id());
                session.snapshotCreated(snapshot); // live: exported at once like any kept snapshot
            }
            ImageInfo info = result.info();
            out.printf("backup %s: %s%s of %s stored in %s (%s image, %s), snapshot %d %s%n", info.imageId(),
                    Sizes.format(info.storedBlockCount() * info.blockSize()),
                    info.isIncremental() ? " changed since " + info.baseImageId() : "",
                    Sizes.format(info.blockCount() * info.blockSize()), targetOptions.target,
                    Sizes.format(info.imageBytes()), info.encrypted() ? "encrypted" : "not encrypted",
                    snapshot.id(), keep ? "kept" : "deleted");
        }
        return 0;
    }

    /**
     * The backup's snapshot is named {@code backup <id>} ({@link #snapshotName}); a snapshot of that
     * name (an earlier backup under the same id kept it with {@code --keep-snapshot}, into another
     * backup directory, or a user named one so) would make the snapshot layer refuse it with a
     * message about snapshot names only. Refused here, before the snapshot is taken, saying what
     * conflicts and the two ways out; the snapshot layer's code and status ({@code DUPLICATE_NAME},
     * {@code INVALID_ARGUMENT}: 10, as an image id that exists).
     */
    private static void checkSnapshotNameFree(StorageControlUnit unit, Path dir, String id) {
        String name = snapshotName(id);
        for (SnapshotInfo info : unit.snapshots().listSnapshots()) {
            if (info.name().equals(name)) {
                throw new SnapshotException(SnapshotError.DUPLICATE_NAME, "image id " + id + " conflicts with snapshot "
                        + info.id() + " '" + name + "' (created " + info.createdAt() + "): a backup names its snapshot"
                        + " 'backup <image id>', and that name is taken (an earlier backup " + id + " kept its snapshot"
                        + " with --keep-snapshot, or it was named so by hand); choose another --image-id, or delete"
                        + " snapshot " + info.id() + " ('scemu snapshot delete " + dir + " --id " + info.id() + "') if no"
                        + " incremental backup needs it as its base");
            }
        }
    }

    /** The name of the snapshot a backup of image {@code id} reads (kept under it with {@code --keep-snapshot}). */
    static String snapshotName(String id) {
        return "backup " + id;
    }

    /**
     * What {@code backup create} prepares beside the unit open: the new image's key (null without a
     * password) and, for an incremental, its checked base (null for a full backup). Closing wipes the key.
     */
    record Prepared(ImageKey key, CheckedBase base) implements AutoCloseable {
        @Override
        public void close() {
            if (key != null) {
                key.close();
            }
        }
    }

    /**
     * The engine's native libraries, the new image's key, then the base's check on a target of its own
     * (opened as the command's own target is, creating the directory, so that a missing directory gives
     * the same IMAGE_NOT_FOUND whichever thread gets there first), the key wiped if the check fails.
     */
    private static Prepared prepare(TargetOptions targetOptions, BackupOptions options) {
        BackupEngine.warmUp();
        ImageKey key = options.password() == null ? null : keyDerivation.apply(options);
        if (options.baseImageId() == null) {
            return new Prepared(key, null);
        }
        try (BackupTarget target = targetOptions.open(true)) {
            return new Prepared(key, BackupEngine.checkBase(target, options));
        } catch (RuntimeException | Error e) {
            if (key != null) {
                key.close();
            }
            throw e;
        }
    }

    /** A readable default image id that two backups never share: the time and 32 random bits. */
    private static String defaultImageId() {
        return "backup-" + Instant.now().toString().replace(':', '-') + "-"
                + String.format("%08x", new java.security.SecureRandom().nextInt());
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = "Check every record, hash and tag of an image (and its bases); writes nothing.")
    int verify(@picocli.CommandLine.Mixin TargetOptions targetOptions,
               @Parameters(paramLabel = "IMAGE_ID", description = "Image id.") String imageId) {
        char[] password = targetOptions.password();
        try (BackupTarget target = targetOptions.open(false)) {
            RestoreResult result;
            // the total comes with the first progress report: one key derivation per image, not two
            try (Progress progress = new Progress(spec.commandLine().getErr(), "verify", 0)) {
                result = BackupEngine.verify(target, imageId, password, listener(progress));
            } finally {
                clear(password);
            }
            // the image's own zero blocks, as 'backup info' counts them (a verify handles no zero run: its
            // result's zeroBlocks is 0)
            ImageInfo top = result.chain().get(result.chain().size() - 1);
            spec.commandLine().getOut().printf("image %s is intact: %d image(s) in the chain, %s of data, %d zero blocks%n",
                    imageId, result.chain().size(), Sizes.format(result.dataBytes()), top.zeroBlockCount());
        }
        return 0;
    }

    @Command(name = "restore", mixinStandardHelpOptions = true,
            description = "Restore an image onto the volume of the unit in DIR (verified before the first write). The volume"
                    + " is marked restore incomplete until the last block is durable; run it again after an interruption.")
    int restore(@Parameters(index = "0", paramLabel = "DIR", description = "Directory of the unit.") Path dir,
                @Parameters(index = "1", paramLabel = "IMAGE_ID", description = "Image id.") String imageId,
                @picocli.CommandLine.Mixin TargetOptions targetOptions) {
        char[] password = targetOptions.password();
        PrintWriter err = spec.commandLine().getErr();
        // Ordering: the image chain is opened and checked (key derivation, MACs, the integrity pass over every chunk)
        // on another thread while this one opens the unit read-write, which writes nothing until the first change
        // (read-auto); the restore's first write or trim comes after both (RestoreDestination), so a refused image
        // changes no byte.
        // The total comes with the first progress report: the restore opens (and derives the key of) each image once.
        try (BackupTarget target = targetOptions.open(false);
             Progress progress = new Progress(err, "restore", 0)) {
            RestoreOptions options = RestoreOptions.defaults().withProgress(listener(progress));
            RestoreResult result;
            try (Background<CheckedImage> checked = Background.start("scemu-restore-check",
                         () -> BackupEngine.checkForRestore(target, imageId, password, options));
                 RestoreDestination destination = RestoreDestination.open(dir, "image " + imageId, imageId, err)) {
                CheckedImage image;
                try (PhaseTrace.Span span = PhaseTrace.begin("cli: wait for the image check")) {
                    image = checked.get();
                }
                // refused before the first write when the snapshot store cannot hold the copies the overwrites need
                destination.requireRoomFor(image, options.zeroPolicy(), "restore of image " + imageId + " onto " + dir);
                // Ordering: the mark is durable before the first restored block; cleared after the final flush
                try (PhaseTrace.Span span = PhaseTrace.begin("cli: restore engine")) {
                    result = BackupEngine.restore(image, destination, options);
                } catch (dev.scemu.core.ScemuException e) {
                    if (!destination.isMarked()) {
                        throw e; // refused before its first write: nothing changed
                    }
                    // the error is about one write ("nothing was written" of a full store); the restore wrote others
                    throw new CliException("restore of " + imageId + " onto " + dir + " stopped after it began writing: "
                            + e.getMessage() + "; the volume stays marked restore incomplete (part old, part restored,"
                            + " exported read-only by 'scemu serve'): "
                            + (e.category() == dev.scemu.core.ErrorCategory.NO_SPACE
                            ? "free the snapshot store ('scemu snapshot delete') and " : "")
                            + "run 'scemu backup restore' again, or keep it as it is with 'scemu backup clear-incomplete'",
                            e);
                }
                try (PhaseTrace.Span span = PhaseTrace.begin("cli: flush, clear the restore-incomplete mark")) {
                    destination.finish();
                }
            }
            spec.commandLine().getOut().printf("restored %s onto %s: %s of data, %d zero blocks%n", imageId, dir,
                    Sizes.format(result.dataBytes()), result.zeroBlocks());
        } finally {
            clear(password); // after the check's thread ended (Background.close waits for it)
        }
        return 0;
    }

    @Command(name = "clear-incomplete", mixinStandardHelpOptions = true,
            description = "Clear the restore-incomplete mark an interrupted restore left, keeping the volume's"
                    + " partly restored contents (to finish the restore instead, run 'backup restore' again).")
    int clearIncomplete(@Parameters(paramLabel = "DIR", description = "Directory of the unit.") Path dir) {
        try (StorageControlUnit unit = Units.open(dir)) {
            java.util.Optional<String> mark = unit.snapshots().restoreIncomplete();
            if (mark.isEmpty()) {
                throw new CliException("the volume of " + dir + " is not marked restore incomplete");
            }
            unit.snapshots().clearRestoreIncomplete();
            spec.commandLine().getOut().printf("cleared the restore-incomplete mark (%s) of %s; the volume keeps its partly"
                    + " restored contents%n", mark.get(), dir);
        }
        return 0;
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the images in the backup directory.")
    int list(@picocli.CommandLine.Mixin TargetOptions targetOptions) {
        char[] password = targetOptions.password();
        try (BackupTarget target = targetOptions.open(false)) {
            for (String id : target.list()) {
                spec.commandLine().getOut().println(id);
            }
        } finally {
            clear(password);
        }
        return 0;
    }

    @Command(name = "info", mixinStandardHelpOptions = true, description = "Print an image's header and trailer.")
    int info(@picocli.CommandLine.Mixin TargetOptions targetOptions,
             @Parameters(paramLabel = "IMAGE_ID", description = "Image id.") String imageId) {
        char[] password = targetOptions.password();
        try (BackupTarget target = targetOptions.open(false)) {
            ImageInfo info = BackupEngine.info(target, imageId, password);
            PrintWriter out = spec.commandLine().getOut();
            out.printf("image      %s (format %d, scemu %s)%n", info.imageId(), info.formatVersion(), info.scemuVersion());
            out.printf("created    %s%n", info.created());
            out.printf("source     volume %s, %s, %d blocks of %d B%n", info.sourceVolumeId(), info.snapshotToken(),
                    info.blockCount(), info.blockSize());
            out.printf("stored     %d blocks in %d chunks, %d zero blocks, image %s%n", info.storedBlockCount(),
                    info.chunkCount(), info.zeroBlockCount(), Sizes.format(info.imageBytes()));
            out.printf("base       %s%n", info.isIncremental() ? info.baseImageId() : "none (full)");
            out.printf("encrypted  %s%n", info.encrypted());
            out.printf("label      %s%n", info.userLabel());
        } finally {
            clear(password);
        }
        return 0;
    }

    private static ProgressListener listener(Progress progress) {
        return (BackupProgress p) -> progress.update(p.bytesDone(), p.bytesTotal());
    }

    private static void clear(char[] password) {
        if (password != null) {
            Arrays.fill(password, '\0');
        }
    }
}
