package dev.scemu.cli;

import dev.scemu.core.MediaKind;
import dev.scemu.raid.RaidLevel;
import dev.scemu.unit.StorageControlUnit;
import dev.scemu.unit.TrustStore;
import dev.scemu.unit.UnitConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code scemu create DIR}: provisions a new control unit whose images live in DIR. All or nothing:
 * the unit is built in a staging directory and moved into DIR at the end, so a failed create leaves
 * no file behind. The trust root is the vendor's public key ({@code --vendor-key}, with the initial
 * image it signed), or else a key pair generated now whose private key stays in DIR (mode 0600).
 */
@Command(name = "create", mixinStandardHelpOptions = true,
        description = {"Create a control unit (RAID array, GPT, firmware, snapshot volume) in DIR.",
                "DIR must not exist or be empty; a failed create leaves nothing behind.",
                "Trust root: --vendor-key (with --firmware, an image signed by that key), or a test key pair"
                        + " generated now (private key in DIR/" + TrustStore.TEST_KEY_FILE + ", mode 0600)."})
final class CreateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "DIR", description = "Directory for the disk, NVRAM and configuration files.")
    Path dir;

    @Option(names = "--level", description = "RAID level: 0, 1 or 5 (default: ${DEFAULT-VALUE}).")
    int level = 5;

    @Option(names = "--disks", description = "Number of member disks, 1..64 (default: ${DEFAULT-VALUE}).")
    int disks = 4;

    @Option(names = "--disk-size", converter = Sizes.class, paramLabel = "SIZE",
            description = "Size of each disk, e.g. 16M, 1G (default: 64M).")
    long diskSize = 64L << 20;

    @Option(names = "--chunk", converter = Sizes.class, paramLabel = "SIZE",
            description = "RAID chunk size, e.g. 64K, 512K (default: 64K).")
    long chunk = 64L << 10;

    @Option(names = "--snapshot-store", converter = Sizes.class, paramLabel = "SIZE",
            description = "Size of the snapshot-store partition, e.g. 256M (default: a quarter of the array's capacity)."
                    + " Copies of overwritten blocks live there: a snapshot can keep as much changed data as it holds.")
    Long snapshotStore;

    @Option(names = "--backend", paramLabel = "KIND",
            description = "Disk backend: mapped, file or memory (default: ${DEFAULT-VALUE}).")
    String backend = "mapped";

    @Option(names = "--seed", paramLabel = "SEED",
            description = "Simulation mode: derive the md array UUID, the GPT GUIDs, fault injection and the test"
                    + " signing key from SEED, so the unit is reproducible (and its key is not secret)."
                    + " Default: all random.")
    Long seed;

    @Option(names = "--vendor-key", paramLabel = "FILE.pub",
            description = "The vendor's Ed25519 public key (PEM): the unit trusts it (and only it) for firmware."
                    + " Needs --firmware.")
    Path vendorKey;

    @Option(names = "--firmware", paramLabel = "IMAGE",
            description = "The initial firmware image, signed by the --vendor-key (default: the built-in firmware,"
                    + " signed by a test key generated now).")
    Path firmware;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        RaidLevel raidLevel = switch (level) {
            case 0 -> RaidLevel.RAID0;
            case 1 -> RaidLevel.RAID1;
            case 5 -> RaidLevel.RAID5;
            default -> throw new UsageException("RAID level " + level + " is not supported (use 0, 1 or 5)");
        };
        MediaKind media = switch (backend.toLowerCase(Locale.ROOT)) {
            case "mapped" -> MediaKind.MAPPED;
            case "file" -> MediaKind.FILE;
            case "memory" -> throw new UsageException("the memory backend keeps nothing on disk, so " + dir
                    + " could not be reopened; use --backend mapped or file");
            default -> throw new UsageException("unknown backend '" + backend + "' (use mapped or file)");
        };
        UsageException.checkRange("--disks", disks, 1, 64);
        if (chunk > Integer.MAX_VALUE || Long.bitCount(chunk) != 1 || chunk < 4096) {
            throw new UsageException("chunk size " + chunk + " bytes must be a power of two of at least 4K");
        }
        if (diskSize % 4096 != 0) {
            throw new UsageException("disk size " + diskSize + " bytes is not a multiple of 4096");
        }
        if (Files.exists(dir.resolve("unit.properties"))) {
            throw new CliException("a unit already exists in " + dir);
        }
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new CliException(dir + " exists and is not a directory");
        }
        if (vendorKey == null && firmware != null) {
            throw new UsageException("--firmware needs --vendor-key: the public key the image is signed with");
        }
        if (vendorKey != null && firmware == null) {
            throw new UsageException("--vendor-key needs --firmware: an initial image signed by that key (the built-in"
                    + " firmware is signed by a test key; build one with 'scemu firmware build --key VENDOR.pem')");
        }
        UnitConfig.Builder builder = UnitConfig.builder().directory(dir).media(media).level(raidLevel)
                .disks(disks, diskSize).chunkBytes((int) chunk);
        if (seed != null) {
            builder.seed(seed);
        }
        if (snapshotStore != null) {
            builder.snapshotStoreBytes(snapshotStore);
        }
        UnitConfig config = builder.build();
        long usableBytes = media == MediaKind.MEMORY ? Long.MAX_VALUE : usableSpace(dir);
        try (StorageControlUnit unit = vendorKey == null ? StorageControlUnit.create(config)
                : StorageControlUnit.create(config, readImage(firmware), KeyFiles.readPublic(vendorKey))) {
            out.printf("created unit in %s: %s of %d x %s disks (%s), chunk %s, volume %s, firmware %s%n", dir,
                    raidLevel, disks, Sizes.format(diskSize), media.name().toLowerCase(Locale.ROOT),
                    Sizes.format(chunk), Sizes.format(unit.host().geometry().capacityBytes()),
                    unit.firmware().running().version());
            out.printf("identity   %s%n", StatusCommand.describeIdentity(unit));
            for (String line : StatusCommand.describeTrust(unit, dir)) {
                out.printf("trust      %s%n", line);
            }
        }
        String warning = spaceWarning((long) disks * diskSize, usableBytes, dir);
        if (warning != null) {
            out.println(warning);
        }
        return 0;
    }

    /**
     * The line {@code create} prints when the member images, sparse files that grow as blocks are
     * first written, could outgrow the file system that holds them: then a write a member cannot
     * take fails that member (as md fails a loop device whose file system is full), and the array
     * degrades. Null when {@code provisionedBytes} fit in {@code usableBytes}.
     */
    static String spaceWarning(long provisionedBytes, long usableBytes, Path dir) {
        if (provisionedBytes <= usableBytes) {
            return null;
        }
        return "space      the disk images are sparse: " + Sizes.format(provisionedBytes) + " provisioned, "
                + Sizes.format(usableBytes) + " free on the file system of " + dir + "; once it is full, a disk whose"
                + " image cannot grow fails (as md fails a loop device on a full file system) and the array degrades";
    }

    /** Free bytes this user may use on the file system that holds {@code dir} (or its nearest existing parent). */
    private static long usableSpace(Path dir) {
        Path existing = dir.toAbsolutePath();
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        try {
            return existing == null ? Long.MAX_VALUE : Files.getFileStore(existing).getUsableSpace();
        } catch (IOException e) {
            return Long.MAX_VALUE; // unknown: no warning rather than a wrong one
        }
    }

    private static byte[] readImage(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new CliException("cannot read firmware image " + file + ": " + CliException.reason(e));
        }
    }
}
