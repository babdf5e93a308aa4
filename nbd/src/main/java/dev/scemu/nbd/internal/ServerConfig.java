package dev.scemu.nbd.internal;

import dev.scemu.nbd.NbdTlsMode;

/**
 * Limits of a server.
 *
 * @param maxRequestBytes largest READ/WRITE payload accepted (advertised as maximum block size)
 * @param maxInFlightPerConnection requests of one connection read and not yet answered, at most
 * @param threadsPerConnection request threads of one connection, at most (≤ {@code maxInFlightPerConnection})
 * @param maxConnections connections in transmission at once (see {@link ConnectionTable})
 * @param maxHandshakes connections in the handshake at once (see {@link ConnectionTable})
 * @param handshakeTimeoutMillis longest time from accept to entering transmission; the connection
 *                               is closed when it runs out
 * @param tlsMode whether TCP connections are offered or required to use TLS
 * @param maxBufferedBytesPerConnection READ/WRITE payload bytes of one connection's requests in
 *                                      flight (read and not yet answered), at most (≥ {@code maxRequestBytes})
 * @param replyStallTimeoutMillis longest time a reply write may make no progress (the client reads
 *                                nothing) before the connection is closed
 */
public record ServerConfig(int maxRequestBytes, int maxInFlightPerConnection, int threadsPerConnection,
                           int maxConnections, int maxHandshakes, long handshakeTimeoutMillis, NbdTlsMode tlsMode,
                           long maxBufferedBytesPerConnection, long replyStallTimeoutMillis) {
}
