package dev.scemu.unit.internal;

import dev.scemu.unit.UnitError;
import dev.scemu.unit.UnitException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The exclusive ownership of a unit directory: an OS lock ({@link FileChannel#tryLock()}, fcntl on
 * Linux) on {@code DIR/unit.lock}, held from open/create until close. The file's content names
 * the owner for the error message of a second opener, one line:
 *
 * <pre>
 * "&lt;pid&gt; &lt;command&gt;\n"      e.g. "4711 scemu serve"   (UTF-8)
 * </pre>
 *
 * <p>The OS lock dies with its process, so a lock file left by a killed process never blocks (its
 * stale content is simply overwritten). OS locks are per process, not per {@code FileChannel}: a
 * second open in the same JVM would get {@link OverlappingFileLockException} at best, so the
 * directories this JVM holds are also kept in a set (the in-process guard, checked first).
 *
 * <p>The command comes from the system property {@value #OWNER_PROPERTY} (the CLI sets
 * {@code "scemu <subcommand>"}), else the process's command.
 */
public final class UnitLock implements AutoCloseable {

    /** File name of the lock in the unit directory. */
    public static final String FILE = "unit.lock";
    /** System property naming the owner's command in the lock file. */
    public static final String OWNER_PROPERTY = "scemu.owner";

    private static final Set<Path> HELD = ConcurrentHashMap.newKeySet();

    private final Path key;
    private final FileChannel channel;
    private final FileLock lock;
    private boolean closed;

    private UnitLock(Path key, FileChannel channel, FileLock lock) {
        this.key = key;
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Takes the lock of {@code directory} (which must exist).
     *
     * @throws UnitException {@link UnitError#UNIT_BUSY} naming the owner if another process or
     *         another open in this JVM holds it
     */
    public static UnitLock acquire(Path directory) {
        Path key;
        try {
            key = directory.toRealPath();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot resolve unit directory " + directory, e);
        }
        if (!HELD.add(key)) {
            throw busy(directory, owner(key.resolve(FILE)));
        }
        FileChannel channel = null;
        try {
            channel = FileChannel.open(key.resolve(FILE), StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                String owner = owner(key.resolve(FILE));
                throw busy(directory, owner);
            }
            byte[] text = (ProcessHandle.current().pid() + " " + command() + "\n").getBytes(StandardCharsets.UTF_8);
            channel.truncate(0);
            channel.write(ByteBuffer.wrap(text), 0);
            channel.force(false);
            return new UnitLock(key, channel, lock);
        } catch (IOException | RuntimeException e) {
            HELD.remove(key);
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            if (e instanceof IOException io) {
                throw new UncheckedIOException("cannot lock unit directory " + directory, io);
            }
            throw (RuntimeException) e;
        }
    }

    /** True if some process (this one included) holds the lock of {@code directory}. */
    public static boolean isHeld(Path directory) {
        Path file = directory.resolve(FILE);
        try {
            if (HELD.contains(directory.toRealPath())) {
                return true;
            }
        } catch (IOException e) {
            return false;
        }
        if (!java.nio.file.Files.exists(file)) {
            return false;
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            FileLock probe = channel.tryLock();
            if (probe == null) {
                return true;
            }
            probe.release();
            return false;
        } catch (OverlappingFileLockException e) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The owner recorded in the lock file ("pid 4711 (scemu serve)"), or a generic phrase. */
    static String owner(Path file) {
        try {
            String text = java.nio.file.Files.readString(file, StandardCharsets.UTF_8).strip();
            int space = text.indexOf(' ');
            if (space > 0 && text.substring(0, space).chars().allMatch(Character::isDigit)) {
                return "pid " + text.substring(0, space) + " (" + text.substring(space + 1) + ")";
            }
        } catch (IOException | RuntimeException e) {
            // fall through: the owner is still writing its line, or the file is unreadable
        }
        return "another process";
    }

    private static UnitException busy(Path directory, String owner) {
        return new UnitException(UnitError.UNIT_BUSY, directory.toAbsolutePath().normalize() + " is in use by " + owner);
    }

    private static String command() {
        String property = System.getProperty(OWNER_PROPERTY);
        if (property != null && !property.isBlank()) {
            return property.strip().replaceAll("\\s+", " ");
        }
        return ProcessHandle.current().info().command().map(c -> Path.of(c).getFileName().toString()).orElse("java");
    }

    /** Releases the lock (the file stays; its content is stale until the next owner). Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            lock.release();
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot release the lock of " + key, e);
        } finally {
            HELD.remove(key);
        }
    }
}
