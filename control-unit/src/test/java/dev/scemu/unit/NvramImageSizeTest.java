package dev.scemu.unit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.flash.FirmwareEvent;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An {@code nvram.img} of the wrong size (truncated, or grown) cannot be the flash chip's contents:
 * the unit boots from a blank flash and the inspection restores the firmware from the backup
 * partition, as for a missing image. A read-only open does that in memory and changes no file; a
 * read-write open keeps the wrong-sized file aside ({@code nvram.img.wrong-size-*}) and makes a new
 * one. Before, every command refused to open the unit (found by the edge sweep).
 */
class NvramImageSizeTest {

    @TempDir
    Path dir;

    @Test
    void aTruncatedNvramImageIsABlankFlashRestoredFromTheBackup() throws IOException {
        Path nvram = createUnit();
        long size = Files.size(nvram);
        try (FileChannel channel = FileChannel.open(nvram, StandardOpenOption.WRITE)) {
            channel.truncate(100);
        }
        try (StorageControlUnit unit = StorageControlUnit.openReadOnly(dir)) {
            assertThat(unit.bootReport().has(FirmwareEvent.Type.RECOVERED)).as("restored in memory").isTrue();
        }
        assertThat(Files.size(nvram)).as("a read-only open changes no file").isEqualTo(100);
        assertThat(asideFiles()).isEmpty();

        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(unit.bootReport().has(FirmwareEvent.Type.RECOVERED)).isTrue();
            assertThat(unit.firmware().checkFlash().holds(unit.firmware().running())).isTrue();
        }
        assertThat(Files.size(nvram)).isEqualTo(size);
        List<Path> aside = asideFiles();
        assertThat(aside).hasSize(1);
        assertThat(Files.size(aside.get(0))).as("the wrong-sized image, kept as it was").isEqualTo(100);
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(unit.bootReport().has(FirmwareEvent.Type.RECOVERED)).as("the new image holds the firmware")
                    .isFalse();
        }
    }

    /** A directory in nvram.img's place (the sweep's case): the same blank flash, kept aside under its own name. */
    @Test
    void aDirectoryInTheNvramImagesPlaceIsABlankFlashKeptAsideAsNotAFile() throws IOException {
        Path nvram = createUnit();
        long size = Files.size(nvram);
        Files.delete(nvram);
        Files.createDirectory(nvram);
        Files.writeString(nvram.resolve("inside.txt"), "kept");
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(unit.bootReport().has(FirmwareEvent.Type.RECOVERED)).isTrue();
        }
        assertThat(Files.size(nvram)).isEqualTo(size);
        assertThat(asideFiles()).isEmpty();
        List<Path> aside = asideFiles("nvram.img.not-a-file-");
        assertThat(aside).hasSize(1);
        assertThat(Files.readString(aside.get(0).resolve("inside.txt"))).isEqualTo("kept");
    }

    /** A closed 3-disk unit in {@link #dir}; its nvram.img. */
    private Path createUnit() {
        StorageControlUnit.create(UnitConfig.builder().disks(3, 8L << 20).chunkBytes(64 << 10)
                .snapshotStoreBytes(2L << 20).directory(dir).build()).close();
        return dir.resolve("nvram.img");
    }

    private List<Path> asideFiles() throws IOException {
        return asideFiles("nvram.img.wrong-size-");
    }

    private List<Path> asideFiles(String prefix) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().startsWith(prefix)).toList();
        }
    }
}
