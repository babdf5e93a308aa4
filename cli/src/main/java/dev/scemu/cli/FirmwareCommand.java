package dev.scemu.cli;

import dev.scemu.flash.CompatibilityReport;
import dev.scemu.flash.FirmwareImage;
import dev.scemu.flash.FlashError;
import dev.scemu.flash.FlashException;
import dev.scemu.flash.InspectionReport;
import dev.scemu.flash.TrustedKeys;
import dev.scemu.flash.UpdateOptions;
import dev.scemu.flash.UpdateReport;
import dev.scemu.unit.StorageControlUnit;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code scemu firmware build|inspect|update|corrupt|export-key|keygen|trust}. */
@Command(name = "firmware", mixinStandardHelpOptions = true,
        description = "Build, inspect and update firmware images; corrupt the flash to watch the boot recover it;"
                + " manage the keys the unit trusts.",
        addMethodSubcommands = false) // CommandTree adds them, and 'trust' before them
final class FirmwareCommand {

    /** Capabilities of the embedded default firmware (an update must not lose any). */
    static final String[] DEFAULT_CAPABILITIES = {"raid0", "raid1", "raid5", "snapshots", "backup", "nbd"};

    @Spec
    CommandSpec spec;

    private PrintWriter out() {
        return spec.commandLine().getOut();
    }

    @Command(name = "build", mixinStandardHelpOptions = true,
            description = "Build and sign a firmware image from a body file and an Ed25519 private key (PEM).")
    int build(@Option(names = "--body", required = true, paramLabel = "FILE", description = "The image body (\"OS + apps\").") Path body,
              @Option(names = "--key", required = true, paramLabel = "FILE",
                      description = "PEM PKCS#8 Ed25519 private key (see 'firmware export-key' and 'firmware keygen').") Path key,
              @Option(names = "--image-version", required = true, paramLabel = "VERSION", description = "Image version, e.g. 1.1.0.") String version,
              @Option(names = {"-o", "--out"}, required = true, paramLabel = "FILE", description = "Where to write the image.") Path output,
              @Option(names = "--capability", paramLabel = "NAME",
                      description = "A capability (repeatable; default: the default firmware's).") List<String> capabilities,
              @Option(names = "--data-format", paramLabel = "NAME=VERSION",
                      description = "A persistent data format version (repeatable; default: mapping-table=1, raid-superblock=1).")
              List<String> dataFormats,
              @Option(names = "--load-address", paramLabel = "ADDR", defaultValue = "0x80000000",
                      description = "Load address (default: ${DEFAULT-VALUE}).") String loadAddress) {
        byte[] bodyBytes = readFile(body, "body");
        PrivateKey privateKey = KeyFiles.readPrivate(key);
        FirmwareImage.Builder builder = FirmwareImage.builder().version(version).body(bodyBytes)
                .loadAddress((int) parseLong("--load-address", loadAddress, 0xFFFF_FFFFL));
        builder.capabilities(capabilities == null || capabilities.isEmpty() ? DEFAULT_CAPABILITIES
                : capabilities.toArray(String[]::new));
        List<String> formats = dataFormats == null || dataFormats.isEmpty()
                ? List.of("mapping-table=1", "raid-superblock=1") : dataFormats;
        for (String format : formats) {
            int eq = format.indexOf('=');
            if (eq <= 0) {
                throw new UsageException("--data-format '" + format + "' is not NAME=VERSION");
            }
            builder.dataFormat(format.substring(0, eq), (int) parseLong("--data-format " + format, format.substring(eq + 1),
                    0xFFFF));
        }
        byte[] image = builder.sign(privateKey).build();
        try {
            Files.write(output, image);
        } catch (IOException e) {
            throw new CliException("cannot write " + output + ": " + e.getMessage());
        }
        FirmwareImage parsed = FirmwareImage.parse(image);
        out().printf("built %s: version %s, %d bytes, sha256 %s%n", output, parsed.version(), image.length,
                parsed.sha256Hex());
        return 0;
    }

    @Command(name = "inspect", mixinStandardHelpOptions = true,
            description = "Print the report of an image file, or inspect the flash and backup copies of the unit in DIR.")
    int inspect(@Parameters(paramLabel = "DIR|IMAGE", description = "A unit directory or an image file.") Path target,
                @Option(names = "--trusted-key", paramLabel = "FILE",
                        description = "Check an image file's signature against this PEM public key.") Path trustedKey) {
        PrintWriter out = out();
        if (Files.isDirectory(target)) {
            try (UnitSession session = Units.session(target)) {
                StorageControlUnit unit = session.unit();
                InspectionReport report = unit.firmware().inspect();
                out.printf("flash      %s%n", report.flash());
                out.printf("backup     %s%n", report.backup());
                out.printf("running    %s%n", report.running() == null ? "none" : report.running().version());
                for (var event : report.events()) {
                    out.printf("  %s%n", event);
                }
                if (report.running() != null) {
                    out.print(report.running().inspect());
                    if (!report.running().inspect().endsWith("\n")) {
                        out.println();
                    }
                }
            }
        } else {
            if (!Files.exists(target)) {
                throw new CliException("no such unit directory or image file: " + target);
            }
            byte[] bytes = readFile(target, "image");
            FirmwareImage image = trustedKey == null ? FirmwareImage.parse(bytes)
                    : FirmwareImage.parse(bytes, TrustedKeys.of(KeyFiles.readPublic(trustedKey)));
            String report = image.inspect();
            out.print(report);
            if (!report.endsWith("\n")) {
                out.println();
            }
            if (trustedKey != null) {
                out.printf("signature  %s%n", image.isSignatureVerified() ? "verified" : "NOT verified");
            }
        }
        return 0;
    }

    @Command(name = "update", mixinStandardHelpOptions = true,
            description = "Stage IMAGE and update the unit's firmware (host I/O pauses only for the switch).")
    int update(@Parameters(paramLabel = "DIR", description = "Directory of the unit.") Path dir,
               @Parameters(paramLabel = "IMAGE", description = "A signed image file.") Path imageFile,
               @Option(names = "--allow-downgrade", description = "Accept a lower version.") boolean allowDowngrade,
               @Option(names = "--allow-missing-capabilities",
                       description = "Accept an image lacking capabilities of the running one.") boolean allowMissing) {
        byte[] bytes = readFile(imageFile, "image");
        PrintWriter out = out();
        UpdateOptions options = new UpdateOptions(allowDowngrade, allowMissing);
        try (UnitSession session = Units.session(dir)) {
            StorageControlUnit unit = session.unit();
            // Ordering: verified and compared with the running image before it is staged, so an image the update
            // refuses (bad signature, downgrade, missing capabilities) or the running image itself is never written
            FirmwareImage candidate;
            try {
                candidate = unit.firmware().verify(bytes);
            } catch (FlashException e) {
                if (e.code() == FlashError.UNKNOWN_KEY) {
                    throw new CliException("refused " + imageFile + ": " + e.getMessage()
                            + "; to trust its key: 'scemu firmware trust add " + dir + " KEY.pub'", e); // UNTRUSTED's status
                }
                throw e;
            }
            FirmwareImage running = unit.firmware().running();
            if (candidate.sameImageAs(running)) {
                out.printf("update     ALREADY_RUNNING: %s -> %s%n", running.version(), candidate.version());
                out.printf("running    %s%n", running.version());
                return 0;
            }
            CompatibilityReport compatibility = unit.firmware().checkCompatibility(candidate, options);
            if (!compatibility.isCompatible()) {
                throw new CliException("firmware update " + compatibility.running() + " -> " + compatibility.candidate()
                        + " refused, nothing staged: " + String.join("; ", compatibility.problems()));
            }
            FirmwareImage staged = unit.firmware().stage(bytes);
            out.printf("staged     %s (sha256 %s...)%n", staged.version(), staged.sha256Hex().substring(0, 16));
            UpdateReport report = unit.firmware().update(options);
            out.printf("update     %s: %s -> %s%n", report.outcome(), report.from(), report.to());
            if (!report.migrations().isEmpty()) {
                out.printf("migrations %s%n", String.join(", ", report.migrations()));
            }
            out.printf("switch     host I/O paused %d us (old image's requests drained %d us, not held)%n",
                    report.switchPauseNanos() / 1000, report.drainNanos() / 1000);
            out.printf("flash      %s erased + programmed%n", Sizes.format(report.flashBytesWritten()));
            out.printf("detail     %s%n", report.detail());
            out.printf("running    %s%n", unit.firmware().running().version());
            return switch (report.outcome()) {
                case UPDATED, ALREADY_RUNNING -> 0;
                default -> {
                    spec.commandLine().getErr().println("scemu: firmware update " + report.outcome().name().toLowerCase()
                            + ": " + report.detail());
                    yield 1;
                }
            };
        }
    }

    @Command(name = "corrupt", mixinStandardHelpOptions = true,
            description = "Clear bits of the firmware image in the flash; the next boot detects it and restores"
                    + " the image from the backup partition.")
    int corrupt(@Parameters(paramLabel = "DIR", description = "Directory of the unit.") Path dir,
                @Option(names = "--offset", converter = Sizes.class, paramLabel = "BYTES", defaultValue = "70000",
                        description = "Flash offset of the damage (default: ${DEFAULT-VALUE}, inside the image body).") long offset,
                @Option(names = "--length", converter = Sizes.class, paramLabel = "BYTES", defaultValue = "64",
                        description = "Bytes to clear (default: ${DEFAULT-VALUE}).") long length) {
        try (StorageControlUnit unit = Units.open(dir)) {
            long imageLength = unit.firmware().running().length();
            if (offset > imageLength || length > imageLength - offset) { // (no overflow of offset + length)
                throw new UsageException("--offset " + offset + " --length " + length + ": the range is outside the flash"
                        + " image of " + imageLength + " bytes");
            }
            unit.flash().program(offset, new byte[(int) length]);
            out().printf("cleared %d bytes of the flash image at offset %d: %s%n", length, offset,
                    unit.firmware().checkFlash());
            out().println("the next boot (any command on " + dir + ") detects the damage and restores the image"
                    + " from the backup partition");
        }
        return 0;
    }

    @Command(name = "export-key", mixinStandardHelpOptions = true,
            description = "Write the unit's test signing key (generated at create, or derived from the seed of a"
                    + " simulation) as a PEM file, to sign test images; a unit created with --vendor-key has none.")
    int exportKey(@Parameters(paramLabel = "DIR", description = "Directory of the unit.") Path dir,
                  @Option(names = {"-o", "--out"}, required = true, paramLabel = "FILE", description = "Private key file.") Path output) {
        KeyPair pair;
        try (StorageControlUnit unit = Units.open(dir)) {
            pair = unit.testSigningKey().orElseThrow(() -> new CliException("the unit in " + dir
                    + " has no test signing key: it trusts " + unit.trustStore().entries()
                    + " and the vendor holds the private key"));
        }
        KeyFiles.writePrivate(output, pair.getPrivate());
        KeyFiles.writePublic(Path.of(output + ".pub"), pair.getPublic());
        out().printf("wrote the test signing key to %s (public key %s.pub), fingerprint %s%n", output, output,
                TrustedKeys.fingerprint(pair.getPublic()));
        return 0;
    }

    @Command(name = "keygen", mixinStandardHelpOptions = true,
            description = "Generate a new Ed25519 key pair (FILE and FILE.pub); units trust only their vendor key.")
    int keygen(@Option(names = {"-o", "--out"}, required = true, paramLabel = "FILE", description = "Private key file.") Path output) {
        KeyPair pair = TrustedKeys.generateEd25519(new SecureRandom());
        KeyFiles.writePrivate(output, pair.getPrivate());
        KeyFiles.writePublic(Path.of(output + ".pub"), pair.getPublic());
        out().printf("wrote %s and %s.pub%n", output, output);
        return 0;
    }

    private static byte[] readFile(Path file, String what) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new CliException("cannot read " + what + " file " + file + ": " + CliException.reason(e));
        }
    }

    /** {@code text} (decimal or 0x hex) as a number in {@code 0..max}, else a usage error naming {@code option}. */
    private static long parseLong(String option, String text, long max) {
        long value;
        try {
            String t = text.trim().toLowerCase(java.util.Locale.ROOT);
            value = t.startsWith("0x") ? Long.parseUnsignedLong(t.substring(2), 16) : Long.parseLong(t);
        } catch (NumberFormatException e) {
            throw new UsageException(option + ": '" + text + "' is not a number");
        }
        if (value < 0 || value > max) {
            throw new UsageException(option + ": " + text + " is not in 0.." + (max >= 0x10000 ? "0x" + Long.toHexString(max) : max));
        }
        return value;
    }
}
