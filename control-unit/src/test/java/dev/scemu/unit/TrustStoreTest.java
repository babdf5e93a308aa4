package dev.scemu.unit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.PowerCutMode;
import dev.scemu.flash.FirmwareEvent;
import dev.scemu.flash.FirmwareStore;
import dev.scemu.flash.FlashError;
import dev.scemu.flash.FlashException;
import dev.scemu.flash.InspectionReport;
import dev.scemu.flash.TrustedKeys;
import dev.scemu.flash.UpdateReport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Trust roots: the vendor's key or a generated test key, rotation, and images of removed keys refused. */
class TrustStoreTest {

    @TempDir
    Path tmp;

    private static UnitConfig.Builder small() {
        return UnitConfig.builder().disks(3, 8L << 20).chunkBytes(64 << 10).snapshotStoreBytes(4L << 20);
    }

    private static KeyPair newKey() {
        return TrustedKeys.generateEd25519(new SecureRandom());
    }

    private static UnitError code(Throwable e) {
        return ((UnitException) e).code();
    }

    @Test
    void aVendorKeyIsTheOnlyTrustRootAndScemuHoldsNoPrivateKey() {
        KeyPair vendor = newKey();
        Path dir = tmp.resolve("unit");
        try (StorageControlUnit unit = StorageControlUnit.create(small().directory(dir).build(),
                DefaultFirmware.image("3.0.0", vendor), vendor.getPublic())) {
            assertThat(unit.trustStore().entries()).containsExactly(
                    new TrustStore.Entry(vendor.getPublic(), TrustStore.Origin.VENDOR));
            assertThat(unit.testSigningKey()).isEmpty();
            assertThat(unit.firmware().running().version().toString()).startsWith("3.0.0");
        }
        assertThat(dir.resolve(TrustStore.TEST_KEY_FILE)).doesNotExist();
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(unit.trustStore().entries()).extracting(TrustStore.Entry::origin)
                    .containsExactly(TrustStore.Origin.VENDOR);
        }
    }

    @Test
    void anImageTheVendorKeyDidNotSignCreatesNothing() {
        KeyPair vendor = newKey();
        Path dir = tmp.resolve("unit");
        assertThatThrownBy(() -> StorageControlUnit.create(small().directory(dir).build(),
                DefaultFirmware.image("3.0.0", newKey()), vendor.getPublic()))
                .isInstanceOf(UnitException.class)
                .hasMessageContaining("does not verify against the vendor key " + TrustedKeys.fingerprint(vendor.getPublic()))
                .hasMessageContaining("UNKNOWN_KEY");
        assertThat(dir).doesNotExist();
        assertThat(tmp).isEmptyDirectory();
    }

    @Test
    void withoutAVendorKeyCreateGeneratesATestKeyWhosePrivateHalfIsOwnerOnly() throws IOException {
        Path dir = tmp.resolve("unit");
        String fingerprint;
        try (StorageControlUnit unit = StorageControlUnit.create(small().directory(dir).build())) {
            TrustStore.Entry root = unit.trustStore().entries().get(0);
            assertThat(root.origin()).isEqualTo(TrustStore.Origin.TEST_KEY);
            assertThat(unit.testSigningKey().orElseThrow().getPublic()).isEqualTo(root.key());
            fingerprint = root.fingerprint();
        }
        Path privateKey = dir.resolve(TrustStore.TEST_KEY_FILE);
        assertThat(Files.getPosixFilePermissions(privateKey)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        assertThat(Files.readString(privateKey)).startsWith("-----BEGIN PRIVATE KEY-----");
        assertThat(Files.readString(dir.resolve(TrustStore.FILE))).contains("test-key ");
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            KeyPair key = unit.testSigningKey().orElseThrow();
            assertThat(TrustedKeys.fingerprint(key.getPublic())).isEqualTo(fingerprint);
            UnitConfig config = unit.config();
            assertThat(config.isSimulation()).isFalse();
            unit.firmware().stage(DefaultFirmware.image("1.1.0", key)); // the test key signs test images
            assertThat(unit.firmware().update().outcome()).isEqualTo(UpdateReport.Outcome.UPDATED);
        }
    }

    @Test
    void anUpdateSignedByAnUntrustedKeyIsRefusedNamingTheKeyUntilTheKeyIsAdded() {
        KeyPair stranger = newKey();
        String fingerprint = TrustedKeys.fingerprint(stranger.getPublic());
        try (StorageControlUnit unit = StorageControlUnit.create(small().build())) {
            byte[] image = DefaultFirmware.image("1.1.0", stranger);
            assertThatThrownBy(() -> unit.firmware().stage(image))
                    .isInstanceOf(FlashException.class)
                    .satisfies(e -> assertThat(((FlashException) e).code()).isEqualTo(FlashError.UNKNOWN_KEY))
                    .hasMessageContaining("signed by key " + fingerprint + ", which is not trusted")
                    .hasMessageContaining(unit.trustStore().entries().get(0).fingerprint());
            assertThat(unit.firmware().running().version().toString()).startsWith("1.0.0");

            unit.trustKey(stranger.getPublic());
            unit.firmware().stage(image);
            assertThat(unit.firmware().update().outcome()).isEqualTo(UpdateReport.Outcome.UPDATED);
        }
    }

    @Test
    void rotationAddsTheNewKeyUpdatesThenRemovesTheOldOneWhoseImagesAreRefusedFromThenOn() {
        KeyPair next = newKey();
        try (StorageControlUnit unit = StorageControlUnit.create(small().build())) {
            KeyPair old = unit.testSigningKey().orElseThrow();
            String oldFingerprint = TrustedKeys.fingerprint(old.getPublic());
            unit.trustKey(next.getPublic());
            assertThatThrownBy(() -> unit.distrustKey(oldFingerprint.substring(0, 12), false))
                    .as("the old key still signs the running image")
                    .satisfies(e -> assertThat(code(e)).isEqualTo(UnitError.TRUST_STORE))
                    .hasMessageContaining("signed the running firmware 1.0.0");

            unit.firmware().stage(DefaultFirmware.image("1.1.0", next));
            assertThat(unit.firmware().update().outcome()).isEqualTo(UpdateReport.Outcome.UPDATED);
            TrustStore.Entry removed = unit.distrustKey(oldFingerprint.substring(0, 12), false);
            assertThat(removed.fingerprint()).isEqualTo(oldFingerprint);
            assertThat(unit.trustStore().entries()).extracting(TrustStore.Entry::key).containsExactly(next.getPublic());

            assertThatThrownBy(() -> unit.firmware().stage(DefaultFirmware.image("1.2.0", old)))
                    .hasMessageContaining("UNKNOWN_KEY").hasMessageContaining(oldFingerprint);
            assertThatThrownBy(() -> unit.distrustKey(TrustedKeys.fingerprint(next.getPublic()), true))
                    .as("even forced, the last key stays")
                    .satisfies(e -> assertThat(code(e)).isEqualTo(UnitError.TRUST_STORE))
                    .hasMessageContaining("last trusted key");
            InspectionReport inspection = unit.inspector().tick();
            assertThat(inspection.foundProblems()).as("the running image and its backup are signed by the new key").isFalse();
        }
    }

    @Test
    void theImageOfARemovedKeyIsRefusedAtTheNextBoot() {
        Path dir = tmp.resolve("unit");
        String fingerprint;
        try (StorageControlUnit unit = StorageControlUnit.create(small().directory(dir).build())) {
            fingerprint = unit.trustStore().entries().get(0).fingerprint();
            unit.trustKey(newKey().getPublic());
            unit.distrustKey(fingerprint, true); // forced: the running image is signed by it
        }
        assertThatThrownBy(() -> StorageControlUnit.open(dir))
                .isInstanceOf(FlashException.class)
                .satisfies(e -> assertThat(((FlashException) e).code()).isEqualTo(FlashError.NO_BOOTABLE_IMAGE))
                .hasMessageContaining("flash CORRUPT (UNKNOWN_KEY: image is signed by key " + fingerprint + ", which is not trusted")
                .hasMessageContaining("backup CORRUPT (UNKNOWN_KEY: image is signed by key " + fingerprint);
    }

    @Test
    void bootRecoveryRestoresOnlyATrustedImage() {
        KeyPair next = newKey();
        try (StorageControlUnit unit = StorageControlUnit.create(small().build())) {
            KeyPair old = unit.testSigningKey().orElseThrow();
            unit.trustKey(next.getPublic());
            unit.firmware().stage(DefaultFirmware.image("1.1.0", next));
            assertThat(unit.firmware().update().outcome()).isEqualTo(UpdateReport.Outcome.UPDATED);
            unit.distrustKey(TrustedKeys.fingerprint(old.getPublic()), false);
            // someone writes an image of the removed key into the flash; the backup holds the trusted 1.1.0
            FirmwareStore.onFlash(unit.flash()).write(DefaultFirmware.image("1.2.0", old));

            InspectionReport boot = unit.crashAndReboot(PowerCutMode.DROP_UNFLUSHED);
            assertThat(boot.has(FirmwareEvent.Type.CORRUPTION_DETECTED)).isTrue();
            assertThat(boot.has(FirmwareEvent.Type.RECOVERED)).isTrue();
            assertThat(boot.events().toString()).contains(TrustedKeys.fingerprint(old.getPublic()) + ", which is not trusted");
            assertThat(unit.firmware().running().version().toString()).startsWith("1.1.0");
            assertThat(unit.firmware().checkFlash().holds(unit.firmware().running())).isTrue();
        }
    }

    @Test
    void bootDoesNotRecoverFromABackupSignedByARemovedKey() {
        KeyPair next = newKey();
        try (StorageControlUnit unit = StorageControlUnit.create(small().build())) {
            KeyPair old = unit.testSigningKey().orElseThrow();
            unit.trustKey(next.getPublic());
            // the flash gets a trusted image, then is damaged; the backup still holds 1.0.0 of the old key
            FirmwareStore.onFlash(unit.flash()).write(DefaultFirmware.image("1.1.0", next));
            unit.flash().program(70_000, new byte[64]);
            unit.distrustKey(TrustedKeys.fingerprint(old.getPublic()), true);

            assertThatThrownBy(() -> unit.crashAndReboot(PowerCutMode.DROP_UNFLUSHED))
                    .isInstanceOf(FlashException.class)
                    .hasMessageContaining("NO_BOOTABLE_IMAGE")
                    .hasMessageContaining("backup CORRUPT (UNKNOWN_KEY: image is signed by key "
                            + TrustedKeys.fingerprint(old.getPublic()));
        }
    }

    @Test
    void changesArePersistedAndBadRequestsChangeNothing() throws IOException {
        Path dir = tmp.resolve("unit");
        KeyPair added = newKey();
        try (StorageControlUnit unit = StorageControlUnit.create(small().directory(dir).build())) {
            unit.trustKey(added.getPublic());
            assertThatThrownBy(() -> unit.trustKey(added.getPublic())).hasMessageContaining("already trusted");
            assertThatThrownBy(() -> unit.distrustKey("abc", false)).hasMessageContaining("at least 8 hex digits");
            assertThatThrownBy(() -> unit.distrustKey("00000000", false)).hasMessageContaining("no trusted key has fingerprint");
        }
        String file = Files.readString(dir.resolve(TrustStore.FILE));
        assertThat(file).contains("test-key ").contains("added " + Base64.getEncoder().encodeToString(added.getPublic().getEncoded()));
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(unit.trustStore().entries()).extracting(TrustStore.Entry::origin)
                    .containsExactly(TrustStore.Origin.TEST_KEY, TrustStore.Origin.ADDED);
        }
    }

    @Test
    void aUnitOfAnOlderScemuWithOneSeedKeyStillOpens() throws IOException {
        Path dir = tmp.resolve("unit");
        try (StorageControlUnit unit = StorageControlUnit.create(small().directory(dir).seed(5).build())) {
            assertThat(unit.trustStore().entries().get(0).origin()).isEqualTo(TrustStore.Origin.SIMULATION);
        }
        // what an older scemu wrote: trusted-key.pub (base64 of the seed key) and "seed" in unit.properties
        Files.delete(dir.resolve(TrustStore.FILE));
        Files.writeString(dir.resolve(TrustStore.LEGACY_FILE),
                Base64.getEncoder().encodeToString(DefaultFirmware.signingKey(5).getPublic().getEncoded()) + "\n");
        Properties properties = new Properties();
        try (var in = Files.newInputStream(dir.resolve("unit.properties"))) {
            properties.load(in);
        }
        properties.setProperty("seed", properties.getProperty("simulationSeed"));
        properties.remove("simulationSeed");
        properties.keySet().removeIf(key -> key.toString().startsWith("identity."));
        try (var out = Files.newOutputStream(dir.resolve("unit.properties"))) {
            properties.store(out, null);
        }
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(unit.trustStore().entries()).extracting(TrustStore.Entry::origin)
                    .containsExactly(TrustStore.Origin.LEGACY);
            assertThat(unit.config().simulationSeed()).hasValue(5);
        }
    }
}
