package dev.scemu.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.scemu.raid.RaidLevel;
import dev.scemu.unit.StorageControlUnit;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class SimulatedControllerTest {

    @Test
    @SimulatedController(level = RaidLevel.RAID1, disks = 2, diskMib = 16, seed = 4)
    void handsTheTestAReadyUnitWithFaultHandles(StorageControlUnit unit) {
        assertThat(unit.array().level()).isEqualTo(RaidLevel.RAID1);
        assertThat(unit.array().raidDisks()).isEqualTo(2);
        ByteBuffer block = ByteBuffer.allocateDirect(4096);
        block.putLong(0, 42);
        unit.host().write(7, 1, block, 0);
        unit.disk(0).failDevice();
        ByteBuffer back = ByteBuffer.allocateDirect(4096);
        unit.host().read(7, 1, back, 0);
        assertThat(back.getLong(0)).isEqualTo(42);
    }
}
