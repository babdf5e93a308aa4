package dev.scemu.nbd.internal;

/**
 * Limits of a server.
 *
 * @param maxRequestBytes largest READ/WRITE payload accepted (advertised as maximum block size)
 * @param maxInFlightPerConnection requests of one connection executing or queued at once
 * @param maxConnections connections in transmission at once (see {@link ConnectionTable})
 * @param maxHandshakes connections in the handshake at once (see {@link ConnectionTable})
 * @param handshakeTimeoutMillis longest time from accept to entering transmission; the connection
 *                               is closed when it runs out
 */
public record ServerConfig(int maxRequestBytes, int maxInFlightPerConnection, int maxConnections,
                           int maxHandshakes, long handshakeTimeoutMillis) {
}
