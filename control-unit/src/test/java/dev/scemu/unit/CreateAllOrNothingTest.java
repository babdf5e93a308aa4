package dev.scemu.unit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.flash.FlashGeometry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code create} is all or nothing: a failure leaves no file behind, and a retry succeeds (see {@link StagingDirectory}). */
class CreateAllOrNothingTest {

    @TempDir
    Path tmp;

    private static UnitConfig.Builder small(Path dir) {
        return UnitConfig.builder().directory(dir).disks(3, 8L << 20).chunkBytes(64 << 10).snapshotStoreBytes(4L << 20);
    }

    private static List<String> entries(Path dir) throws IOException {
        try (Stream<Path> list = Files.list(dir)) {
            return list.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static void assertAUnitIn(Path dir) {
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(unit.firmware().running()).isNotNull();
            assertThat(unit.bootReport().foundProblems()).isFalse();
        }
    }

    @Test
    void aCreateThatFailsOnTinyDisksLeavesNoFileAndARetrySucceeds() throws IOException {
        Path dir = tmp.resolve("unit");
        assertThatThrownBy(() -> StorageControlUnit.create(small(dir).disks(4, 1L << 20).build()))
                .isInstanceOf(RuntimeException.class);
        assertThat(dir).doesNotExist();
        assertThat(entries(tmp)).as("no staging directory left beside it").isEmpty();

        StorageControlUnit.create(small(dir).build()).close();
        assertThat(entries(dir)).contains("disk0.img", "disk1.img", "disk2.img", "nvram.img", "unit.properties",
                TrustStore.FILE, TrustStore.TEST_KEY_FILE).noneMatch(name -> name.startsWith("."));
        assertAUnitIn(dir);
    }

    @Test
    void aFailureAfterTheDisksWereWrittenLeavesAnEmptyDirectoryEmpty() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("empty"));
        KeyPair vendor = newKey();
        // the image verifies but does not fit a 64 KiB flash: provisioning fails after the array and GPT exist
        UnitConfig tooSmallFlash = small(dir).flash(new FlashGeometry(4096, 4, 4)).build();
        assertThatThrownBy(() -> StorageControlUnit.create(tooSmallFlash, DefaultFirmware.image("1.0.0", vendor),
                vendor.getPublic())).hasMessageContaining("IMAGE_TOO_LARGE");
        assertThat(dir).isEmptyDirectory();

        try (StorageControlUnit unit = StorageControlUnit.create(small(dir).build(), DefaultFirmware.image("1.0.0", vendor),
                vendor.getPublic())) {
            assertThat(unit.config().directory()).isEqualTo(dir);
            assertThat(unit.trustStore().entries()).extracting(TrustStore.Entry::origin)
                    .containsExactly(TrustStore.Origin.VENDOR);
        }
        assertThat(entries(dir)).contains("disk0.img", "unit.properties").noneMatch(name -> name.startsWith("."));
        assertAUnitIn(dir);
    }

    @Test
    void aDirectoryWithFilesOrAUnitIsRefusedAndLeftAlone() throws IOException {
        Path busy = Files.createDirectory(tmp.resolve("busy"));
        Files.writeString(busy.resolve("notes.txt"), "mine");
        assertThatThrownBy(() -> StorageControlUnit.create(small(busy).build()))
                .satisfies(e -> assertThat(((UnitException) e).code()).isEqualTo(UnitError.NOT_EMPTY))
                .hasMessageContaining(busy + " is not empty (1 entries, e.g. notes.txt)");
        assertThat(entries(busy)).containsExactly("notes.txt");

        Path dir = tmp.resolve("unit");
        StorageControlUnit.create(small(dir).build()).close();
        List<String> before = entries(dir);
        assertThatThrownBy(() -> StorageControlUnit.create(small(dir).build()))
                .satisfies(e -> assertThat(((UnitException) e).code()).isEqualTo(UnitError.NOT_EMPTY))
                .hasMessageContaining("a unit already exists in " + dir);
        assertThat(entries(dir)).isEqualTo(before);
        assertAUnitIn(dir);

        Path file = Files.writeString(tmp.resolve("plain-file"), "x");
        assertThatThrownBy(() -> StorageControlUnit.create(small(file).build()))
                .hasMessageContaining("exists and is not a directory");
    }

    @Test
    void stagingDirectoriesLeftByAKilledCreateAreRemovedByTheNextCreate() throws IOException {
        Path dir = tmp.resolve("unit");
        Path besides = Files.createDirectory(tmp.resolve(".unit.scemu-create-0123456789ab"));
        Files.writeString(besides.resolve("disk0.img"), "half a disk");
        StorageControlUnit.create(small(dir).build()).close();
        assertThat(besides).doesNotExist();
        assertThat(entries(tmp)).containsExactly("unit");

        Path empty = Files.createDirectory(tmp.resolve("empty"));
        Files.createDirectory(empty.resolve(".scemu-create-0123456789ab"));
        StorageControlUnit.create(small(empty).build()).close();
        assertThat(entries(empty)).noneMatch(name -> name.startsWith("."));
        assertAUnitIn(empty);
    }

    private static KeyPair newKey() {
        return dev.scemu.flash.TrustedKeys.generateEd25519(new SecureRandom());
    }
}
