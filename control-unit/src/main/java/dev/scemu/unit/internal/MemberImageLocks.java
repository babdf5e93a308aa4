package dev.scemu.unit.internal;

import dev.scemu.core.CoreError;
import dev.scemu.core.CoreException;
import dev.scemu.core.ImageLock;
import dev.scemu.unit.UnitError;
import dev.scemu.unit.UnitException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link ImageLock}s on a unit's member image files, held while the unit is open: exclusive for
 * a read-write open, shared for a read-only one. The unit's own lock ({@link UnitLock}) keeps other
 * scemu commands out; these keep QEMU's tools ({@code qemu-img}, {@code qemu-io}, {@code qemu-nbd},
 * which lock the images they open the same way) off the members of a running unit, and the unit off
 * a member such a tool has open.
 *
 * <p>One lock per file, keyed by the file's identity (device and inode), not its name: the unit
 * opens an image again under the same or another name (a replacement renamed over its disk, a
 * created unit moved out of its staging directory), and a second OFD lock of the same file by this
 * process would conflict with its first. All are released at {@link #close}.
 */
public final class MemberImageLocks implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(MemberImageLocks.class);

    private final boolean exclusive;
    private final Map<Object, ImageLock> held = new HashMap<>();

    public MemberImageLocks(boolean exclusive) {
        this.exclusive = exclusive;
    }

    /**
     * Locks {@code image} (an existing file) unless this unit holds its lock already.
     *
     * @throws UnitException {@link UnitError#UNIT_BUSY} if another process holds a conflicting lock
     */
    public synchronized void lock(Path image) {
        Object key = key(image);
        if (held.containsKey(key)) {
            return;
        }
        ImageLock lock;
        try {
            lock = ImageLock.acquire(image, exclusive);
        } catch (CoreException e) {
            if (e.code() == CoreError.IN_USE) {
                throw new UnitException(UnitError.UNIT_BUSY, "member image " + image + " is in use: another process"
                        + " holds a lock on it (qemu-img, qemu-io or qemu-nbd, or a scemu md serve of the image files);"
                        + " stop it first", e);
            }
            throw e;
        }
        if (!lock.held()) {
            LOG.warn("member image {} is not locked ({}): nothing keeps a QEMU tool off it", image, lock.unheldReason());
        }
        held.put(key, lock);
    }

    /** Releases the lock of {@code image} (before it is deleted), if this unit holds it. */
    public synchronized void unlock(Path image) {
        if (Files.exists(image)) {
            ImageLock lock = held.remove(key(image));
            if (lock != null) {
                lock.close();
            }
        }
    }

    /** Releases every lock; idempotent. */
    @Override
    public synchronized void close() {
        held.values().forEach(ImageLock::close);
        held.clear();
    }

    /** The file's identity ({@code (dev=..,ino=..)} on Linux), or its real path where the file system has none. */
    private static Object key(Path image) {
        try {
            Object key = Files.readAttributes(image, BasicFileAttributes.class).fileKey();
            return key != null ? key : image.toRealPath();
        } catch (IOException e) {
            return image.toAbsolutePath().normalize();
        }
    }
}
