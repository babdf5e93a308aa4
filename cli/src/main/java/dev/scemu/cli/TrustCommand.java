package dev.scemu.cli;

import dev.scemu.flash.TrustedKeys;
import dev.scemu.unit.StorageControlUnit;
import dev.scemu.unit.TrustStore;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code scemu firmware trust list|add|remove}: the unit's trust store (see {@link TrustStore}). Key
 * rotation: add the new key, update to an image signed by it, remove the old key. Removing the last
 * key is refused; removing the key that signed the running image is refused unless {@code --force}
 * (the next boot would find no trusted image).
 */
@Command(name = "trust", mixinStandardHelpOptions = true, addMethodSubcommands = false, // CommandTree adds them
        description = {"List, add and remove the keys whose firmware images the unit boots and installs.",
                "Rotation: 'trust add' the new key, 'firmware update' to an image signed by it, 'trust remove' the old one."})
final class TrustCommand {

    @Spec
    CommandSpec spec;

    private PrintWriter out() {
        return spec.commandLine().getOut();
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the trusted keys of the unit in DIR.")
    int list(@Parameters(paramLabel = "DIR", description = "Directory of the unit.") Path dir) {
        try (StorageControlUnit unit = Units.open(dir)) {
            for (String line : StatusCommand.describeTrust(unit, dir)) {
                out().printf("trust      %s%n", line);
            }
        }
        return 0;
    }

    @Command(name = "add", mixinStandardHelpOptions = true,
            description = "Trust the Ed25519 public key in FILE.pub (PEM) from now on.")
    int add(@Parameters(index = "0", paramLabel = "DIR", description = "Directory of the unit.") Path dir,
            @Parameters(index = "1", paramLabel = "FILE.pub", description = "PEM public key.") Path keyFile) {
        var key = KeyFiles.readPublic(keyFile);
        try (StorageControlUnit unit = Units.open(dir)) {
            TrustStore.Entry added = unit.trustKey(key);
            out().printf("trusted key %s from %s; the unit trusts %d keys%n", added.fingerprint(), keyFile,
                    unit.trustStore().entries().size());
        }
        return 0;
    }

    @Command(name = "remove", mixinStandardHelpOptions = true,
            description = {"Stop trusting a key: images it signed are refused from now on (update, and the flash or"
                    + " backup image at the next boot).",
                    "Refused for the last key, and for the key of the running image unless --force."})
    int remove(@Parameters(index = "0", paramLabel = "DIR", description = "Directory of the unit.") Path dir,
               @Parameters(index = "1", paramLabel = "FINGERPRINT|FILE.pub",
                       description = "The key's fingerprint (or a unique prefix of at least 8 hex digits), or its PEM file.")
               String key,
               @Option(names = "--force", description = "Remove even the key that signed the running image (the next"
                       + " boot then refuses that image and finds nothing to boot unless the flash holds another"
                       + " trusted image).") boolean force) {
        String fingerprint = Files.isRegularFile(Path.of(key)) ? TrustedKeys.fingerprint(KeyFiles.readPublic(Path.of(key))) : key;
        try (StorageControlUnit unit = Units.open(dir)) {
            TrustStore.Entry removed = unit.distrustKey(fingerprint, force);
            List<TrustStore.Entry> left = unit.trustStore().entries();
            out().printf("removed %s; images it signed are refused from now on; %d key%s left%n", removed, left.size(),
                    left.size() == 1 ? "" : "s");
        }
        return 0;
    }
}
