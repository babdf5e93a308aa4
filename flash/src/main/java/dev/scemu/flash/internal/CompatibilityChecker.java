package dev.scemu.flash.internal;

import dev.scemu.flash.CompatibilityReport.PlannedMigration;
import dev.scemu.flash.CompatibilityReport;
import dev.scemu.flash.FirmwareImage;
import dev.scemu.flash.FlashError;
import dev.scemu.flash.FlashException;
import dev.scemu.flash.Migration;
import dev.scemu.flash.UpdateOptions;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Decides whether an image may replace the running one and plans the migrations: the shortest
 * chain of registered migrations per data format (reverse steps use {@link Migration#revert()}).
 */
final class CompatibilityChecker {

    private final List<Migration> migrations;

    CompatibilityChecker(List<Migration> migrations) {
        this.migrations = List.copyOf(migrations);
    }

    /** Compares {@code candidate} with {@code current}: version, capabilities, data formats. */
    CompatibilityReport check(FirmwareImage current, FirmwareImage candidate, UpdateOptions options) {
        List<String> problems = new ArrayList<>();
        boolean downgrade = candidate.version().isOlderThan(current.version());
        if (downgrade && !options.allowDowngrade()) {
            problems.add("downgrade from " + current.version() + " to " + candidate.version()
                    + " is refused (allowDowngrade to force)");
        }
        SortedSet<String> missing = new TreeSet<>(current.capabilities());
        missing.removeAll(candidate.capabilities());
        if (!missing.isEmpty() && !options.allowMissingCapabilities()) {
            problems.add("the new image lacks capabilities the running image has: " + missing);
        }
        List<PlannedMigration> plan = new ArrayList<>();
        TreeSet<String> formats = new TreeSet<>(current.dataFormats().keySet());
        formats.addAll(candidate.dataFormats().keySet());
        for (String format : formats) {
            Integer from = current.dataFormats().get(format);
            Integer to = candidate.dataFormats().get(format);
            if (from == null || from.equals(to)) {
                continue;
            }
            if (to == null) {
                problems.add("the new image does not declare data format " + format + " (running: v" + from + ")");
                continue;
            }
            if (to < from && !options.allowDowngrade()) {
                problems.add("data format " + format + " would go back from v" + from + " to v" + to
                        + " (allowDowngrade to force)");
                continue;
            }
            List<PlannedMigration> path = findPath(format, from, to);
            if (path == null) {
                problems.add("no migration path for data format " + format + " v" + from + " → v" + to
                        + " (registered: " + describeMigrations(format) + ")");
            } else {
                plan.addAll(path);
            }
        }
        return new CompatibilityReport(current.version(), candidate.version(), downgrade, missing, plan, problems);
    }

    private List<PlannedMigration> findPath(String format, int from, int to) {
        Map<Integer, PlannedMigration> via = new HashMap<>();
        ArrayDeque<Integer> queue = new ArrayDeque<>(List.of(from));
        via.put(from, null);
        while (!queue.isEmpty()) {
            int version = queue.poll();
            if (version == to) {
                List<PlannedMigration> path = new ArrayList<>();
                for (int v = to; v != from; v = via.get(v).fromVersion()) {
                    path.add(0, via.get(v));
                }
                return path;
            }
            for (Migration migration : migrations) {
                if (!migration.format().equals(format)) {
                    continue;
                }
                for (boolean forward : new boolean[] {true, false}) {
                    PlannedMigration step = new PlannedMigration(migration, forward);
                    if (step.fromVersion() == version && !via.containsKey(step.toVersion())) {
                        via.put(step.toVersion(), step);
                        queue.add(step.toVersion());
                    }
                }
            }
        }
        return null;
    }

    private String describeMigrations(String format) {
        List<String> names = new ArrayList<>();
        for (Migration migration : migrations) {
            if (migration.format().equals(format)) {
                names.add(migration.describe());
            }
        }
        return names.isEmpty() ? "none" : String.join(", ", names);
    }

    /** The registered migration a journaled plan step names. */
    PlannedMigration resolve(UpdateRecord.PlannedStep planned) {
        for (Migration migration : migrations) {
            PlannedMigration candidate = new PlannedMigration(migration, planned.forward());
            if (migration.format().equals(planned.format()) && candidate.fromVersion() == planned.fromVersion()
                    && candidate.toVersion() == planned.toVersion()) {
                return candidate;
            }
        }
        throw new FlashException(FlashError.MIGRATION_FAILED, "cannot roll back an interrupted update: migration "
                + planned.format() + " v" + planned.fromVersion() + "→v" + planned.toVersion() + " is not registered");
    }

}
