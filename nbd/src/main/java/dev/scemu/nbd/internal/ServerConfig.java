package dev.scemu.nbd.internal;

/**
 * Limits of a server.
 *
 * @param maxRequestBytes largest READ/WRITE payload accepted (advertised as maximum block size)
 * @param maxInFlightPerConnection requests of one connection executing or queued at once
 * @param maxConnections open connections; further ones are closed on accept
 */
public record ServerConfig(int maxRequestBytes, int maxInFlightPerConnection, int maxConnections) {
}
