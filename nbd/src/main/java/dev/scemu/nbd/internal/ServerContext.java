package dev.scemu.nbd.internal;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;

/**
 * What every connection of one server shares.
 *
 * @param timer one daemon thread for deadlines (closing a connection whose export was removed);
 *              its tasks only flag state and shut sockets down, they never block
 */
public record ServerContext(ExportRegistry exports, ServerConfig config, ServerCounters counters,
                            ExecutorService workers, ScheduledExecutorService timer) {
}
