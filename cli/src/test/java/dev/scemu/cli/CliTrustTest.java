package dev.scemu.cli;

import static dev.scemu.cli.CliTestSupport.createSmallUnit;
import static dev.scemu.cli.CliTestSupport.scemu;
import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.flash.TrustedKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Trust roots through the command line: vendor key or generated test key, status, rotation, refusals. */
class CliTrustTest {

    @TempDir
    Path tmp;

    private Path body() throws Exception {
        Path body = tmp.resolve("body.bin");
        if (!Files.exists(body)) {
            byte[] bytes = new byte[64 << 10];
            new Random(5).nextBytes(bytes);
            Files.write(body, bytes);
        }
        return body;
    }

    private Path image(Path key, String version) throws Exception {
        Path image = tmp.resolve("fw-" + version + "-" + key.getFileName() + ".img");
        scemu("firmware", "build", "--body", body(), "--key", key, "--image-version", version, "-o", image).ok();
        return image;
    }

    private Path keygen(String name) {
        Path key = tmp.resolve(name + ".pem");
        scemu("firmware", "keygen", "-o", key).ok();
        return key;
    }

    private static String fingerprint(Path publicKey) {
        return TrustedKeys.fingerprint(KeyFiles.readPublic(publicKey));
    }

    private static String testKeyFingerprint(String status) {
        Matcher matcher = Pattern.compile("test key generated at create \\([^)]*\\), fingerprint ([0-9a-f]{64})").matcher(status);
        assertThat(matcher.find()).as("test key line in:%n%s", status).isTrue();
        return matcher.group(1);
    }

    @Test
    void withoutAVendorKeyStatusNamesTheGeneratedTestKeyWhosePrivateHalfIsOwnerOnly() throws Exception {
        Path dir = tmp.resolve("unit");
        String created = createSmallUnit(dir).out();
        Path privateKey = dir.resolve("test-signing-key.pem");
        assertThat(created).contains("trust      test key generated at create (" + privateKey + ")");
        assertThat(Files.getPosixFilePermissions(privateKey)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        String status = scemu("status", dir).ok().out();
        assertThat(status).contains("trust      test key generated at create (" + privateKey + "), fingerprint")
                .contains("(signed the running image)").doesNotContain("simulation");

        Path exported = tmp.resolve("exported.pem");
        scemu("firmware", "export-key", dir, "-o", exported).ok();
        assertThat(Files.getPosixFilePermissions(exported)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        assertThat(fingerprint(Path.of(exported + ".pub"))).isEqualTo(testKeyFingerprint(status));
        assertThat(scemu("firmware", "update", dir, image(exported, "1.1.0")).ok().out()).contains("UPDATED");
    }

    @Test
    void aSeedMakesASimulatedUnitAndStatusSaysSo() {
        Path dir = tmp.resolve("unit");
        scemu("create", dir, "--disk-size", "16M", "--seed", "9").ok();
        assertThat(dir.resolve("test-signing-key.pem")).doesNotExist();
        assertThat(scemu("status", dir).ok().out())
                .contains("trust      simulation key derived from seed 9 (not secret)")
                .contains("(simulation: derived from seed 9, not unique)");
    }

    @Test
    void aVendorKeyNeedsItsImageAndBecomesTheOnlyTrustRoot() throws Exception {
        Path vendor = keygen("vendor");
        Path vendorPub = Path.of(vendor + ".pub");
        Path dir = tmp.resolve("unit");
        scemu("create", dir, "--disk-size", "16M", "--vendor-key", vendorPub).failsWithOneLine("--vendor-key needs --firmware");
        scemu("create", dir, "--disk-size", "16M", "--firmware", image(vendor, "2.0.0")).failsWithOneLine("--firmware needs --vendor-key");
        scemu("create", dir, "--disk-size", "16M", "--vendor-key", vendorPub, "--firmware", image(keygen("other"), "2.0.0"))
                .failsWithOneLine("does not verify against the vendor key " + fingerprint(vendorPub));
        assertThat(dir).doesNotExist();

        assertThat(scemu("create", dir, "--disk-size", "16M", "--vendor-key", vendorPub, "--firmware", image(vendor, "2.0.0"))
                .ok().out()).contains("trust      vendor key " + fingerprint(vendorPub));
        assertThat(dir.resolve("test-signing-key.pem")).doesNotExist();
        assertThat(scemu("status", dir).ok().out()).contains("trust      vendor key " + fingerprint(vendorPub)
                + " (signed the running image)").contains("firmware   2.0.0").doesNotContain("test key");
        scemu("firmware", "export-key", dir, "-o", tmp.resolve("x.pem")).failsWithOneLine("has no test signing key");
        assertThat(scemu("firmware", "update", dir, image(vendor, "2.1.0")).ok().out()).contains("UPDATED");
    }

    @Test
    void rotationAddUpdateRemoveAndTheRemovedKeysImagesAreRefused() throws Exception {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        Path old = tmp.resolve("old.pem");
        scemu("firmware", "export-key", dir, "-o", old).ok();
        Path next = keygen("next");
        Path nextPub = Path.of(next + ".pub");

        scemu("firmware", "update", dir, image(next, "1.1.0"))
                .failsWithOneLine("signed by key " + fingerprint(nextPub) + ", which is not trusted");
        assertThat(scemu("firmware", "trust", "add", dir, nextPub).ok().out()).contains("trusted key " + fingerprint(nextPub))
                .contains("trusts 2 keys");
        scemu("firmware", "trust", "remove", dir, Path.of(old + ".pub")).failsWithOneLine("signed the running firmware 1.0.0");
        assertThat(scemu("firmware", "update", dir, image(next, "1.1.0")).ok().out()).contains("UPDATED");

        String oldFingerprint = fingerprint(Path.of(old + ".pub"));
        assertThat(scemu("firmware", "trust", "remove", dir, oldFingerprint.substring(0, 10)).ok().out())
                .contains("removed test key generated at create " + oldFingerprint).contains("1 key left");
        assertThat(scemu("firmware", "trust", "list", dir).ok().out()).contains("added key " + fingerprint(nextPub))
                .doesNotContain(oldFingerprint);
        scemu("firmware", "update", dir, image(old, "1.2.0")).failsWithOneLine("signed by key " + oldFingerprint);
        scemu("firmware", "trust", "remove", dir, nextPub, "--force").failsWithOneLine("last trusted key");
        assertThat(scemu("status", dir).ok().out()).contains("firmware   1.1.0").contains("boot       clean");
    }

    @Test
    void aForcedRemovalOfTheRunningImagesKeyMakesTheNextBootRefuseThatImage() throws Exception {
        Path dir = tmp.resolve("unit");
        createSmallUnit(dir);
        String oldFingerprint = testKeyFingerprint(scemu("status", dir).ok().out());
        scemu("firmware", "trust", "add", dir, Path.of(keygen("next") + ".pub")).ok();
        scemu("firmware", "trust", "remove", dir, oldFingerprint, "--force").ok();
        scemu("status", dir).failsWithOneLine("NO_BOOTABLE_IMAGE")
                .failsWithOneLine("image is signed by key " + oldFingerprint + ", which is not trusted");
    }
}
