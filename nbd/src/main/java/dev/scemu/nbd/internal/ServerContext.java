package dev.scemu.nbd.internal;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;

/**
 * What every connection of one server shares.
 *
 * @param requestThreads permits for the request threads connections add to their first one (the
 *                       server-wide cap, {@code NbdServer.Builder.maxRequestThreads}); a thread
 *                       holds its permit until it ends
 * @param table the connections by phase and the admission policy
 * @param timer one daemon thread for deadlines (handshake timeouts, closing a connection whose
 *              export was removed); its tasks only flag state and close or shut down sockets, they
 *              never block
 * @param tls X.509 credentials; null when TLS is off
 * @param bufferedKib the server-wide budget of READ/WRITE payload in flight, in KiB permits
 *                    ({@code NbdServer.Builder.maxBufferedBytes}; fair, so a large request is not starved)
 */
public record ServerContext(ExportRegistry exports, ServerConfig config, ServerCounters counters,
                            Semaphore requestThreads, ScheduledExecutorService timer, ConnectionTable table,
                            TlsCredentials tls, Semaphore bufferedKib) {
}
