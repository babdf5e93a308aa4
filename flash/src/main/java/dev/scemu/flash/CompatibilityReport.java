package dev.scemu.flash;

import java.util.List;
import java.util.SortedSet;

/**
 * How a candidate image compares with the running one.
 *
 * @param running version running now
 * @param candidate version of the candidate
 * @param downgrade whether the candidate is older
 * @param missingCapabilities capabilities the running image has and the candidate lacks
 * @param plan migrations to run, in order
 * @param problems why the update is refused (empty if it may proceed)
 */
public record CompatibilityReport(ImageVersion running, ImageVersion candidate, boolean downgrade,
                                  SortedSet<String> missingCapabilities, List<PlannedMigration> plan,
                                  List<String> problems) {

    public CompatibilityReport {
        missingCapabilities = java.util.Collections.unmodifiableSortedSet(new java.util.TreeSet<>(missingCapabilities));
        plan = List.copyOf(plan);
        problems = List.copyOf(problems);
    }

    public boolean isCompatible() {
        return problems.isEmpty();
    }

    /**
     * One migration of the plan.
     *
     * @param migration the registered migration
     * @param forward true to run {@link Migration#migrate()}, false for {@link Migration#revert()}
     */
    public record PlannedMigration(Migration migration, boolean forward) {
        public int fromVersion() {
            return forward ? migration.fromVersion() : migration.toVersion();
        }

        public int toVersion() {
            return forward ? migration.toVersion() : migration.fromVersion();
        }

        @Override
        public String toString() {
            return migration.format() + " v" + fromVersion() + "→v" + toVersion();
        }
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder("update ").append(running).append(" → ").append(candidate)
                .append(isCompatible() ? ": compatible" : ": REFUSED");
        if (!plan.isEmpty()) {
            text.append("; migrations ").append(plan);
        }
        for (String problem : problems) {
            text.append("\n  - ").append(problem);
        }
        return text.toString();
    }
}
