package dev.scemu.unit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.scemu.unit.internal.UnitLock;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One open owns a unit directory; a second open is refused with UNIT_BUSY naming the owner. */
class UnitOwnershipTest {

    private static UnitConfig config(Path dir) {
        return UnitConfig.builder().disks(3, 8L << 20).chunkBytes(64 << 10).snapshotStoreBytes(2L << 20).seed(3)
                .directory(dir).build();
    }

    @Test
    void aSecondOpenInTheSameJvmIsRefusedUntilTheFirstCloses(@TempDir Path dir) throws Exception {
        System.setProperty(UnitLock.OWNER_PROPERTY, "scemu test-owner");
        try {
            StorageControlUnit first = StorageControlUnit.create(config(dir));
            assertThatThrownBy(() -> StorageControlUnit.open(dir))
                    .isInstanceOfSatisfying(UnitException.class, e -> assertThat(e.code()).isEqualTo(UnitError.UNIT_BUSY))
                    .hasMessage("UNIT_BUSY: " + dir.toAbsolutePath().normalize() + " is in use by pid "
                            + ProcessHandle.current().pid() + " (scemu test-owner)");
            assertThatThrownBy(() -> StorageControlUnit.create(config(dir)))
                    .isInstanceOfSatisfying(UnitException.class, e -> assertThat(e.code()).isEqualTo(UnitError.UNIT_BUSY));
            assertThat(UnitLock.isHeld(dir)).isTrue();
            first.close();
            first.close();
            assertThat(UnitLock.isHeld(dir)).isFalse();
            try (StorageControlUnit second = StorageControlUnit.open(dir)) {
                assertThat(second.array().isDegraded()).isFalse();
                assertThat(Files.readString(dir.resolve(UnitLock.FILE))).startsWith(ProcessHandle.current().pid() + " ");
            }
        } finally {
            System.clearProperty(UnitLock.OWNER_PROPERTY);
        }
    }

    @Test
    void aRefusedOpenLeavesTheOwnerWorking(@TempDir Path dir) {
        try (StorageControlUnit owner = StorageControlUnit.create(config(dir))) {
            assertThatThrownBy(() -> StorageControlUnit.open(dir)).hasMessageContaining("UNIT_BUSY");
            java.nio.ByteBuffer block = java.nio.ByteBuffer.allocateDirect(4096);
            owner.host().write(0, 1, block, 0);
            owner.host().flush();
            assertThat(owner.snapshots().createSnapshot("after-refusal").name()).isEqualTo("after-refusal");
        }
    }

    @Test
    void aStaleLockFileWithoutAnOsLockDoesNotBlock(@TempDir Path dir) throws Exception {
        StorageControlUnit.create(config(dir)).close();
        Files.writeString(dir.resolve(UnitLock.FILE), "999999 scemu serve\n"); // a dead owner's leftover
        try (StorageControlUnit unit = StorageControlUnit.open(dir)) {
            assertThat(unit.array().isDegraded()).isFalse();
        }
    }
}
