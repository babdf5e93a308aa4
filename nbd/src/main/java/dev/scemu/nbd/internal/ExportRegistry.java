package dev.scemu.nbd.internal;

import dev.scemu.nbd.NbdExport;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Exports by name, in registration order. The empty name (the protocol's "default" export)
 * selects an export registered under the empty name, else the first export registered.
 */
public final class ExportRegistry {

    private final Map<String, ExportHandle> byName = new LinkedHashMap<>();

    public ExportRegistry(List<NbdExport> exports) {
        for (NbdExport export : exports) {
            byName.put(export.name(), new ExportHandle(export));
        }
    }

    /** The export a client asked for; null if there is none. */
    public ExportHandle find(String name) {
        ExportHandle handle = byName.get(name);
        if (handle == null && name.isEmpty() && !byName.isEmpty()) {
            handle = byName.values().iterator().next();
        }
        return handle;
    }

    public Collection<ExportHandle> all() {
        return Collections.unmodifiableCollection(byName.values());
    }
}
