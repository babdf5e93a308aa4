package dev.scemu.unit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.core.BlockDevice;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each unit has its own identity unless a simulation asks for a seeded one (see {@link UnitIdentity}). */
class UnitIdentityTest {

    @TempDir
    Path tmp;

    private static UnitConfig.Builder small() {
        return UnitConfig.builder().disks(3, 8L << 20).chunkBytes(64 << 10).snapshotStoreBytes(4L << 20);
    }

    private record Seen(UnitIdentity identity, List<UUID> partitionGuids, String trustedKey) {
    }

    private static Seen see(StorageControlUnit unit) {
        return new Seen(unit.identity(), unit.partitions().partitions().stream().map(GptPartition::uniqueGuid).toList(),
                unit.trustStore().entries().get(0).fingerprint());
    }

    @Test
    void twoUnitsCreatedWithoutASeedShareNoIdentifierAndNoKey() {
        Seen a;
        Seen b;
        try (StorageControlUnit unit = StorageControlUnit.create(small().build())) {
            a = see(unit);
            assertThat(unit.config().isSimulation()).isFalse();
            assertThat(unit.trustStore().entries()).extracting(TrustStore.Entry::origin)
                    .containsExactly(TrustStore.Origin.TEST_KEY);
        }
        try (StorageControlUnit unit = StorageControlUnit.create(small().build())) {
            b = see(unit);
        }
        assertThat(b.identity().arrayUuid()).isNotEqualTo(a.identity().arrayUuid());
        assertThat(b.identity().diskGuid()).isNotEqualTo(a.identity().diskGuid());
        assertThat(b.identity().volumeId()).isNotEqualTo(a.identity().volumeId());
        assertThat(b.partitionGuids()).doesNotContainAnyElementsOf(a.partitionGuids());
        assertThat(b.trustedKey()).isNotEqualTo(a.trustedKey());
        assertThat(a.identity().arrayUuid().version()).as("a random (version 4) UUID").isEqualTo(4);
    }

    @Test
    void twoSimulatedUnitsWithTheSameSeedAreIdenticalAndAnotherSeedDiffers() {
        Seen first;
        Seen second;
        Seen other;
        try (StorageControlUnit unit = StorageControlUnit.create(small().seed(42).build())) {
            first = see(unit);
            assertThat(unit.config().isSimulation()).isTrue();
            assertThat(unit.trustStore().entries()).extracting(TrustStore.Entry::origin)
                    .containsExactly(TrustStore.Origin.SIMULATION);
            assertThat(unit.testSigningKey().orElseThrow().getPublic()).isEqualTo(DefaultFirmware.signingKey(42).getPublic());
        }
        try (StorageControlUnit unit = StorageControlUnit.create(small().seed(42).build())) {
            second = see(unit);
        }
        try (StorageControlUnit unit = StorageControlUnit.create(small().seed(43).build())) {
            other = see(unit);
        }
        assertThat(second).isEqualTo(first);
        assertThat(other.identity().arrayUuid()).isNotEqualTo(first.identity().arrayUuid());
        assertThat(other.identity().volumeId()).isNotEqualTo(first.identity().volumeId());
        assertThat(other.trustedKey()).isNotEqualTo(first.trustedKey());
    }

    @Test
    void theIdentityIsRecordedAndSurvivesAReopen() throws IOException {
        Path dir = tmp.resolve("unit");
        UnitIdentity created;
        try (StorageControlUnit unit = StorageControlUnit.create(small().directory(dir).build())) {
            created = unit.identity();
        }
        String properties = Files.readString(dir.resolve("unit.properties"));
        assertThat(properties).contains("identity.arrayUuid=" + created.arrayUuid())
                .contains("identity.volumeId=" + created.volumeId()).doesNotContain("seed");
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(unit.identity()).isEqualTo(created);
            assertThat(unit.config().isSimulation()).isFalse();
        }
    }

    @Test
    void openRefusesDiskImagesOfAnotherUnit() throws IOException {
        Path a = tmp.resolve("a");
        Path b = tmp.resolve("b");
        UnitIdentity identityOfB;
        UnitIdentity identityOfA;
        try (StorageControlUnit unit = StorageControlUnit.create(small().directory(a).build())) {
            identityOfA = unit.identity();
        }
        try (StorageControlUnit unit = StorageControlUnit.create(small().directory(b).build())) {
            identityOfB = unit.identity();
        }
        for (int i = 0; i < 3; i++) { // every member of B: md assembles them happily, as one array
            Files.copy(b.resolve("disk" + i + ".img"), a.resolve("disk" + i + ".img"), StandardCopyOption.REPLACE_EXISTING);
        }
        assertThatThrownBy(() -> StorageControlUnit.open(a))
                .isInstanceOf(UnitException.class)
                .satisfies(e -> assertThat(((UnitException) e).code()).isEqualTo(UnitError.IDENTITY_MISMATCH))
                .hasMessageContaining("records (" + identityOfA.arrayUuid() + ")")
                .hasMessageContaining("another unit's images");
    }

    @Test
    void mdadmAndSfdiskSeeDifferentArraysAndDisksForTwoUnits() throws Exception {
        dev.scemu.core.RequiredTool.require("mdadm", "mdadm");
        dev.scemu.core.RequiredTool.require("sfdisk", "fdisk");
        String[] arrayUuids = new String[2];
        String[] diskGuids = new String[2];
        for (int u = 0; u < 2; u++) {
            Path dir = tmp.resolve("unit" + u);
            UnitIdentity identity;
            Path arrayImage = tmp.resolve("array" + u + ".img");
            try (StorageControlUnit unit = StorageControlUnit.create(small().directory(dir).build())) {
                identity = unit.identity();
                dump(unit.array(), arrayImage);
            }
            String examine = run("mdadm", "--examine", dir.resolve("disk0.img").toString());
            arrayUuids[u] = field(examine, "Array UUID\\s*:\\s*(\\S+)");
            assertThat(arrayUuids[u]).isEqualTo(mdadmSpelling(identity.arrayUuid()));
            diskGuids[u] = field(run("sfdisk", "--json", arrayImage.toString()), "\"id\":\\s*\"([^\"]+)\"");
            assertThat(diskGuids[u]).isEqualToIgnoringCase(identity.diskGuid().toString());
        }
        assertThat(arrayUuids[1]).as("md array UUIDs").isNotEqualTo(arrayUuids[0]);
        assertThat(diskGuids[1]).as("GPT disk GUIDs").isNotEqualToIgnoringCase(diskGuids[0]);
    }

    /** mdadm prints a UUID as four groups of 8 hex digits separated by colons. */
    private static String mdadmSpelling(UUID uuid) {
        String hex = uuid.toString().replace("-", "");
        return hex.substring(0, 8) + ":" + hex.substring(8, 16) + ":" + hex.substring(16, 24) + ":" + hex.substring(24);
    }

    private static String field(String output, String regex) {
        Matcher matcher = Pattern.compile(regex).matcher(output);
        assertThat(matcher.find()).as("%s in:%n%s", regex, output).isTrue();
        return matcher.group(1);
    }

    private static void dump(BlockDevice device, Path file) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocateDirect(256 * device.blockSize());
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long lba = 0; lba < device.blockCount(); lba += 256) {
                int blocks = (int) Math.min(256, device.blockCount() - lba);
                device.read(lba, blocks, chunk, 0);
                chunk.clear().limit(blocks * device.blockSize());
                while (chunk.hasRemaining()) {
                    out.write(chunk);
                }
                chunk.clear();
            }
        }
    }

    private static String run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("%s finished", command[0]).isTrue();
        assertThat(process.exitValue()).as("%s exit status, output:%n%s", command[0], output).isZero();
        return output;
    }

    private static boolean installed(String tool) {
        return Files.isExecutable(Path.of("/usr/sbin", tool)) || Files.isExecutable(Path.of("/usr/bin", tool));
    }
}
