package dev.scemu.nbd.internal;

import dev.scemu.nbd.NbdExport;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Exports by name, in registration order. The empty name (the protocol's "default" export)
 * selects an export registered under the empty name, else the first export registered (still
 * registered).
 *
 * <p>Thread safe: lookups read an immutable map through a volatile field (no lock on the
 * handshake path); {@link #add} and {@link #remove} replace the map under the registry's monitor
 * (copy on write: exports change rarely).
 */
public final class ExportRegistry {

    private volatile Map<String, ExportHandle> byName;

    public ExportRegistry(List<NbdExport> exports) {
        Map<String, ExportHandle> map = new LinkedHashMap<>();
        for (NbdExport export : exports) {
            map.put(export.name(), new ExportHandle(export));
        }
        this.byName = map;
    }

    /** The export a client asked for; null if there is none. */
    public ExportHandle find(String name) {
        Map<String, ExportHandle> map = byName;
        ExportHandle handle = map.get(name);
        if (handle == null && name.isEmpty() && !map.isEmpty()) {
            handle = map.values().iterator().next();
        }
        return handle;
    }

    /** The export registered under exactly {@code name}; null if there is none. */
    public ExportHandle get(String name) {
        return byName.get(name);
    }

    /** The exports registered now, in registration order (a snapshot). */
    public Collection<ExportHandle> all() {
        return byName.values();
    }

    /** Registers an export; null if the name is taken (nothing changes then). */
    public synchronized ExportHandle add(NbdExport export) {
        if (byName.containsKey(export.name())) {
            return null;
        }
        Map<String, ExportHandle> map = new LinkedHashMap<>(byName);
        ExportHandle handle = new ExportHandle(export);
        map.put(export.name(), handle);
        byName = map;
        return handle;
    }

    /**
     * Unregisters an export and marks it removed (see {@link ExportHandle#markRemoved()}), in one
     * step under the registry's monitor: once an export is no longer listed, no new request reaches
     * its device. With {@code onlyIfUnused} this happens only if no connection has it open (atomic
     * against a connection entering transmission). Returns the removed handle, or null if there was
     * no such export or it is in use.
     */
    public synchronized ExportHandle remove(String name, boolean onlyIfUnused) {
        ExportHandle handle = byName.get(name);
        if (handle == null) {
            return null;
        }
        if (onlyIfUnused) {
            if (!handle.markRemovedIfUnused()) {
                return null;
            }
        } else {
            handle.markRemoved();
        }
        Map<String, ExportHandle> map = new LinkedHashMap<>(byName);
        map.remove(name);
        byName = map;
        return handle;
    }
}
