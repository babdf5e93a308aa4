package dev.scemu.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.CompositeArchRule;
import dev.scemu.cli.boundaryfixture.ReachesIntoRaid;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The boundary rule (docs/architecture.md): production code of one module never uses another
 * module's {@code .internal} packages; those are implementation, free to change without notice.
 * Checked over the production classes of every library module, testkit and cli (this module's
 * class path). benchmarks is outside the rule: it measures internal kernels on purpose.
 */
class ModuleBoundaryTest {

    /** Root package of each module under the rule. */
    static final List<String> MODULES = List.of("core", "raid", "snapshot", "flash", "unit", "backup", "nbd",
            "testkit", "cli");

    static ArchRule rule() {
        List<ArchRule> rules = new ArrayList<>();
        for (String module : MODULES) {
            String[] othersInternal = MODULES.stream().filter(m -> !m.equals(module))
                    .map(m -> "dev.scemu." + m + "..internal..").toArray(String[]::new);
            rules.add(noClasses().that().resideInAPackage("dev.scemu." + module + "..")
                    .should().dependOnClassesThat().resideInAnyPackage(othersInternal)
                    .as("module " + module + " uses no other module's .internal package")
                    .allowEmptyShould(true));
        }
        CompositeArchRule all = CompositeArchRule.of(rules.get(0));
        for (ArchRule rule : rules.subList(1, rules.size())) {
            all = all.and(rule);
        }
        return all.as("no module's production code uses another module's .internal package");
    }

    @Test
    void noModuleUsesAnotherModulesInternals() {
        // the production jar or classes directory of each module, found through one of its classes
        List<Location> locations = new ArrayList<>();
        for (Class<?> type : List.of(dev.scemu.core.BlockDevice.class, dev.scemu.raid.RaidArray.class,
                dev.scemu.snapshot.SnapshotVolume.class, dev.scemu.flash.FlashException.class,
                dev.scemu.unit.StorageControlUnit.class, dev.scemu.backup.BackupException.class,
                dev.scemu.nbd.NbdServer.class, dev.scemu.testkit.SimulatedController.class, Main.class)) {
            locations.add(Location.of(type.getProtectionDomain().getCodeSource().getLocation()));
        }
        JavaClasses production = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importLocations(locations);
        assertThat(production.stream().map(c -> c.getPackageName().split("\\.")[2]).distinct())
                .as("modules imported").containsAll(MODULES);
        rule().check(production);
    }

    @Test
    void theRuleCatchesAViolation() {
        JavaClasses fixture = new ClassFileImporter().importClasses(ReachesIntoRaid.class);
        assertThatThrownBy(() -> rule().check(fixture)).isInstanceOf(AssertionError.class)
                .hasMessageContaining("ReachesIntoRaid").hasMessageContaining("dev.scemu.raid.internal.MdRaidArray");
    }
}
