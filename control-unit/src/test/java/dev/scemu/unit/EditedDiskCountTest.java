package dev.scemu.unit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * unit.properties' {@code diskCount} must be the array's member count: an edited one (fewer disks
 * than the array has would start it degraded and record the disk left out as faulty; more would
 * leave the extra one out unnoticed) is refused with IDENTITY_MISMATCH before any file changes, and
 * the unit opens as before once the record is right again (found by the edge sweep).
 */
class EditedDiskCountTest {

    @TempDir
    Path dir;

    @Test
    void aDiskCountThatIsNotTheArraysIsRefusedAndNothingIsWritten() throws Exception {
        UnitConfig config = UnitConfig.builder().disks(4, 8L << 20).chunkBytes(64 << 10).snapshotStoreBytes(2L << 20)
                .directory(dir).build();
        ByteBuffer data = ByteBuffer.allocateDirect(4 * 4096);
        data.put(0, (byte) 0x5a);
        try (StorageControlUnit unit = StorageControlUnit.create(config)) {
            unit.host().write(10, 4, data, 0);
            unit.host().flush();
        }
        Path properties = dir.resolve("unit.properties");
        String recorded = Files.readString(properties);
        assertThat(recorded).contains("diskCount=4");
        Map<String, String> before = hashes(dir);
        for (String edited : new String[] {"diskCount=3", "diskCount=5"}) {
            Files.writeString(properties, recorded.replace("diskCount=4", edited));
            assertThatThrownBy(() -> StorageControlUnit.open(dir)).as(edited)
                    .isInstanceOfSatisfying(UnitException.class,
                            e -> assertThat(e.code()).isEqualTo(UnitError.IDENTITY_MISMATCH))
                    .hasMessageContaining("4 members");
            assertThat(hashes(dir)).as("no member or flash byte changed by the refused open (%s)", edited)
                    .isEqualTo(before);
        }
        Files.writeString(properties, recorded);
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(unit.array().isDegraded()).isFalse();
            ByteBuffer back = ByteBuffer.allocateDirect(4 * 4096);
            unit.host().read(10, 4, back, 0);
            assertThat(back.get(0)).isEqualTo((byte) 0x5a);
        }
    }

    /** SHA-256 of disk0..3 and nvram (an extra disk a refused open may have made is not compared). */
    private static Map<String, String> hashes(Path dir) throws Exception {
        Map<String, String> hashes = new TreeMap<>();
        for (String name : new String[] {"disk0.img", "disk1.img", "disk2.img", "disk3.img", "nvram.img"}) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            try (InputStream in = Files.newInputStream(dir.resolve(name))) {
                digest.update(in.readAllBytes());
            }
            hashes.put(name, HexFormat.of().formatHex(digest.digest()));
        }
        return hashes;
    }
}
