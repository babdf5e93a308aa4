package dev.scemu.nbd.internal;

import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_CAN_MULTI_CONN;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_HAS_FLAGS;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_READ_ONLY;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_SEND_FLUSH;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_SEND_FUA;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_SEND_TRIM;
import static dev.scemu.nbd.internal.NbdProtocol.NBD_FLAG_SEND_WRITE_ZEROES;

import dev.scemu.core.BlockDevice;
import dev.scemu.nbd.NbdExport;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An export as the server runs it: the configuration, its transmission flags, its block locks, and
 * its life cycle: which connections have it open and how many requests run on its device.
 *
 * <h2>Removal</h2>
 * <ol>
 *   <li>{@link #markRemoved()} sets {@code removed}; from then on {@link #enter()} fails, so no new
 *       request reaches the device (the connection answers it {@code ESHUTDOWN}).</li>
 *   <li>{@link #awaitIdle()} waits until every request that entered has {@link #exit() exited}.
 *       After it returns nothing of this server touches the device any more, so its owner may close
 *       or delete it.</li>
 * </ol>
 * {@code enter} increments {@code active} and then reads {@code removed}; {@code markRemoved}
 * writes {@code removed} and {@code awaitIdle} then reads {@code active}. Both are volatile
 * (sequentially consistent), so either the request sees {@code removed} and backs out, or the
 * remover sees the request counted and waits for it: no request slips past a removal.
 *
 * <p>{@link #attach}/{@link #detach} and {@link #markRemoved} hold the handle's monitor, so
 * {@link #markRemovedIfUnused()} is atomic against a connection entering transmission.
 */
public final class ExportHandle {

    /** A connection in transmission on an export; told when the export goes away. */
    public interface User {
        /** Called once, on the removing thread, right after the export was marked removed. */
        void exportRemoved(ExportHandle export);
    }

    private final NbdExport export;
    private final boolean readOnly;
    private final int transmissionFlags;
    private final BlockLocks locks = new BlockLocks();
    /** Requests executing on the device now. */
    private final AtomicInteger active = new AtomicInteger();
    private volatile boolean removed;
    /** Connections in transmission on this export; guarded by {@code this}. */
    private final Set<User> users = new LinkedHashSet<>();

    public ExportHandle(NbdExport export) {
        this.export = export;
        this.readOnly = export.isReadOnly();
        // CAN_MULTI_CONN: the server keeps no cache; every connection reaches the same device, whose
        // flush covers every completed write, whichever thread issued it.
        // SEND_CACHE: answered at once (nothing to prefetch into). SEND_FAST_ZERO: a fast-zero request
        // is refused with ENOTSUP at once (no layer promises zeroing faster than writing).
        int flags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA | NBD_FLAG_CAN_MULTI_CONN
                | NbdProtocol.NBD_FLAG_SEND_CACHE;
        flags |= readOnly ? NBD_FLAG_READ_ONLY : NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES
                | NbdProtocol.NBD_FLAG_SEND_FAST_ZERO;
        this.transmissionFlags = flags;
    }

    public NbdExport export() {
        return export;
    }

    public String name() {
        return export.name();
    }

    public BlockDevice device() {
        return export.device();
    }

    public boolean readOnly() {
        return readOnly;
    }

    public long sizeBytes() {
        return export.sizeBytes();
    }

    public int transmissionFlags() {
        return transmissionFlags;
    }

    BlockLocks locks() {
        return locks;
    }

    /** Whether the export has been removed from its server. */
    public boolean removed() {
        return removed;
    }

    /** Registers a connection entering transmission; false (not registered) if the export is removed. */
    synchronized boolean attach(User user) {
        if (removed) {
            return false;
        }
        users.add(user);
        return true;
    }

    synchronized void detach(User user) {
        users.remove(user);
    }

    /** Connections in transmission on this export now. */
    public synchronized int openConnections() {
        return users.size();
    }

    /**
     * Admits one request to the device; false if the export is removed (nothing may touch the device
     * then). Every {@code true} must be paired with one {@link #exit()}.
     */
    boolean enter() {
        active.incrementAndGet();
        if (removed) {
            exit();
            return false;
        }
        return true;
    }

    void exit() {
        if (active.decrementAndGet() == 0 && removed) {
            synchronized (this) {
                notifyAll();
            }
        }
    }

    /** Marks the export removed and tells every attached connection; idempotent. */
    public void markRemoved() {
        List<User> toTell;
        synchronized (this) {
            if (removed) {
                return;
            }
            removed = true;
            toTell = new ArrayList<>(users);
        }
        toTell.forEach(user -> user.exportRemoved(this));
    }

    /** Marks the export removed only if no connection has it open; true if it did. */
    public boolean markRemovedIfUnused() {
        synchronized (this) {
            if (!users.isEmpty()) {
                return false;
            }
            removed = true;
        }
        return true;
    }

    /**
     * Waits until no request runs on the device (after {@link #markRemoved()}). An interrupt does not
     * end the wait (returning early would let the caller close a device in use); it is restored.
     */
    public void awaitIdle() {
        boolean interrupted = false;
        synchronized (this) {
            while (active.get() > 0) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
