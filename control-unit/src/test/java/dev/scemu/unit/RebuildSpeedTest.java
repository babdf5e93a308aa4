package dev.scemu.unit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Properties;
import org.junit.jupiter.api.Test;

/** md's speed limits in the unit's configuration: parsing, validation and the unit.properties round trip. */
class RebuildSpeedTest {

    @Test
    void parsesMdStyleKibPerSecondAndRefusesAnythingElseByName() {
        assertThat(RebuildSpeed.parseKibPerSecond("1000:200000")).isEqualTo(RebuildSpeed.MD_DEFAULTS);
        assertThat(RebuildSpeed.parseKibPerSecond("0:0")).isEqualTo(new RebuildSpeed(0, 0));
        for (String bad : new String[] {"fast", "1000", "1:2:3", "-1:5", "a:b", ":", "99999999999999999:1"}) {
            assertThatThrownBy(() -> RebuildSpeed.parseKibPerSecond(bad)).as(bad)
                    .isInstanceOf(UnitException.class).hasMessageContaining("'" + bad + "'");
        }
        assertThatThrownBy(() -> RebuildSpeed.parseKibPerSecond("2000:1000")).isInstanceOf(UnitException.class)
                .hasMessageContaining("min <= max");
    }

    @Test
    void theConfiguredSpeedIsSavedAndReadBackAndUnlimitedIsTheDefault() {
        UnitConfig plain = UnitConfig.builder().build();
        assertThat(plain.rebuildSpeed()).isEqualTo(RebuildSpeed.UNLIMITED);
        Properties saved = plain.toProperties();
        assertThat(saved.stringPropertyNames()).noneMatch(name -> name.startsWith("rebuild."));
        assertThat(UnitConfig.fromProperties(null, saved).rebuildSpeed()).isEqualTo(RebuildSpeed.UNLIMITED);

        UnitConfig limited = UnitConfig.builder().rebuildSpeed(RebuildSpeed.MD_DEFAULTS).build();
        assertThat(UnitConfig.fromProperties(null, limited.toProperties())).isEqualTo(limited);
    }

    @Test
    void aUnitAppliesItsSpeedToTheArrayAndRefusesNull() {
        try (StorageControlUnit unit = StorageControlUnit.create(UnitConfig.builder()
                .rebuildSpeed(RebuildSpeed.MD_DEFAULTS).build())) {
            assertThat(unit.rebuildSpeed()).isEqualTo(RebuildSpeed.MD_DEFAULTS);
            unit.setRebuildSpeed(new RebuildSpeed(1L << 20, 0));
            assertThat(unit.rebuildSpeed()).isEqualTo(new RebuildSpeed(1L << 20, 0));
            assertThatThrownBy(() -> unit.setRebuildSpeed(null)).isInstanceOf(UnitException.class);
        }
    }
}
