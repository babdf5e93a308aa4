package dev.scemu.unit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * How {@code create} makes a unit directory all or nothing: the unit is built in a staging
 * directory and moved into place by {@link #commit()}; {@link #close()} without a commit removes
 * the staging directory, so a create that fails (a bad size, a full disk, an image that does not
 * verify) leaves no file behind and a retry starts clean.
 *
 * <table>
 *   <caption>Where the unit is staged</caption>
 *   <tr><th>DIR</th><th>staging directory</th><th>commit</th></tr>
 *   <tr><td>does not exist</td><td>{@code .NAME.scemu-create-RANDOM} beside it (same parent, so same file system)</td>
 *       <td>one atomic rename onto DIR</td></tr>
 *   <tr><td>exists, empty</td><td>{@code DIR/.scemu-create-RANDOM} (works for a mount point too)</td>
 *       <td>each file renamed into DIR, {@code unit.properties} last (DIR holds a unit only once
 *       everything is in), then the staging directory removed</td></tr>
 *   <tr><td>exists, not empty</td><td colspan="2">refused: {@link UnitError#NOT_EMPTY} (nothing is touched)</td></tr>
 * </table>
 *
 * <p>A create whose process is killed leaves only its hidden staging directory; the next create of
 * the same DIR removes it (and does not count it as content of DIR). Two creates of one DIR at the
 * same time are not supported.
 *
 * <p>Ordering of {@link #commit()}: every file of the unit is already synced (the unit was closed
 * cleanly, the small files are written atomically); rename; {@code fsync} of the directory that
 * received the entries.
 */
final class StagingDirectory implements AutoCloseable {

    private static final String MARK = ".scemu-create-";
    private static final String PROPERTIES = "unit.properties";

    private final Path target;
    private final Path staging;
    private final boolean inside;
    private boolean committed;

    private StagingDirectory(Path target, Path staging, boolean inside) {
        this.target = target;
        this.staging = staging;
        this.inside = inside;
    }

    /** Checks {@code target} (see the class description) and creates the staging directory. */
    static StagingDirectory prepare(Path target) {
        Path absolute = target.toAbsolutePath().normalize();
        Path parent = absolute.getParent();
        if (parent == null) {
            throw new UnitException(UnitError.INVALID_LAYOUT, "cannot create a unit in the root directory " + target);
        }
        String suffix = HexFormat.of().formatHex(new SecureRandom().generateSeed(6));
        try {
            if (Files.exists(absolute) && !Files.isDirectory(absolute)) {
                throw new UnitException(UnitError.NOT_EMPTY, target + " exists and is not a directory");
            }
            if (Files.isDirectory(absolute)) {
                List<Path> content = new ArrayList<>();
                try (DirectoryStream<Path> entries = Files.newDirectoryStream(absolute)) {
                    for (Path entry : entries) {
                        if (entry.getFileName().toString().startsWith(MARK)) {
                            UnitFiles.deleteTree(entry); // left by a create that was killed
                        } else {
                            content.add(entry.getFileName());
                        }
                    }
                }
                if (content.contains(Path.of(PROPERTIES))) {
                    throw new UnitException(UnitError.NOT_EMPTY, "a unit already exists in " + target);
                }
                if (!content.isEmpty()) {
                    throw new UnitException(UnitError.NOT_EMPTY, target + " is not empty (" + content.size()
                            + " entries, e.g. " + content.get(0) + "); create needs a new or empty directory");
                }
                return new StagingDirectory(absolute, Files.createDirectory(absolute.resolve(MARK + suffix)), true);
            }
            Files.createDirectories(parent);
            String prefix = "." + absolute.getFileName() + MARK;
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(parent,
                    entry -> entry.getFileName().toString().startsWith(prefix))) {
                for (Path entry : entries) {
                    UnitFiles.deleteTree(entry); // left by a create of the same directory that was killed
                }
            }
            return new StagingDirectory(absolute, Files.createDirectory(parent.resolve(prefix + suffix)), false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare " + target + " for a new unit: " + e.getMessage(), e);
        }
    }

    /** Where the unit is built. */
    Path path() {
        return staging;
    }

    /** Moves the built unit into place (see the class description). */
    void commit() {
        try {
            if (!inside) {
                Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
                UnitFiles.syncDirectory(target.getParent());
            } else {
                moveContentsIn();
                Files.delete(staging);
                UnitFiles.syncDirectory(target);
            }
            committed = true;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot move the new unit from " + staging + " to " + target + ": "
                    + e.getMessage(), e);
        }
    }

    private void moveContentsIn() throws IOException {
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(staging)) {
            entries.forEach(files::add);
        }
        files.sort((a, b) -> Boolean.compare(a.getFileName().toString().equals(PROPERTIES),
                b.getFileName().toString().equals(PROPERTIES))); // unit.properties last
        List<Path> moved = new ArrayList<>();
        try {
            for (Path file : files) {
                Path destination = target.resolve(file.getFileName());
                Files.move(file, destination, StandardCopyOption.ATOMIC_MOVE);
                moved.add(destination);
            }
        } catch (IOException | RuntimeException e) {
            for (Path destination : moved) {
                Files.deleteIfExists(destination);
            }
            throw e;
        }
    }

    /** Removes the staging directory unless committed. */
    @Override
    public void close() {
        if (!committed) {
            UnitFiles.deleteTree(staging);
        }
    }
}
