package dev.scemu.nbd.internal;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;

/**
 * What every connection of one server shares.
 *
 * @param table the connections by phase and the admission policy
 * @param timer one daemon thread for deadlines (handshake timeouts, closing a connection whose
 *              export was removed); its tasks only flag state and close or shut down sockets, they
 *              never block
 */
public record ServerContext(ExportRegistry exports, ServerConfig config, ServerCounters counters,
                            ExecutorService workers, ScheduledExecutorService timer, ConnectionTable table) {
}
