package dev.scemu.nbd.internal;

import java.util.concurrent.ExecutorService;

/** What every connection of one server shares. */
public record ServerContext(ExportRegistry exports, ServerConfig config, ServerCounters counters,
                            ExecutorService workers) {
}
